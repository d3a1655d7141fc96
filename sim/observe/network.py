"""The cooperation network: measures and export.

The live network is one node per firm in the market and one edge per live
cooperation (from structure to evaluation); :func:`graph` builds it as a
networkx graph from the state when asked (``model.graph``). The
measures here are computed with array operations on the cooperation table's
edge list (clustering by closing wedges, components with SciPy), which costs
a millisecond or so at 10,000 firms where networkx's pure-Python clustering
would cost far more; a test checks them against networkx.

Exports write GEXF (Gephi) and GraphML with firm and cooperation attributes.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from sim.kernels import expand_ranges, find_sorted, mean, sd, sorted_distinct
from sim.state.pairs import first_of, ordered, second_of
from sim.vocabulary import DOMAINS, TRAITS, Phase

if TYPE_CHECKING:
    from sim.observe import Observed

__all__ = [
    "degree_measures",
    "edge_frame",
    "graph",
    "network_measures",
    "node_frame",
    "snapshot",
    "structure_measures",
    "write_network",
]


def network_measures(nodes: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Density, clustering, components and degree statistics of an undirected graph.

    Parameters
    ----------
    nodes : numpy.ndarray
        Node ids (firms in the market).
    a, b : numpy.ndarray
        Edge end points (ids from ``nodes``); each undirected edge once.

    Returns
    -------
    dict
        :func:`degree_measures` and :func:`structure_measures` together.

    Examples
    --------
    A triangle with a pendant node:

    >>> m = network_measures(np.arange(4), np.array([0, 1, 2, 2]), np.array([1, 2, 0, 3]))
    >>> round(m["clustering"], 4), m["components"], m["max_degree"]
    (0.5833, 1, 3)
    """
    degree = (
        np.bincount(np.concatenate([a, b]), minlength=int(nodes.max(initial=-1)) + 1)[nodes]
        if len(nodes)
        else np.zeros(0)
    )
    return {**degree_measures(degree), **structure_measures(nodes, a, b)}


def degree_measures(degree: np.ndarray) -> dict[str, float]:
    """Density and degree statistics from the degree of every node (cheap: every month)."""
    n = len(degree)
    if n == 0:
        return {"density": 0.0, "mean_degree": 0.0, "degree_sd": 0.0, "max_degree": 0}
    return {
        "density": float(degree.sum() / (n * (n - 1))) if n > 1 else 0.0,
        "mean_degree": mean(degree),
        "degree_sd": sd(degree),
        "max_degree": int(degree.max()),
    }


