"""Properties that hold in every world: checked month by month over generated scenarios."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim import TRANSITIONS, CooperationModel, Phase, load_scenario
from sim.state.pairs import unordered
from sim.vocabulary import LIVE_PHASES, PRODUCER

unit = st.floats(0.05, 0.95)


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    """Small markets, with or without a group, with traits and mechanisms drawn widely."""
    traits = {t: {"mean": draw(unit), "sd": 0.1} for t in ("competence", "integrity", "benevolence", "propensity")}
    populations = [
        {"name": "firm", "count": draw(st.integers(2, 14)), "niches": draw(st.integers(1, 5)), **traits},
    ]
    data: dict[str, Any] = {
        "name": "generated",
        "steps": 30,
        "populations": populations,
        "market": {"entry_rate": draw(st.sampled_from([0.0, 0.3])), "insolvency_patience": draw(st.integers(1, 12))},
        "trust": {"forgetting": draw(st.floats(0.8, 1.0)), "negativity_weight": draw(st.floats(1.0, 4.0))},
        "kreislauf": {
            "familiarity_bias": draw(unit),
            "temptation": draw(unit),
            "grab_temptation": draw(unit),
            "evaluation_period": draw(st.integers(1, 6)),
            "search_steps": draw(st.integers(1, 3)),
            "learning_rate": draw(st.floats(0.0, 0.5)),
        },
    }
    events: list[dict[str, Any]] = []
    if draw(st.booleans()):
        data["group"] = {"shared_services": True}
        populations.append(
            {"name": "member", "count": draw(st.integers(2, 5)), "niches": 7, "group": True, "location": "campus"}
        )
        populations.append(
            {"name": "service", "count": 1, "role": "service", "niches": ["services"], "group": True, "capacity": 8}
        )
        populations[-1]["service_share"] = 1.0
        if draw(st.booleans()):  # a member joins later
            events.append({"step": draw(st.integers(1, 30)), "kind": "join", "population": "member"})
        if draw(st.booleans()):
            events.append({"step": draw(st.integers(1, 30)), "kind": "remove_shared_services"})
    data["events"] = events
    return data


def check_invariants(model: CooperationModel, before: np.ndarray) -> np.ndarray:
    firms, t, ledger = model.firms, model.kreislauf.table, model.ledger
    n = firms.n
    # Trust stays in [0, 1], for every pair with evidence and through the community.
    rows = np.arange(ledger.n)
    trust = ledger.pillars_at(ledger.owner[: ledger.n], ledger.subject[: ledger.n], rows)
    assert np.all((trust >= 0) & (trust <= 1))
    # Phases move only along legal transitions (one move a month at most).
    now = t.phase[: t.n].astype(int)
    for cid in np.flatnonzero(now[: len(before)] != before):
        assert Phase(now[cid]) in TRANSITIONS[Phase(int(before[cid]))], f"cooperation {cid}"
    # The network's edges are exactly the live cooperations; its nodes the firms in the market.
    live = t.live()
    pairs = {frozenset((int(a), int(b))) for a, b in zip(t.a[live], t.b[live], strict=True)}
    assert len(pairs) == len(live)  # at most one live cooperation per pair
    assert {frozenset(e) for e in model.graph.edges} == pairs
    assert set(model.graph.nodes) == set(firms.alive_idx.tolist())
    assert all(Phase(int(p)) in LIVE_PHASES for p in t.phase[live])
    # The index of live pairs, kept as pairs agree and end, holds exactly those pairs and their cooperations.
    keys = unordered(t.a[live], t.b[live])
    order = np.argsort(keys)
    assert np.array_equal(model.world.partners.keys, keys[order])
    assert np.array_equal(model.world.partners.values, live[order])
    # Capacity is never exceeded, and load is exactly the cooperations that take capacity.
    alive = firms.alive[:n]
    assert np.all(firms.load[:n][alive] <= firms.capacity[:n][alive])
    open_ = t.open_ids()
    load = np.zeros(n, dtype=int)
    initiator_counts = open_[~t.service[open_]]
    np.add.at(load, t.a[initiator_counts], 1)
    partnered = open_[t.phase[open_] >= Phase.STRUCTURE]
    np.add.at(load, t.b[partnered], 1)
    assert np.array_equal(load[alive], firms.load[:n][alive])
    # Value divided equals value created, cooperation by cooperation.
    assert np.allclose(t.shares[: t.n].sum(axis=1), t.value[: t.n])
    # Capabilities and cultures stay in [0, 1]; only producers search.
    assert np.all((firms.caps[:n] >= 0) & (firms.caps[:n] <= 1))
    assert np.all((firms.culture[:n] >= 0) & (firms.culture[:n] <= 1))
    assert np.all(firms.role[t.a[t.in_phase(Phase.PARTNER_SEARCH)]] == PRODUCER)
    return now


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=worlds(), seed=st.integers(0, 2**32 - 1))
def test_invariants_hold_every_month(data: dict[str, Any], seed: int) -> None:
    model = CooperationModel(load_scenario(data), seed=seed)
    phases = check_invariants(model, np.empty(0))
    while model.running:
        model.step()
        phases = check_invariants(model, phases)


@settings(max_examples=15, deadline=None)
@given(data=worlds(), seed=st.integers(0, 2**32 - 1))
def test_same_seed_same_history(data: dict[str, Any], seed: int) -> None:
    runs = []
    for _ in range(2):
        model = CooperationModel(load_scenario(data), seed=seed)
        for _ in range(12):
            model.step()
        runs.append(model.measures_frame())
    assert runs[0].equals(runs[1])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    edges=st.lists(st.tuples(st.integers(0, 39), st.integers(0, 39)), max_size=120),
    offset=st.integers(0, 5),
)
def test_network_measures_agree_with_networkx(n: int, edges: list[tuple[int, int]], offset: int) -> None:
    import networkx as nx

    from sim.observe.network import network_measures

    pairs = sorted({(min(a, b), max(a, b)) for a, b in edges if a != b and a < n and b < n})
    nodes = np.arange(n) + offset  # firm indices need not start at 0
    a = np.array([p[0] for p in pairs], dtype=np.int64) + offset
    b = np.array([p[1] for p in pairs], dtype=np.int64) + offset
    ours = network_measures(nodes, a, b)
    graph = nx.Graph()
    graph.add_nodes_from(nodes.tolist())
    graph.add_edges_from(zip(a.tolist(), b.tolist(), strict=True))
    assert ours["clustering"] == pytest.approx(nx.average_clustering(graph))
    assert ours["components"] == nx.number_connected_components(graph)
    assert ours["largest_component_share"] == pytest.approx(max(len(c) for c in nx.connected_components(graph)) / n)
    assert ours["density"] == pytest.approx(nx.density(graph))
    degrees = [d for _, d in graph.degree()]
    assert ours["max_degree"] == max(degrees) and ours["mean_degree"] == pytest.approx(np.mean(degrees))
