"""Shared fixtures."""

from __future__ import annotations

import pytest
from worlds import firm, needing, world

from sim import CooperationModel


@pytest.fixture
def pair() -> CooperationModel:
    """A needs engineering; B has it. Both honest, fair and fully competent, on one spot."""
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs=needing("engineering", 0.5)),
            firm("B", capabilities={"engineering": 1.0}),
        ]
    )
    return CooperationModel(scenario, seed=1)
