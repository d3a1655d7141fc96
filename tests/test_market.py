"""The market's month, worked by hand: revenue, overheads, shared services, insolvency."""

from __future__ import annotations

import pytest
from worlds import firm, world

from sim import CooperationModel


def group_of_two(shared_services: bool) -> CooperationModel:
    scenario = world(
        [
            firm("P", group=True),
            firm("S", role="service", niche="services", size=5.0, service_share=1.0, group=True, capacity=4),
        ],
        group={
            "shared_services": shared_services,
            "overhead_relief": 0.7,
            "service_fee": 0.6,
            "service_cost": 0.5,
            "focus_gain": 0.0,
        },
    )
    return CooperationModel(scenario, seed=1)


def test_a_lone_producer_sells_its_niche() -> None:
    model = group_of_two(shared_services=False)
    model.step()
    # Alone in its niche with unchanged productivity: 12 k EUR per employee, 10 employees.
    assert model.firms.revenue[0] == pytest.approx(120.0)
    # Overhead 6 + 0.9 * 10 = 15, all its own.
    assert model.firms.overhead_paid[0] == pytest.approx(15.0)


def test_shared_services_carry_overhead_for_a_fee() -> None:
    model = group_of_two(shared_services=True)
    assert model.kreislauf.table.service[0]  # the contract exists from step 0
    model.step()
    # Carried 0.7 * 15 = 10.5; P pays the rest 4.5 and a fee 0.6 * 10.5 = 6.3.
    assert model.firms.overhead_paid[0] == pytest.approx(4.5 + 6.3)
    # S earns the fee and spends 0.5 * 10.5 on the work (plus its share of the contract's value).
    assert model.firms.revenue[1] == pytest.approx(6.3)
    assert model.firms.load[0] == 0  # the contract does not take the producer's capacity
    assert model.firms.load[1] == 1


def test_insolvent_firms_leave_and_their_cooperations_end() -> None:
    scenario = world(
        [firm("A"), firm("B")],
        market={"insolvency_patience": 2, "overhead_fixed": 50.0, "initial_capital_months": 0.0},
    )
    model = CooperationModel(scenario, seed=1)
    model.step()
    assert model.firm_count == 2 and model.firms.negative_months[0] == 1
    model.step()
    assert model.firm_count == 0
    assert model.measures.current["exits"] == 2
    assert len(model.agents) == 0
