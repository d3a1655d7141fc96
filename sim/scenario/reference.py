"""The scenario reference (``docs/scenarios.md``), generated from the schema."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from sim.scenario.firms import NamedFirm, Population, SizeDistribution, UnitDistribution
from sim.scenario.ingredients import Ingredient
from sim.scenario.parameters import Group, Kreislauf, Market, Measures, ScoreWeights, Trust
from sim.scenario.schema import (
    JoinEvent,
    LeaveEvent,
    OpenCompetitionEvent,
    RemoveSharedServicesEvent,
    Scenario,
    TraitChangeEvent,
)
from sim.scenario.toml_writer import toml_value

__all__ = ["reference_markdown"]


def reference_markdown() -> str:
    """The scenario reference (``docs/scenarios.md``), generated from the schema."""
    sections: list[tuple[str, type[BaseModel]]] = [
        ("Top level", Scenario),
        ("[market]", Market),
        ("[trust]", Trust),
        ("[kreislauf]", Kreislauf),
        ("[kreislauf.score_weights]", ScoreWeights),
        ("[group]", Group),
        ("[measures]", Measures),
        ("[[firms]]", NamedFirm),
        ("[[populations]]", Population),
        ("Distributions `{ mean, sd }`", UnitDistribution),
        ("[populations.size]", SizeDistribution),
        ('[[events]] kind = "join"', JoinEvent),
        ('[[events]] kind = "leave"', LeaveEvent),
        ('[[events]] kind = "trait_change"', TraitChangeEvent),
        ('[[events]] kind = "open_competition"', OpenCompetitionEvent),
        ('[[events]] kind = "remove_shared_services"', RemoveSharedServicesEvent),
        ("[[ingredients]]", Ingredient),
    ]
    out = [
        "# Scenario reference",
        "",
        "Generated from the schema in `sim/scenario/` by `kreislauf scenarios --reference > docs/scenarios.md`; a test keeps it in step.",
        "Units: months, employees, k EUR, km. Every key is optional unless its default says *required*.",
        "Unknown keys, wrong types, NaN and values out of range are errors (exit code 2).",
        "",
    ]
    for title, model in sections:
        out += [
            f"## {title}",
            "",
            (model.__doc__ or "").strip().splitlines()[0],
            "",
            "| key | default | meaning and reason |",
            "| --- | --- | --- |",
        ]
        for name, field in model.model_fields.items():
            if name in {"kind"}:
                continue
            default = (
                "*required*" if field.is_required() else _doc_default(field.get_default(call_default_factory=True))
            )
            desc = (field.description or "").replace("|", "\\|")
            bounds = _bounds(field)
            out.append(f"| `{name}` | {default} | {desc}{bounds} |")
        out.append("")
    return "\n".join(out)


def _doc_default(value: Any) -> str:
    if isinstance(value, BaseModel):
        return "(section)"
    if isinstance(value, dict) and value and all(isinstance(v, BaseModel) for v in value.values()):
        return "(see text)"
    if isinstance(value, float):
        value = round(value, 4)
    if isinstance(value, dict):
        value = {k: round(v, 4) if isinstance(v, float) else v for k, v in value.items()}
    return f"`{toml_value(value) if value is not None else 'none'}`"


def _bounds(field: Any) -> str:
    lo = hi = None
    for m in field.metadata:
        lo = getattr(m, "ge", None) if getattr(m, "ge", None) is not None else lo
        lo = getattr(m, "gt", None) if getattr(m, "gt", None) is not None else lo
        hi = getattr(m, "le", None) if getattr(m, "le", None) is not None else hi
    if lo is None and hi is None:
        return ""
    return f" Allowed: {lo if lo is not None else '-inf'} to {hi if hi is not None else 'inf'}."
