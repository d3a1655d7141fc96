"""What every section of the schema shares: strict, frozen, no unknown keys, no NaN; common bounds and names."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = [
    "MAX_FIRMS",
    "MAX_FIRM_MONTHS",
    "MAX_NAME_LENGTH",
    "MAX_STEPS",
    "MAX_TEXT_LENGTH",
    "FileName",
    "Label",
    "Money",
    "Section",
    "Unit",
    "check_file_name",
    "check_label",
]

#: Most firms a scenario may bring into being over its horizon: those at the start, those that join, and the
#: entrants it expects (``market.entry_rate`` per month). About 2 KB of memory each in the model, plus what its
#: trust evidence and cooperations take; 500,000 leaves room for the calibrated open market scaled to 100,000 firms
#: at the start, whose entrants bring about 230,000 over ten years.
MAX_FIRMS = 500_000
#: Most firm-months a scenario may imply (firms present, entrants included, times months): the work of one run.
#: 50 million is 200,000 firms for 250 months, or 10,000 firms for 5,000 months; about an hour for one run.
MAX_FIRM_MONTHS = 50_000_000
#: Upper bound on the horizon, in months.
MAX_STEPS = 100_000
#: Longest name of a scenario, sweep, firm, population, niche or group.
MAX_NAME_LENGTH = 80
#: Longest text anywhere in a scenario file (its description included).
MAX_TEXT_LENGTH = 2000

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
Money = Annotated[float, Field(ge=0.0, le=1e6)]


def check_label(value: str) -> str:
    """A name shown in tables, reports and network files: printable text, no control characters.

    Raises
    ------
    ValueError
        For a name with a control character (NUL, tab, newline...) or another unprintable character.
    """
    if not value.isprintable():
        raise ValueError("must be printable text on one line (no control characters such as NUL, tab or newline)")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def check_file_name(value: str) -> str:
    """A name that also becomes part of a file or folder name: a label without path separators.

    Raises
    ------
    ValueError
        For an unprintable name, one with a slash or a backslash, or one of only dots.
    """
    check_label(value)
    if "/" in value or "\\" in value or value.strip(".") == "":
        raise ValueError("names a file or folder, so it must not contain '/' or '\\' nor be '.' or '..'")
    return value


#: A name shown to people: printable, one line, at most :data:`MAX_NAME_LENGTH` characters.
Label = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(check_label)]
#: A name that is also used in file and folder names: a :data:`Label` without path separators.
FileName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH), AfterValidator(check_file_name)]


class Section(BaseModel):
    """Base of every schema section: strict types, unknown keys rejected, frozen, no NaN."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
