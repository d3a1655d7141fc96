"""Beta-reputation trust, worked by hand."""

from __future__ import annotations

import numpy as np
import pytest
from worlds import firm, world

from sim import CooperationModel
from sim.scenario import Trust
from sim.state.firms import FirmTable
from sim.state.ledger import TrustLedger


def ledger(
    propensity: list[float], member: list[bool] | None = None, sharing: float = 0.0, **params: float
) -> TrustLedger:
    firms = FirmTable(culture_dims=1)
    n = len(propensity)
    traits = np.zeros((n, 4))
    traits[:, 3] = propensity
    traits[:, :3] = 0.8
    firms.add(n, traits=traits, member=member or [False] * n)
    return TrustLedger(Trust(**params), firms, sharing)


def test_a_stranger_is_trusted_at_propensity() -> None:
    book = ledger([0.3, 0.9])
    assert book.pillars(np.array([0, 1]), np.array([1, 0])).tolist() == [[0.3] * 3, [0.9] * 3]


def test_observations_move_the_beta_expectation() -> None:
    book = ledger([0.5, 0.5])
    row = book.slot(0, 1)
    # A good contribution of quality 0.9, a kept promise, a grab (weight 2).
    book.observe(np.array([row]), np.array([1]), np.array([[0.9, 1.0, 0.0]]), np.array([[0.1, 0.0, 2.0]]))
    # E = (0.5 * 2 + r) / (2 + r + s)
    expected = [(1 + 0.9) / 3, (1 + 1) / 3, 1 / 4]
    assert book.pillars(np.array([0]), np.array([1]))[0].tolist() == pytest.approx(expected)
    assert book.trust(np.array([0]), np.array([1]))[0] == pytest.approx(sum(expected) / 3)


def test_forgetting_fades_evidence_toward_the_prior() -> None:
    book = ledger([0.5, 0.5], forgetting=0.5)
    row = book.slot(0, 1)
    book.observe(np.array([row]), np.array([1]), np.array([[4.0, 4.0, 4.0]]), np.zeros((1, 3)))
    book.forget()
    # r = 4 * 0.5 = 2: E = (1 + 2) / (2 + 2) = 0.75
    assert book.trust(np.array([0]), np.array([1]))[0] == pytest.approx(0.75)


def test_the_community_shares_what_members_see() -> None:
    # Firms 0 and 1 are members; 2 is an outsider who breaks promises to 0.
    book = ledger([0.5, 0.5, 0.5], member=[True, True, False], sharing=0.5)
    row = book.slot(0, 2)
    book.observe(np.array([row]), np.array([2]), np.zeros((1, 3)), np.full((1, 3), 2.0))
    # Firm 1 never met firm 2 but hears it through the community (one other
    # member, so weight 1/1), at half weight: E = 1 / (2 + 0.5 * 2) = 1/3.
    assert book.trust(np.array([1]), np.array([2]))[0] == pytest.approx(1 / 3)
    # The outsider's own view of member 0 is untouched by the community.
    assert book.trust(np.array([2]), np.array([1]))[0] == pytest.approx(0.5)


def test_gossip_passes_a_share_of_first_hand_evidence_to_partners() -> None:
    book = ledger([0.5, 0.5, 0.5, 0.5], gossip_weight=0.5)
    row = book.slot(0, 2)
    book.observe(np.array([row]), np.array([2]), np.full((1, 3), 4.0), np.zeros((1, 3)))
    book.gossip([book.slot(0, 2)], [2], [1])
    assert book.known(1) == [2]
    # Hearsay half-way to the teller's r = 4: (1 + 2) / (2 + 2).
    assert book.trust(np.array([1]), np.array([2]))[0] == pytest.approx(0.75)
    # Retelling does not inflate evidence: hearsay is never passed on, and
    # hearing the same story again only closes the gap to it.
    for _ in range(50):
        book.gossip([book.slot(1, 2)], [2], [3])
        book.gossip([book.slot(0, 2)], [2], [1])
    assert book.known(1) == [2]
    row = book.slot(1, 2)
    hearsay = book.evidence[row] - book.own[row]
    assert hearsay.tolist() == pytest.approx([4.0] * 3 + [0.0] * 3)
    assert book.trust(np.array([3]), np.array([2]))[0] == pytest.approx(0.5)


def test_asymmetry_bad_news_weighs_more() -> None:
    scenario = world(
        [
            firm("A", capabilities={"engineering": 0.0}, needs={"engineering": 0.5}),
            firm("B", capabilities={"engineering": 1.0}),
        ],
        trust={"negativity_weight": 3.0},
    )
    model = CooperationModel(scenario, seed=1)
    row = model.ledger.slot(0, 1)
    model.ledger.observe(np.array([row]), np.array([1]), np.array([[0.0, 1.0, 1.0]]), np.array([[0.0, 3.0, 3.0]]))
    # One kept and one broken promise (weight 3): (1 + 1) / (2 + 1 + 3) = 1/3, below the prior.
    assert model.ledger.pillars(np.array([0]), np.array([1]))[0, 1] == pytest.approx(1 / 3)


def test_the_exported_network_reads_back_with_positions_graph_attributes_and_directed_trust(tmp_path) -> None:
    import networkx as nx

    from sim.observe.network import write_network

    model = CooperationModel("big", seed=1, steps=12)
    while model.running:
        model.step()
    gexf, graphml = write_network(model, tmp_path)
    g = nx.read_gexf(gexf)
    assert g.graph["name"] == "big, seed 1, month 12"
    node = g.nodes[str(model.firms.index_of("Metrolux"))]
    assert node["viz"]["position"]["x"] == pytest.approx(
        float(model.firms.location[model.firms.index_of("Metrolux"), 0])
    )
    _, _, edge = next(iter(g.edges(data=True)))
    a, b = model.firms.index_of(edge["initiator"]), model.firms.index_of(edge["partner"])
    assert edge["trust_initiator_in_partner"] == pytest.approx(
        float(model.ledger.trust(np.array([a]), np.array([b]))[0]), abs=1e-6
    )
    h = nx.read_graphml(graphml)
    assert (h.graph["scenario"], h.graph["step"], h.graph["seed"]) == ("big", 12, 1)
