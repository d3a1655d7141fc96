"""Scheduled events, end to end: each kind changes the world as described and leaves it consistent."""

from __future__ import annotations

from typing import Any

import numpy as np
from test_properties import check_invariants

from sim import CooperationModel, Phase, Reason, load_scenario


def big_with(*events: dict[str, Any], **overrides: Any) -> CooperationModel:
    data = load_scenario("big").model_dump()
    data["events"] = list(events)
    return CooperationModel(load_scenario(data), seed=2, **overrides)


def run_checked(model: CooperationModel, months: int) -> None:
    phases = check_invariants(model, np.empty(0))
    for _ in range(months):
        model.step()
        phases = check_invariants(model, phases)


def test_a_member_leaves_and_its_cooperations_end() -> None:
    model = big_with({"step": 5, "kind": "leave", "firm": "PGS"})
    pgs = model.firms.index_of("PGS")
    run_checked(model, 6)
    assert not model.firms.alive[pgs] and model.firms.left[pgs] == 5
    t = model.kreislauf.table
    involved = np.flatnonzero((t.a[: t.n] == pgs) | (t.b[: t.n] == pgs))
    assert len(involved) and np.all(t.phase[involved] == Phase.ENDED)
    assert np.all(t.reason[involved] == Reason.PARTNER_LEFT)
    assert model.measures_frame().loc[5, "exits"] == 1
    assert "event" in {kind for _, kind, _ in model.journal}


def test_a_breach_changes_the_trait_at_its_step() -> None:
    model = big_with({"step": 3, "kind": "trait_change", "firm": "Metrolux", "trait": "integrity", "value": 0.1})
    metrolux = model.firms.index_of("Metrolux")
    run_checked(model, 2)
    assert model.firms.traits[metrolux, 1] == 0.8
    model.step()
    assert model.firms.traits[metrolux, 1] == 0.1
    assert model.journal[-1] == (3, "event", "Metrolux's integrity changes from 0.80 to 0.10")


def test_open_competition_merges_two_niches_and_their_demand() -> None:
    model = big_with({"step": 2, "kind": "open_competition", "firms": ["Metrolux", "Lumics"]})
    market = model.market
    metrolux, lumics = (model.firms.index_of(n) for n in ("Metrolux", "Lumics"))
    before = market.demand[model.firms.niche[metrolux]] + market.demand[model.firms.niche[lumics]]
    run_checked(model, 3)
    assert model.firms.niche[metrolux] == model.firms.niche[lumics]
    assert market.demand[model.firms.niche[metrolux]] == before


def test_removing_shared_services_ends_the_contracts_and_raises_overhead() -> None:
    model = big_with({"step": 4, "kind": "remove_shared_services"})
    run_checked(model, 3)
    overhead_with = model.measures_frame()["producer_overhead"].iloc[-1]
    run_checked(model, 2)
    t = model.kreislauf.table
    services = t.service[: t.n]
    assert np.all(t.phase[: t.n][services] == Phase.ENDED)
    assert np.all(t.reason[: t.n][services] == Reason.SERVICES_REMOVED)
    assert not model.shared_services
    assert model.firm_count == 6  # the four service firms are gone
    assert model.measures_frame()["producer_overhead"].iloc[-1] > overhead_with


def test_a_named_firm_joins_the_group_and_is_served() -> None:
    newcomer = {
        "name": "Newco",
        "niche": "new niche",
        "size": 12.0,
        "competence": 0.8,
        "integrity": 0.8,
        "benevolence": 0.8,
        "propensity": 0.6,
        "capabilities": {
            "production": 0.7,
            "engineering": 0.7,
            "digital": 0.4,
            "administration": 0.2,
            "marketing": 0.2,
        },
        "group": True,
    }
    model = big_with({"step": 3, "kind": "join", "firm": newcomer})
    run_checked(model, 3)
    i = model.firms.index_of("Newco")
    # It knows the members, but the community has no history with it yet.
    assert set(model.ledger.known(i)) == set(range(10))
    assert model.ledger.community_r[i].sum() == 0.0
    run_checked(model, 1)
    assert model.firms.member[i] and model.firms.on_campus[i]
    t = model.kreislauf.table
    contracts = np.flatnonzero(t.service[: t.n] & (t.a[: t.n] == i))
    assert len(contracts) == 4  # served by each of the four service firms from the month it joins
    assert np.all(t.started[contracts] == 3)
    assert model.measures_frame().loc[3, "entries"] == 1
    focal = model.datacollector.get_table_dataframe("focal_firms")
    assert "Newco" not in set(focal["firm"])  # not a focal firm: only those named in measures.focal_firms


def test_a_service_firm_joining_later_does_not_end_open_searches() -> None:
    firm = {
        "name": "B.I.G. Legal",
        "role": "service",
        "niche": "legal services",
        "size": 4.0,
        "competence": 0.8,
        "integrity": 0.9,
        "benevolence": 0.8,
        "propensity": 0.6,
        "capabilities": {
            "production": 0.0,
            "engineering": 0.1,
            "digital": 0.5,
            "administration": 0.8,
            "marketing": 0.2,
        },
        "capacity": 8,
        "service_share": 0.1,
        "group": True,
    }
    model = big_with({"step": 2, "kind": "join", "firm": firm})
    run_checked(model, 24)  # the invariants include: load equals the cooperations that take capacity
    firms, t = model.firms, model.kreislauf.table
    searching = t.a[t.in_phase(Phase.PARTNER_SEARCH)].tolist() + t.a[t.in_phase(Phase.NEEDS_ASSESSMENT)].tolist()
    assert len(searching) == len(set(searching))  # at most one open search per firm
    assert all(firms.searching[f] for f in searching)


def test_a_population_member_joins_with_a_distinct_niche() -> None:
    data = load_scenario("classroom").model_dump()
    data["populations"].append(
        {"name": "newcomer", "count": 0, "niches": ["n1", "n2", "n3"], "group": True, "location": "campus"}
    )
    data["events"] = [{"step": 2, "kind": "join", "population": "newcomer"}]
    model = CooperationModel(load_scenario(data), seed=1)
    run_checked(model, 3)
    i = model.firms.index_of("newcomer 1")
    members = np.flatnonzero(model.firms.member[: model.firms.n] & (model.firms.role[: model.firms.n] == 0))
    niches = model.firms.niche[members]
    assert model.firms.member[i] and len(set(niches.tolist())) == len(niches)
