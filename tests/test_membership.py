"""A group that members leave: the group reviews its members and lets go those that no longer fit."""

from __future__ import annotations

import numpy as np
import pytest

from sim import CooperationModel, Reason
from sim.vocabulary import SERVICE


@pytest.mark.parametrize("seed", [1, 2])
def test_a_member_whose_culture_misfits_leaves_the_group_at_the_first_review(seed: int) -> None:
    # Scansonic MI's culture (0, 1, 0) against the group's (0.7, 0.4, 0.8): a
    # mean distance of 0.7, fit 0.3; a year of convergence toward its partners
    # leaves it below the exit threshold 0.5 at the review in month 12.
    model = CooperationModel("big", seed=seed, steps=13, firms__2__culture=[0.0, 1.0, 0.0])
    i = model.firms.index_of("Scansonic MI")
    while model.running:
        model.step()
        if model.steps < 12:
            assert model.firms.member[i]
    assert not model.firms.member[i] and not model.firms.on_campus[i] and model.firms.alive[i]
    t = model.kreislauf.table
    mine = np.flatnonzero(((t.a[: t.n] == i) | (t.b[: t.n] == i)) & t.service[: t.n])
    assert len(mine) and np.all(t.reason[mine] == int(Reason.LEFT_GROUP))  # its service contracts ended
    assert model.measures_frame()["members_left"].tolist()[12] == 1
    assert (12, "event", "Scansonic MI leaves the group: its culture no longer fits") in model.journal
    # Once out, it is no longer served: no service firm may cooperate with it as a member.
    services = np.flatnonzero(model.firms.role[: model.firms.n] == SERVICE)
    assert not model.firms.member[i] and model.firms.member[services].all()


def test_the_group_lets_go_a_member_that_keeps_breaking_its_agreements() -> None:
    # At the threshold in integrity 0.6. At the calibrated 0.37 the members keep
    # Metrolux beyond month 72: little tempts a member to break an agreement, so
    # their trust in it falls slowly (docs/calibration.md, "What the calibration changed").
    for seed in (1, 2, 3):
        model = CooperationModel(  # Metrolux's integrity falls in month 36
            "fragility", seed=seed, steps=72, kreislauf__exit_reliability=0.6
        )
        while model.running:
            model.step()
        assert not model.firms.member[model.firms.index_of("Metrolux")], seed
        assert any("Metrolux leaves the group: the others no longer trust it" in text for _, _, text in model.journal)


def test_without_reviews_nobody_is_let_go() -> None:
    model = CooperationModel("fragility", seed=1, steps=72, group__review_period=0)
    while model.running:
        model.step()
    assert model.firms.member[model.firms.index_of("Metrolux")]
    assert model.measures_frame()["members_left"].sum() == 0
