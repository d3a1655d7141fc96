"""Scenario files: the strict, validated description of one model world.

A scenario is a TOML file (see ``scenarios/``) loaded into the frozen
:class:`Scenario` object. Every parameter of the model lives in this schema,
with its default and the reason for that default in the field's
description; ``docs/scenarios.md`` is generated from it
(``kreislauf scenarios --reference > docs/scenarios.md``).

- :mod:`sim.scenario.base`: what every section shares (strict, frozen, no unknown keys, no NaN).
- :mod:`sim.scenario.firms`: distributions, generated populations, named firms.
- :mod:`sim.scenario.parameters`: the mechanisms' parameters (market, trust, Kreislauf, group, measures).
- :mod:`sim.scenario.schema`: events and the :class:`Scenario` that ties the sections together.
- :mod:`sim.scenario.load`: loading by name, path or mapping; :mod:`sim.scenario.errors`: the one-line errors.
- :mod:`sim.scenario.toml_writer` and :mod:`sim.scenario.reference`: the resolved TOML and the reference docs.

Loading never lets a mistake pass silently: unknown keys, wrong types, NaN,
values out of range and absurd sizes all raise :class:`ScenarioError`, which
names the file, the key path, the value and what is allowed. The command line
turns it into exit code 2 and one line of text.

Examples
--------
>>> from sim.scenario import load_scenario
>>> big = load_scenario("big")
>>> big.name, len(big.firms)
('big', 10)
>>> big.with_overrides({"kreislauf.familiarity_bias": 0.9}).kreislauf.familiarity_bias
0.9
"""

from sim.scenario.base import MAX_FIRMS, MAX_STEPS, Section
from sim.scenario.errors import ScenarioError, pydantic_error
from sim.scenario.firms import (
    DEFAULT_NEEDS,
    NamedFirm,
    Population,
    SizeDistribution,
    UnitDistribution,
    default_capabilities,
)
from sim.scenario.load import builtin_scenarios, load_for_run, load_scenario, read_toml
from sim.scenario.parameters import Group, Kreislauf, Market, Measures, ScoreWeights, Trust
from sim.scenario.reference import reference_markdown
from sim.scenario.schema import (
    Event,
    JoinEvent,
    LeaveEvent,
    OpenCompetitionEvent,
    RemoveSharedServicesEvent,
    Scenario,
    TraitChangeEvent,
)
from sim.vocabulary import DOMAINS, TRAITS

__all__ = [
    "DEFAULT_NEEDS",
    "DOMAINS",
    "MAX_FIRMS",
    "MAX_STEPS",
    "TRAITS",
    "Event",
    "Group",
    "JoinEvent",
    "Kreislauf",
    "LeaveEvent",
    "Market",
    "Measures",
    "NamedFirm",
    "OpenCompetitionEvent",
    "Population",
    "RemoveSharedServicesEvent",
    "Scenario",
    "ScenarioError",
    "ScoreWeights",
    "Section",
    "SizeDistribution",
    "TraitChangeEvent",
    "Trust",
    "UnitDistribution",
    "builtin_scenarios",
    "default_capabilities",
    "load_for_run",
    "load_scenario",
    "pydantic_error",
    "read_toml",
    "reference_markdown",
]