def structure_measures(nodes: np.ndarray, a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    """Clustering and components (dearer: every ``measures.network_interval`` months).

    ``clustering`` is the mean local clustering coefficient, 0 for nodes of
    degree below 2, as networkx's ``average_clustering``; isolated nodes are
    components of their own.
    """
    n = len(nodes)
    if n == 0:
        return {"clustering": 0.0, "components": 0, "largest_component_share": 0.0}
    pos = np.full(int(nodes.max()) + 1, -1, dtype=np.int64)
    pos[nodes] = np.arange(n)
    # Both directions of every edge, once, sorted by their first end: a CSR adjacency.
    keys = sorted_distinct(ordered(np.concatenate([pos[a], pos[b]]), np.concatenate([pos[b], pos[a]])))
    u, v = first_of(keys), second_of(keys)
    degree = np.bincount(u, minlength=n)
    start = np.concatenate([[0], np.cumsum(degree)])
    adj = sparse.csr_matrix((np.ones(len(v)), v, start), shape=(n, n))
    count, labels = connected_components(adj, directed=False)
    # Triangles: close the wedges. Each pair of neighbours (v[p], v[q]), p < q,
    # of a node is a wedge; it is closed when they are neighbours too.
    p, q = expand_ranges(np.arange(len(u)) + 1, start[u + 1])  # q: neighbours listed after position p
    closed = find_sorted(keys, ordered(v[p], v[q])) >= 0
    triangles = np.bincount(u[p][closed], minlength=n)
    possible = degree * (degree - 1) / 2.0
    local = np.divide(triangles, possible, out=np.zeros(n), where=possible > 0)
    return {
        "clustering": mean(local),
        "components": int(count),
        "largest_component_share": float(np.bincount(labels).max() / n),
    }


def graph(model: Observed) -> nx.Graph:
    """The live network now: one node per firm in the market, one edge per live cooperation (no attributes)."""
    firms, t = model.firms, model.kreislauf.table
    live = t.live()
    out = nx.Graph()
    out.add_nodes_from(firms.alive_idx.tolist())
    out.add_edges_from(zip(t.a[live].tolist(), t.b[live].tolist(), strict=True))
    return out


def snapshot(model: Observed) -> nx.Graph:
    """The network now, as a networkx graph with firm and cooperation attributes.

    Graph attributes: the scenario, the month and the seed (also in the
    graph's name, which GEXF keeps). Node attributes: name, role, niche,
    member, size, capital, traits, capabilities, location (also as the
    position Gephi draws, ``viz``) and the mean trust partners place in the
    firm. Edge attributes: cooperation id, its initiator and partner, phase,
    start, transparency, contract, trust each way named by direction, value
    created so far, whether it is a service contract.
    """
    firms, t = model.firms, model.kreislauf.table
    step, seed = int(model.steps), int(model.seed)
    graph = nx.Graph(
        name=f"{model.scenario.name}, seed {seed}, month {step}", scenario=model.scenario.name, step=step, seed=seed
    )
    for i in firms.alive_idx:
        i = int(i)
        attrs = {
            "label": firms.names[i],
            "role": "service" if firms.role[i] else "producer",
            "niche": model.market.niche_names[int(firms.niche[i])],
            "member": bool(firms.member[i]),
            "size": float(firms.size[i]),
            "capital": round(float(firms.capital[i]), 6),
            "x": float(firms.location[i, 0]),
            "y": float(firms.location[i, 1]),
            "viz": {"position": {"x": float(firms.location[i, 0]), "y": float(firms.location[i, 1]), "z": 0.0}},
        }
        attrs.update({t_: round(float(firms.traits[i, k]), 6) for k, t_ in enumerate(TRAITS)})
        attrs.update({f"cap_{d}": round(float(firms.caps[i, k]), 6) for k, d in enumerate(DOMAINS)})
        graph.add_node(i, **attrs)
    live = t.live()
    received: np.ndarray
    count: np.ndarray
    if len(live):
        rows = np.concatenate([t.row_ab[live], t.row_ba[live]])
        owners = np.concatenate([t.a[live], t.b[live]])
        subjects = np.concatenate([t.b[live], t.a[live]])
        trust = model.ledger.trust_at(owners, subjects, rows)
        half = len(live)
        for k, cid in enumerate(live):
            graph.add_edge(
                int(t.a[cid]),
                int(t.b[cid]),
                cooperation=int(cid),
                initiator=firms.names[int(t.a[cid])],
                partner=firms.names[int(t.b[cid])],
                phase=Phase(int(t.phase[cid])).label,
                started=int(t.started[cid]),
                transparency=round(float(t.transparency[cid]), 6),
                contract=round(float(t.contract[cid]), 6),
                trust_initiator_in_partner=round(float(trust[k]), 6),
                trust_partner_in_initiator=round(float(trust[half + k]), 6),
                weight=round(float(0.5 * (trust[k] + trust[half + k])), 6),
                value=round(float(t.value[cid]), 6),
                service=bool(t.service[cid]),
            )
        # Trust a firm receives: what its partners think of it (b receives a's trust, a receives b's).
        received = np.bincount(np.concatenate([t.b[live], t.a[live]]), weights=trust, minlength=firms.n)
        count = np.bincount(np.concatenate([t.b[live], t.a[live]]), minlength=firms.n)
    else:
        received, count = np.zeros(firms.n), np.zeros(firms.n, dtype=np.int64)
    for node in graph.nodes:
        graph.nodes[node]["trust_received"] = round(float(received[node] / count[node]), 6) if count[node] else 0.0
    return graph


def node_frame(model: Observed) -> dict[str, np.ndarray | list[str]]:
    """The firms in the market now, column by column, for drawing the network as it evolves.

    Columns: ``step``, ``firm`` (id), ``name``, ``role``, ``member``,
    ``niche``, ``capital``, ``digital`` (digital maturity) and
    ``trust_received`` (mean trust of its live partners in it; NaN without
    partners).
    """
    firms, t = model.firms, model.kreislauf.table
    idx = firms.alive_idx
    live = t.live()
    received: np.ndarray = np.zeros(firms.n)
    count: np.ndarray = np.zeros(firms.n)
    if len(live):
        trust = _edge_trust(model, live)
        received = np.bincount(np.concatenate([t.b[live], t.a[live]]), weights=trust, minlength=firms.n)
        count = np.bincount(np.concatenate([t.b[live], t.a[live]]), minlength=firms.n).astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_received = np.where(count[idx] > 0, received[idx] / np.maximum(count[idx], 1), np.nan)
    digital = DOMAINS.index("digital")
    return {
        "step": np.full(len(idx), int(model.steps)),
        "firm": idx.astype(np.int64),
        "name": [firms.names[int(i)] for i in idx],
        "role": ["service" if firms.role[int(i)] else "producer" for i in idx],
        "member": firms.member[idx].astype(bool),
        "niche": [model.market.niche_names[int(firms.niche[int(i)])] for i in idx],
        "capital": firms.capital[idx].astype(float),
        "digital": firms.caps[idx, digital].astype(float),
        "trust_received": mean_received,
    }


def edge_frame(model: Observed) -> dict[str, np.ndarray | list[str]]:
    """The live cooperations now, one row each: ``step``, ``cooperation``, ``a``, ``b``, ``phase``, ``trust``.

    ``trust`` is the mean of the two partners' trust in each other.
    """
    t = model.kreislauf.table
    live = t.live()
    trust = _edge_trust(model, live) if len(live) else np.zeros(0)
    half = len(live)
    return {
        "step": np.full(half, int(model.steps)),
        "cooperation": live.astype(np.int64),
        "a": t.a[live].astype(np.int64),
        "b": t.b[live].astype(np.int64),
        "phase": [Phase(int(p)).label for p in t.phase[live]],
        "trust": 0.5 * (trust[:half] + trust[half:]) if half else np.zeros(0),
    }


def _edge_trust(model: Observed, live: np.ndarray) -> np.ndarray:
    """Trust of a in b for every live cooperation, then of b in a."""
    t = model.kreislauf.table
    rows = np.concatenate([t.row_ab[live], t.row_ba[live]])
    owners = np.concatenate([t.a[live], t.b[live]])
    subjects = np.concatenate([t.b[live], t.a[live]])
    return np.asarray(model.ledger.trust_at(owners, subjects, rows), dtype=float)


def write_network(model: Observed, folder: Path) -> list[Path]:
    """Write the network now as ``network.gexf`` and ``network.graphml``; return the paths."""
    graph = snapshot(model)
    folder.mkdir(parents=True, exist_ok=True)
    gexf, graphml = folder / "network.gexf", folder / "network.graphml"
    # networkx stamps GEXF files with today's date; drop it so that the same
    # run gives byte-identical files on any day.
    text = "\n".join(nx.generate_gexf(graph))
    _write_text(gexf, re.sub(r' lastmodifieddate="[^"]*"', "", text, count=1) + "\n")
    # GraphML holds plain values only: the position stays as x and y.
    for _, attrs in graph.nodes(data=True):
        attrs.pop("viz", None)
    _write_text(graphml, "\n".join(nx.generate_graphml(graph)) + "\n")
    return [gexf, graphml]


def _write_text(path: Path, text: str) -> None:
    """Write atomically: a temporary file renamed into place."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
