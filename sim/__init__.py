"""kreislauf's model: firms that build trust and cooperate through the cycle of trust.

The package is organised by the model's concepts:

- :mod:`sim.scenario`: scenario files, the strict schema of every parameter.
- :mod:`sim.firms`: firms (Mesa agents) and the arrays holding their state.
- :mod:`sim.traits`: drawing traits, capabilities, sizes and cultures.
- :mod:`sim.trust`: beta-reputation trust per pillar (competence, integrity, benevolence).
- :mod:`sim.cooperation`: the phases, their legal transitions, the cooperation table.
- :mod:`sim.kreislauf`: what each of the five phases does.
- :mod:`sim.market`: niches, demand, overheads and shared services' accounts, exit and entry.
- :mod:`sim.group`: the group structure: campus, shared history, service contracts.
- :mod:`sim.events`: scheduled events (joins, leaves, breaches, competition, services removed).
- :mod:`sim.measures` and :mod:`sim.network`: what is measured, network export.
- :mod:`sim.model`: :class:`CooperationModel`, whose ``step()`` reads like the cycle.
"""

from importlib.metadata import PackageNotFoundError, version

from sim.cooperation import Cooperation
from sim.model import CooperationModel
from sim.scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario
from sim.vocabulary import TRANSITIONS, Outcome, Phase, Reason

__all__ = [
    "TRANSITIONS",
    "Cooperation",
    "CooperationModel",
    "Outcome",
    "Phase",
    "Reason",
    "Scenario",
    "ScenarioError",
    "builtin_scenarios",
    "load_scenario",
]

try:
    __version__ = version("kreislauf")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
