"""Competition with bite: rivals in one niche press its price, so opening competition between members costs them."""

from __future__ import annotations

import numpy as np
import pytest
from worlds import firm, world

from sim import CooperationModel
from sim.scenario import OpenCompetitionEvent

PAIR = ["Scansonic MI", "Metrolux"]


def members_profit(seed: int, compete: bool, **overrides: float) -> float:
    model = CooperationModel("big", seed=seed, steps=36, **overrides)
    if compete:
        model.schedule.add(OpenCompetitionEvent(kind="open_competition", step=12, firms=PAIR))
    while model.running:
        model.step()
    focal = model.datacollector.get_table_dataframe("focal_firms")
    return float(focal.loc[focal["firm"].isin(PAIR) & (focal["step"] > 12), "profit"].mean())


@pytest.mark.slow
def test_opening_competition_between_two_members_lowers_their_profit() -> None:
    """Paired seeds; prints the effect with price pressure and without it."""
    with_pressure = np.array([members_profit(s, True) - members_profit(s, False) for s in range(1, 5)])
    without = np.array(
        [
            members_profit(s, True, market__price_pressure=0.0) - members_profit(s, False, market__price_pressure=0.0)
            for s in range(1, 5)
        ]
    )
    print(
        f"members' profit after competition opens, k EUR/month: {with_pressure.mean():.1f} "
        f"(sd {with_pressure.std(ddof=1):.1f}) with price pressure, {without.mean():.1f} without"
    )
    assert np.all(with_pressure < -5.0), with_pressure
    assert with_pressure.mean() < without.mean() - 5.0


def test_a_rival_entering_a_niche_lowers_its_price_and_a_monopoly_keeps_it() -> None:
    # Two producers of equal size and product level sell in niche "x" from the
    # start (HHI 1/2); a third in "y" alone (HHI 1). With Cournot pressure and a
    # 14% margin, nothing moves while the niches stay as they began.
    firms = [firm("A", niche="x"), firm("B", niche="x"), firm("C", niche="y")]
    model = CooperationModel(world(firms, market={"price_pressure": 1.0}), seed=1)
    model.step()
    first = model.firms.revenue[:3].copy()
    model.step()
    assert model.firms.revenue[:3].tolist() == pytest.approx(first.tolist())
    # C joins niche "x" (competition opens): x now has three equal sellers,
    # HHI 1/3 against 1/2 at the start, so x's price falls by
    # 0.14 * (1 - (1/3) / (1/2)) = 4.67%; all three now share x's demand.
    model.schedule.add(OpenCompetitionEvent(kind="open_competition", step=3, firms=["A", "C"]))
    model.step()
    niches = model.world.niches
    assert niches.concentration_at_start[model.firms.niche[0]] == pytest.approx(0.5)
    volume_share = (niches.demand[model.firms.niche[0]]) / 3
    assert model.firms.niche[2] == model.firms.niche[0]
    assert model.firms.revenue[0] == pytest.approx(model.firms.revenue[2])
    assert model.firms.revenue[0] < first[0]
    assert model.firms.revenue[0] / volume_share == pytest.approx(1 - 0.14 * (1 - (1 / 3) / 0.5), rel=1e-6)
