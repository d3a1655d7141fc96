"""Builders for small, hand-checkable worlds shared by the tests."""

from __future__ import annotations

from typing import Any

from sim import load_scenario
from sim.scenario import Scenario
from sim.vocabulary import DOMAINS


def firm(name: str, **kw: Any) -> dict[str, Any]:
    """A named firm with plain defaults: everything 0.5 or off unless given."""
    caps = {d: 0.5 for d in DOMAINS}
    caps.update(kw.pop("capabilities", {}))
    spec: dict[str, Any] = {
        "name": name,
        "role": "producer",
        "niche": f"{name} niche",
        "size": 10.0,
        "competence": 1.0,
        "integrity": 1.0,
        "benevolence": 1.0,
        "propensity": 0.5,
        "capabilities": caps,
        "needs": {d: 0.0 for d in DOMAINS},
        "location": [0.0, 0.0],
        "culture": [0.5, 0.5, 0.5],
    }
    spec.update(kw)
    return spec


#: Mechanism settings that make a small world deterministic and easy to follow:
#: no temptation, no noise, no learning, no forgetting, nothing bought or paid
#: beyond what a test sets.
QUIET: dict[str, Any] = {
    "market": {"insolvency_patience": 1200},
    "trust": {"forgetting": 1.0, "observation_noise": 0.0, "acquaintances": 0, "gossip_weight": 0.0},
    "kreislauf": {
        "digital_need_growth": 0.0,
        "familiarity_bias": 0.0,
        "search_steps": 1,
        "setup_steps": 1,
        "setup_cost": 0.0,
        "search_cost_per_candidate": 0.0,
        "contract_cost": 0.0,
        "temptation": 0.0,
        "competitor_temptation": 0.0,
        "grab_temptation": 0.0,
        "learning_rate": 0.0,
        "own_learning_rate": 0.0,
        "culture_convergence": 0.0,
        "partner_access": 1.0,
        "baseline_synergy": 0.0,
        "transparency_base": 1.0,
        "evaluation_period": 3,
    },
}


def world(firms: list[dict[str, Any]], **sections: Any) -> Scenario:
    """A scenario of the given firms, with :data:`QUIET` settings under any given sections."""
    data: dict[str, Any] = {"name": "test", "steps": 60, "firms": firms}
    for key, value in QUIET.items():
        data[key] = dict(value)
    for key, value in sections.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return load_scenario(data)


def needing(domain: str, level: float) -> dict[str, float]:
    """Needs of a firm that wants only ``level`` in ``domain``."""
    return {d: (level if d == domain else 0.0) for d in DOMAINS}
