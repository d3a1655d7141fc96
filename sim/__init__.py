"""kreislauf's model: firms that build trust and cooperate through the cycle of trust.

The package is organised by the model's concepts:

- :mod:`sim.vocabulary`: traits, domains, pillars, roles, the phases and their legal transitions, reasons, outcomes.
- :mod:`sim.scenario`: scenario files, the strict schema of every parameter.
- :mod:`sim.state`: the state of a run: firms, cooperations, trust evidence, pairs, the world that holds them.
- :mod:`sim.rules`: every formula of the model as a pure function with a hand-worked example.
- :mod:`sim.kreislauf`: what each of the five phases does; :mod:`sim.search`: the mechanics of partner search.
- :mod:`sim.market`: niches, demand, overheads and shared services' accounts.
- :mod:`sim.group`: the group structure: campus, shared history, service contracts.
- :mod:`sim.population`: firms made (named, drawn, entering) and leaving; :mod:`sim.traits`: drawing their traits.
- :mod:`sim.events`: scheduled events (joins, leaves, breaches, competition, services removed).
- :mod:`sim.observe`: measures, the cooperation log, the network, the chronicle.
- :mod:`sim.kernels`: speed tricks, each beside the plain NumPy it equals; :mod:`sim.streams`: named random streams.
- :mod:`sim.model`: :class:`CooperationModel`, whose ``step()`` reads like the cycle.
"""

from importlib.metadata import PackageNotFoundError, version

from sim.model import CooperationModel
from sim.scenario import Scenario, ScenarioError, builtin_scenarios, load_scenario
from sim.state.cooperations import Cooperation
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
