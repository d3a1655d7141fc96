"""What every section of the schema shares: strict, frozen, no unknown keys, no NaN; common bounds."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["MAX_FIRMS", "MAX_STEPS", "Money", "Section", "Unit"]

MAX_FIRMS = 200_000
#: Upper bound on the horizon, in months.
MAX_STEPS = 100_000

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Money = Annotated[float, Field(ge=0.0, le=1e6)]


class Section(BaseModel):
    """Base of every schema section: strict types, unknown keys rejected, frozen, no NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
