"""Validation patterns: what the alliance literature observes, measured in the model's output.

Each pattern here was **not** used to calibrate the model (the calibration
targets are alliance failure within five years, alliance life, firm survival
at one and five years and yearly entry and exit rates; see
``docs/calibration.md``). Each is a small pure function over a run's
cooperation log, its firms' entry and exit months, or its network, so that
it can be checked by hand on a tiny case and applied to any run:

- :func:`repeat_tie_rates`: do prior ties raise the chance of a new alliance
  between the same two firms? (Gulati 1995; Gulati & Gargiulo 1999)
- :func:`governance_by_tie`: do partners with a prior tie write less formal
  contracts? (Gulati 1995: repeated alliances use equity less often; trust
  substitutes for control)
- :func:`experience_rates`: do firms with more alliance experience form new
  alliances more often? (Gulati 1999; Powell et al. 1996, 2005: the
  cumulative advantage that makes hubs)
- :func:`clustering_against_random`: is the network more clustered than a
  random graph of the same density, or with the same degrees? (Verspagen &
  Duysters 2004; Schilling & Phelps 2007)
- :func:`small_world`: high clustering at random-graph path lengths
  (Watts & Strogatz 1998; Humphries & Gurney 2008's index sigma)
- :func:`degree_shape`: a right-skewed degree distribution with hubs
  (Powell et al. 2005; Gay & Dousset 2005)

:func:`formations` and :func:`tie_graph` turn a cooperation log into the
alliances and the network these read. ``scripts/validate.py`` runs a
scenario over seeds and prints the model against the literature;
``docs/validation.md`` reports it.

References
----------
.. [1] Gulati (1995). Does familiarity breed trust? The implications of
   repeated ties for contractual choice in alliances. *Academy of Management
   Journal* 38(1), 85-112.
.. [2] Gulati & Gargiulo (1999). Where do interorganizational networks come
   from? *American Journal of Sociology* 104(5), 1439-1493.
.. [3] Gulati (1999). Network location and learning: the influence of
   network resources and firm capabilities on alliance formation.
   *Strategic Management Journal* 20(5), 397-420.
.. [3b] Powell, Koput & Smith-Doerr (1996). Interorganizational
   collaboration and the locus of innovation: networks of learning in
   biotechnology. *Administrative Science Quarterly* 41(1), 116-145.
.. [3c] Verspagen & Duysters (2004). The small-world structure of strategic
   technology networks. *Technovation* 24(7), 563-571.
.. [4] Schilling & Phelps (2007). Interfirm collaboration networks: the
   impact of large-scale network structure on firm innovation. *Management
   Science* 53(7), 1113-1126.
.. [5] Watts & Strogatz (1998). Collective dynamics of 'small-world'
   networks. *Nature* 393, 440-442.
.. [6] Humphries & Gurney (2008). Network 'small-world-ness': a quantitative
   method for determining canonical network equivalence. *PLoS ONE* 3(4), e0002002.
.. [7] Powell, White, Koput & Owen-Smith (2005). Network dynamics and field
   evolution: the growth of interorganizational collaboration in the life
   sciences. *American Journal of Sociology* 110(4), 1132-1205.
.. [8] Gay & Dousset (2005). Innovation and network structural dynamics:
   study of the alliance network of a major sector of the biotechnology
   industry. *Research Policy* 34(10), 1457-1475.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "PATTERNS",
    "Pattern",
    "clustering_against_random",
    "degree_shape",
    "experience_rates",
    "formations",
    "governance_by_tie",
    "repeat_tie_rates",
    "run_patterns",
    "small_world",
    "tie_graph",
]


def formations(log: pd.DataFrame) -> pd.DataFrame:
    """The alliances of a cooperation log: cooperations that found a partner, shared-service contracts left out.

    Parameters
    ----------
    log : DataFrame
        A cooperation log (:meth:`sim.CooperationModel.cooperation_log`).

    Returns
    -------
    DataFrame
        One row per alliance, in order of formation: ``id``; ``a`` and ``b``,
        the two firms' indices, smaller first; ``formed``, the month the
        partner agreed (the month the needs assessment opened plus the months
        in needs assessment and partner search); ``ended`` (missing while
        live); ``contract``; ``repeat``: the pair had formed an alliance in an
        earlier month.

    Examples
    --------
    >>> log = pd.DataFrame({"id": [0, 1, 2, 3], "initiator_id": [0, 2, 1, 1],
    ...     "partner_id": pd.array([1, None, 0, 2], dtype="Int64"), "started": [0, 0, 20, 20],
    ...     "months_needs_assessment": 1, "months_partner_search": 1, "ended": pd.array([10, 2, None, 30], dtype="Int64"),
    ...     "contract": [0.5, 0.0, 0.3, 0.4], "service": False})
    >>> formations(log)[["a", "b", "formed", "repeat"]]
       a  b  formed  repeat
    0  0  1       2   False
    1  0  1      22    True
    2  1  2      22   False
    """
    partnered = log[log["partner_id"].notna() & ~log["service"].astype(bool)]
    a = partnered["initiator_id"].to_numpy(dtype=np.int64)
    b = partnered["partner_id"].to_numpy(dtype=np.int64)
    out = pd.DataFrame(
        {
            "id": partnered["id"].to_numpy(),
            "a": np.minimum(a, b),
            "b": np.maximum(a, b),
            "formed": (
                partnered["started"] + partnered["months_needs_assessment"] + partnered["months_partner_search"]
            ).to_numpy(dtype=np.int64),
            "ended": partnered["ended"].astype("Int64").to_numpy(),
            "contract": partnered["contract"].to_numpy(dtype=float),
        }
    )
    out = out.sort_values(["formed", "id"], kind="stable").reset_index(drop=True)
    first = out.groupby(["a", "b"])["formed"].transform("min")
    out["repeat"] = out["formed"] > first
    return out


def repeat_tie_rates(
    alliances: pd.DataFrame, entered: np.ndarray, left: np.ndarray, horizon: int, period: int = 12
) -> dict[str, float]:
    """How much more often two firms with a prior tie form a new alliance than two without (a dyad-period panel).

    As in Gulati (1995) and Gulati & Gargiulo (1999), every pair of firms is
    observed period by period (a year by default). A pair is *at risk* in a
    period when both firms are in the market at its start and they are not
    already partners in a live alliance then (the model lets a pair run one
    alliance at a time). It *has a prior tie* when it formed an alliance
    before the period began, and it *forms* when it forms one during the period.

    Parameters
    ----------
    alliances : DataFrame
        From :func:`formations` (``a``, ``b``, ``formed``, ``ended``).
    entered, left : ndarray
        Each firm's month of entry, and of exit (-1 while in the market), by index.
    horizon : int
        The run's last month; periods start at 0, ``period``, ... while a whole period fits.
    period : int
        Months per period.

    Returns
    -------
    dict
        ``dyads_prior`` and ``dyads_new``: pair-periods at risk with and
        without a prior tie; ``formed_prior`` and ``formed_new``: how many of
        them formed an alliance; ``rate_prior``, ``rate_new`` their shares;
        ``rate_ratio``: ``rate_prior / rate_new`` (NaN when either is undefined
        or ``rate_new`` is 0).

    Examples
    --------
    Three firms over two years. Firms 0 and 1 ally in month 2 and part in
    month 6; they ally again in month 14. Firms 1 and 2 ally in month 20.

    >>> alliances = pd.DataFrame({"a": [0, 0, 1], "b": [1, 1, 2], "formed": [2, 14, 20],
    ...     "ended": pd.array([6, None, None], dtype="Int64")})
    >>> r = repeat_tie_rates(alliances, np.zeros(3, int), np.full(3, -1), horizon=24)
    >>> r["dyads_prior"], r["formed_prior"], r["dyads_new"], r["formed_new"], r["rate_ratio"]
    (1, 1, 5, 2, 2.5)
    """
    n = len(entered)
    a = alliances["a"].to_numpy(dtype=np.int64)
    b = alliances["b"].to_numpy(dtype=np.int64)
    formed = alliances["formed"].to_numpy(dtype=np.int64)
    ended = alliances["ended"].astype("float64").fillna(np.inf).to_numpy()
    upper = np.triu(np.ones((n, n), dtype=bool), k=1)
    counts = dict.fromkeys(("dyads_prior", "formed_prior", "dyads_new", "formed_new"), 0)
    for start in range(0, horizon - period + 2, period):
        end = start + period
        alive = (entered <= start) & ((left < 0) | (left > start))
        prior = np.zeros((n, n), dtype=bool)
        before = formed < start
        prior[a[before], b[before]] = True
        live = np.zeros((n, n), dtype=bool)
        running = before & (ended > start)
        live[a[running], b[running]] = True
        new = np.zeros((n, n), dtype=bool)
        now = (formed >= start) & (formed < end)
        new[a[now], b[now]] = True
        risk = upper & np.outer(alive, alive) & ~live
        counts["dyads_prior"] += int((risk & prior).sum())
        counts["formed_prior"] += int((risk & prior & new).sum())
        counts["dyads_new"] += int((risk & ~prior).sum())
        counts["formed_new"] += int((risk & ~prior & new).sum())
    rate_prior = counts["formed_prior"] / counts["dyads_prior"] if counts["dyads_prior"] else np.nan
    rate_new = counts["formed_new"] / counts["dyads_new"] if counts["dyads_new"] else np.nan
    ratio = rate_prior / rate_new if rate_new and np.isfinite(rate_prior) else np.nan
    return {**counts, "rate_prior": rate_prior, "rate_new": rate_new, "rate_ratio": ratio}


def experience_rates(
    alliances: pd.DataFrame, entered: np.ndarray, left: np.ndarray, horizon: int, period: int = 12
) -> dict[str, float]:
    """How much more often experienced firms form new alliances than less experienced ones (a firm-period panel).

    Each period (a year by default), the firms in the market at its start
    are split at the median of their experience then (alliances formed
    before the period, on either side): above the median is *experienced*,
    the rest *less experienced*; periods in which no firm is above the
    median (all alike, or the most experienced half tied at the median) are
    skipped. The statistic is the rate of new alliances per
    firm and period of the experienced over that of the less experienced:
    above 1 is the cumulative advantage Gulati (1999) and Powell et al.
    (1996) report, the mechanism that makes hubs.

    Parameters
    ----------
    alliances : DataFrame
        From :func:`formations` (``a``, ``b``, ``formed``).
    entered, left : ndarray
        Each firm's month of entry, and of exit (-1 while in the market), by index.
    horizon : int
        The run's last month.
    period : int
        Months per period.

    Returns
    -------
    dict
        ``firms_experienced``, ``firms_less``: firm-periods of each kind;
        ``formed_experienced``, ``formed_less``: the new alliances they took
        part in; ``rate_experienced``, ``rate_less``; ``rate_ratio`` (NaN
        when undefined).

    Examples
    --------
    Three firms over two years. In the first, all start without experience
    (skipped); firm 0 allies with 1 and with 2. In the second, firm 0 (two
    alliances) is above the median experience (1), firms 1 and 2 are not;
    0 and 1 ally again: one new alliance for the one experienced firm, one
    for the two others, a ratio of 1 / (1 / 2) = 2.

    >>> alliances = pd.DataFrame({"a": [0, 0, 0], "b": [1, 2, 1], "formed": [1, 2, 13]})
    >>> r = experience_rates(alliances, np.zeros(3, int), np.full(3, -1), horizon=24)
    >>> r["firms_experienced"], r["formed_experienced"], r["firms_less"], r["formed_less"], r["rate_ratio"]
    (1, 1, 2, 1, 2.0)
    """
    n = len(entered)
    ends = np.concatenate([alliances["a"].to_numpy(dtype=np.int64), alliances["b"].to_numpy(dtype=np.int64)])
    months = np.tile(alliances["formed"].to_numpy(dtype=np.int64), 2)
    counts = dict.fromkeys(("firms_experienced", "formed_experienced", "firms_less", "formed_less"), 0)
    for start in range(0, horizon - period + 2, period):
        alive = np.flatnonzero((entered <= start) & ((left < 0) | (left > start)))
        if not len(alive):
            continue
        experience = np.bincount(ends[months < start], minlength=n)[alive]
        new = np.bincount(ends[(months >= start) & (months < start + period)], minlength=n)[alive]
        top = experience > np.median(experience)
        if not top.any():  # no firm above the median (all alike, or ties at the top): no contrast this period
            continue
        counts["firms_experienced"] += int(top.sum())
        counts["formed_experienced"] += int(new[top].sum())
        counts["firms_less"] += int((~top).sum())
        counts["formed_less"] += int(new[~top].sum())
    rate_exp = counts["formed_experienced"] / counts["firms_experienced"] if counts["firms_experienced"] else np.nan
    rate_less = counts["formed_less"] / counts["firms_less"] if counts["firms_less"] else np.nan
    ratio = rate_exp / rate_less if rate_less and np.isfinite(rate_exp) else np.nan
    return {**counts, "rate_experienced": rate_exp, "rate_less": rate_less, "rate_ratio": ratio}


def governance_by_tie(alliances: pd.DataFrame) -> dict[str, float]:
    """The degree of formal contract in repeated alliances against first alliances between two firms.

    Gulati (1995) found that firms that had allied before chose less
    hierarchical governance (equity) for a new alliance: familiarity breeds
    trust, and trust stands in for control. In the model the contract degree
    is set at agreement from the partners' trust (ODD 7.3.1).

    Parameters
    ----------
    alliances : DataFrame
        From :func:`formations` (``contract``, ``repeat``).

    Returns
    -------
    dict
        ``repeat`` and ``first``: how many alliances of each kind;
        ``contract_repeat``, ``contract_first``: their mean contract degree
        (NaN without any); ``difference``: repeat minus first.

    Examples
    --------
    >>> g = governance_by_tie(pd.DataFrame({"contract": [0.6, 0.4, 0.3], "repeat": [False, False, True]}))
    >>> g["repeat"], g["first"], round(g["difference"], 3)
    (1, 2, -0.2)
    """
    repeat = alliances["repeat"].to_numpy(dtype=bool)
    contract = alliances["contract"].to_numpy(dtype=float)
    mean_repeat = float(contract[repeat].mean()) if repeat.any() else np.nan
    mean_first = float(contract[~repeat].mean()) if (~repeat).any() else np.nan
    return {
        "repeat": int(repeat.sum()),
        "first": int((~repeat).sum()),
        "contract_repeat": mean_repeat,
        "contract_first": mean_first,
        "difference": mean_repeat - mean_first,
    }


def tie_graph(alliances: pd.DataFrame, nodes: np.ndarray | list[int], start: int, end: int) -> nx.Graph:
    """The network of alliances live at any time in months ``[start, end]``: one edge per pair, however many ties.

    Parameters
    ----------
    alliances : DataFrame
        From :func:`formations`.
    nodes : array-like of int
        The firms (indices) to include as nodes, tied or not.
    start, end : int
        The window, both months included.

    Returns
    -------
    networkx.Graph

    Examples
    --------
    >>> alliances = pd.DataFrame({"a": [0, 1, 0], "b": [1, 2, 2], "formed": [0, 5, 30],
    ...     "ended": pd.array([3, None, None], dtype="Int64")})
    >>> sorted(tie_graph(alliances, [0, 1, 2, 3], 4, 20).edges())
    [(1, 2)]
    """
    ended = alliances["ended"].astype("float64").fillna(np.inf).to_numpy()
    formed = alliances["formed"].to_numpy()
    inside = (formed <= end) & (ended >= start)
    graph = nx.Graph()
    graph.add_nodes_from(int(i) for i in nodes)
    graph.add_edges_from(
        zip(alliances["a"].to_numpy()[inside].tolist(), alliances["b"].to_numpy()[inside].tolist(), strict=True)
    )
    return graph


def clustering_against_random(graph: nx.Graph, samples: int = 20, seed: int = 1) -> dict[str, float]:
    """Mean local clustering of a graph against random graphs of the same density and of the same degrees.

    Two null models: Erdos-Renyi graphs with the same number of nodes and
    edges (``gnm_random_graph``), whose expected clustering is about the
    density; and the graph itself rewired by degree-preserving double edge
    swaps (ten swaps per edge), which keeps every firm's number of partners
    and removes any other structure. A ratio well above 1 means ties close
    into triangles more than chance and the degrees explain.

    Parameters
    ----------
    graph : networkx.Graph
    samples : int
        Random graphs drawn of each kind.
    seed : int
        Seed of the random graphs.

    Returns
    -------
    dict
        ``clustering`` (networkx's ``average_clustering``: nodes of degree
        below 2 count as 0), ``density``, ``clustering_er`` and
        ``clustering_rewired`` (means over the samples), ``ratio_er`` and
        ``ratio_rewired`` (the graph's over each null model's; NaN when the
        null model's clustering is 0).

    Examples
    --------
    Four cliques of four firms joined in a ring (``connected_caveman_graph``)
    are far more clustered than chance:

    >>> r = clustering_against_random(nx.connected_caveman_graph(4, 4), samples=5)
    >>> r["ratio_er"] > 2, r["ratio_rewired"] > 2
    (True, True)
    """
    n, m = graph.number_of_nodes(), graph.number_of_edges()
    rng = np.random.default_rng(seed)
    observed = nx.average_clustering(graph) if n else 0.0
    er, rewired = [], []
    for _ in range(samples):
        er.append(nx.average_clustering(nx.gnm_random_graph(n, m, seed=int(rng.integers(2**31)))) if n else 0.0)
        g = graph.copy()
        if m >= 2 and n >= 4:
            with suppress(nx.NetworkXAlgorithmError):  # too few possible swaps: keep what was done
                nx.double_edge_swap(g, nswap=10 * m, max_tries=100 * m, seed=int(rng.integers(2**31)))
        rewired.append(nx.average_clustering(g) if n else 0.0)
    c_er, c_rw = float(np.mean(er)), float(np.mean(rewired))
    return {
        "clustering": float(observed),
        "density": float(nx.density(graph)) if n > 1 else 0.0,
        "clustering_er": c_er,
        "clustering_rewired": c_rw,
        "ratio_er": observed / c_er if c_er > 0 else np.nan,
        "ratio_rewired": observed / c_rw if c_rw > 0 else np.nan,
    }


def small_world(graph: nx.Graph, samples: int = 20, seed: int = 1) -> dict[str, float]:
    """Small-world index of the graph's largest component (Humphries & Gurney 2008).

    ``sigma = (C / C_r) / (L / L_r)``, with C the mean local clustering and L
    the mean shortest path length of the largest connected component, and
    ``C_r``, ``L_r`` the same of the largest components of Erdos-Renyi
    graphs with the component's nodes and edges. Sigma above 1 (clustered as
    a lattice, short paths as a random graph) is a small world (Watts &
    Strogatz 1998); Verspagen & Duysters (2004) found alliance networks to be
    small worlds.

    Parameters
    ----------
    graph : networkx.Graph
    samples : int
        Random graphs drawn.
    seed : int
        Seed of the random graphs.

    Returns
    -------
    dict
        ``component`` (nodes in the largest component), ``clustering``,
        ``path_length``, ``clustering_random``, ``path_length_random``,
        ``sigma`` (NaN when the component has fewer than 3 nodes or the
        random graphs have no clustering).

    Examples
    --------
    A ring lattice of 30 nodes, each tied to its 4 nearest, with a few
    shortcuts (Watts & Strogatz's model) is a small world:

    >>> r = small_world(nx.connected_watts_strogatz_graph(30, 4, 0.1, seed=3), samples=5)
    >>> r["component"], r["sigma"] > 1
    (30, True)
    """
    if graph.number_of_nodes() == 0:
        return dict.fromkeys(
            ("component", "clustering", "path_length", "clustering_random", "path_length_random", "sigma"), np.nan
        )
    core = graph.subgraph(max(nx.connected_components(graph), key=len)).copy()
    n, m = core.number_of_nodes(), core.number_of_edges()
    c = nx.average_clustering(core)
    length = nx.average_shortest_path_length(core) if n > 1 else 0.0
    rng = np.random.default_rng(seed)
    cr, lr = [], []
    for _ in range(samples):
        r = nx.gnm_random_graph(n, m, seed=int(rng.integers(2**31)))
        r = r.subgraph(max(nx.connected_components(r), key=len))
        cr.append(nx.average_clustering(r))
        lr.append(nx.average_shortest_path_length(r) if r.number_of_nodes() > 1 else 0.0)
    c_r, l_r = float(np.mean(cr)), float(np.mean(lr))
    sigma = (c / c_r) / (length / l_r) if n >= 3 and c_r > 0 and length > 0 and l_r > 0 else np.nan
    return {
        "component": n,
        "clustering": float(c),
        "path_length": float(length),
        "clustering_random": c_r,
        "path_length_random": l_r,
        "sigma": float(sigma),
    }


def degree_shape(degrees: np.ndarray | list[int], hub_quantile: float = 0.99) -> dict[str, Any]:
    """Skew and hubs of a degree distribution, against a Poisson of the same mean (a random graph's).

    Alliance networks have right-skewed degree distributions: most firms
    have few partners, a few hubs very many (Powell et al. 2005; Gay &
    Dousset 2005 find it scale-free). In an Erdos-Renyi graph degrees are
    about Poisson: variance equal to the mean, skewness ``1 / sqrt(mean)``,
    and about ``1 - hub_quantile`` of the firms above the Poisson's
    ``hub_quantile`` quantile.

    Parameters
    ----------
    degrees : array-like of int
        Every firm's degree, isolated firms (0) included.
    hub_quantile : float
        A hub has a degree above this quantile of the Poisson with the same mean.

    Returns
    -------
    dict
        ``firms``, ``mean``, ``max``; ``skewness`` (sample skewness, biased
        as ``scipy.stats.skew``) and ``skewness_poisson``; ``dispersion``:
        variance over mean (1 for Poisson); ``hub_degree``: the Poisson
        quantile a hub exceeds; ``hub_share``: the share of firms above it;
        ``top_share``: the share of all ties held by the best-connected 10%
        of firms.

    Examples
    --------
    A star of one hub and four spokes:

    >>> d = degree_shape([4, 1, 1, 1, 1])
    >>> d["mean"], d["max"], round(d["skewness"], 3), round(d["dispersion"], 3), d["hub_degree"], d["hub_share"]
    (1.6, 4, 1.5, 0.9, 5, 0.0)
    """
    x = np.asarray(degrees, dtype=float)
    n = len(x)
    mean = float(x.mean()) if n else np.nan
    skew = float(stats.skew(x)) if n > 2 and x.std() > 0 else np.nan
    skew_poisson = 1 / np.sqrt(mean) if n and mean > 0 else np.nan
    hub = int(stats.poisson.ppf(hub_quantile, mean)) if n and mean > 0 else 0
    top = np.sort(x)[::-1][: max(1, int(np.ceil(0.1 * n)))] if n else x
    return {
        "firms": n,
        "mean": mean,
        "max": int(x.max()) if n else 0,
        "skewness": skew,
        "skewness_poisson": skew_poisson,
        "excess_skewness": skew - skew_poisson,
        "dispersion": float(x.var() / mean) if n and mean > 0 else np.nan,
        "hub_degree": hub,
        "hub_share": float((x > hub).mean()) if n else np.nan,
        "top_share": float(top.sum() / x.sum()) if n and x.sum() > 0 else np.nan,
    }


def run_patterns(
    log: pd.DataFrame,
    entered: np.ndarray,
    left: np.ndarray,
    horizon: int,
    window: int = 60,
    samples: int = 20,
    seed: int = 1,
) -> dict[str, float]:
    """Every validation statistic of one run, from its cooperation log and its firms' entry and exit months.

    Parameters
    ----------
    log : DataFrame
        The run's cooperation log.
    entered, left : ndarray
        Each firm's month of entry and of exit (-1 while in the market), by index.
    horizon : int
        The run's last month.
    window : int
        Months at the end whose alliances make the "window" network (Gulati &
        Gargiulo 1999 and Powell et al. 2005 count ties over a few years).
    samples, seed : int
        Random graphs per null model, and their seed.

    Returns
    -------
    dict
        Flat: ``prior_*`` (:func:`repeat_tie_rates`), ``contract_*``
        (:func:`governance_by_tie`), then for the network live in the last
        month (``live_``) and the network of the last ``window`` months'
        alliances (``window_``): :func:`clustering_against_random`,
        :func:`small_world` and :func:`degree_shape` statistics.
    """
    alliances = formations(log)
    out: dict[str, float] = {}
    out |= {f"prior_{k}": v for k, v in repeat_tie_rates(alliances, entered, left, horizon).items()}
    out |= {f"contract_{k}": v for k, v in governance_by_tie(alliances).items()}
    out |= {f"experience_{k}": v for k, v in experience_rates(alliances, entered, left, horizon).items()}
    in_market = np.flatnonzero(left < 0)
    graphs = {
        "live": tie_graph(alliances, in_market, horizon, horizon),
        "window": tie_graph(alliances, in_market, horizon - window + 1, horizon),
    }
    for name, graph in graphs.items():
        out |= {f"{name}_{k}": v for k, v in clustering_against_random(graph, samples, seed).items()}
        out |= {f"{name}_sw_{k}": v for k, v in small_world(graph, samples, seed).items()}
        degrees = [d for _, d in graph.degree()]
        out |= {f"{name}_degree_{k}": v for k, v in degree_shape(degrees).items()}
    return out


@dataclass(frozen=True)
class Pattern:
    """A validation pattern: what the literature reports, the statistic that measures it, and when it holds.

    Attributes
    ----------
    name : str
        Short name.
    source : str
        Where the literature reports it.
    literature : str
        What it reports.
    statistic : str
        The key of :func:`run_patterns` that measures it in the model.
    meaning : str
        What the statistic is, in words.
    null : float
        The statistic's value without the pattern (a random graph, no
        effect of prior ties): effect sizes are measured from it.
    threshold : float
        The pattern holds when the 95% interval over seeds of ``statistic``
        lies wholly above (``above``) or below this value (the null, or a
        stricter value where the literature says "well above").
    above : bool
        Direction of the test.
    """

    name: str
    source: str
    literature: str
    statistic: str
    meaning: str
    null: float
    threshold: float
    above: bool = True

    def holds(self, low: float, high: float) -> bool:
        """Whether an interval ``[low, high]`` over seeds lies wholly on the pattern's side of the threshold."""
        return bool(low > self.threshold) if self.above else bool(high < self.threshold)


#: The validation patterns, none of them a calibration target.
PATTERNS: list[Pattern] = [
    Pattern(
        "prior ties raise the chance of a new alliance",
        "Gulati 1995; Gulati & Gargiulo 1999",
        "dyads with prior alliances are significantly more likely to ally again",
        "prior_rate_ratio",
        "yearly rate of new alliances of pairs with a prior tie over pairs without",
        1.0,
        1.0,
    ),
    Pattern(
        "repeated ties are governed with less formal control",
        "Gulati 1995",
        "repeated alliances between the same firms use equity (hierarchical control) less often",
        "contract_difference",
        "mean contract degree of repeated alliances minus first alliances",
        0.0,
        0.0,
        above=False,
    ),
    Pattern(
        "experienced firms form new alliances more often",
        "Gulati 1999; Powell et al. 1996",
        "firms' prior alliances raise their rate of entering new ones (cumulative advantage)",
        "experience_rate_ratio",
        "yearly rate of new alliances of firms above the median experience over firms at or below it",
        1.0,
        1.0,
    ),
    Pattern(
        "clustering well above a random graph of the same density",
        "Verspagen & Duysters 2004; Schilling & Phelps 2007",
        "alliance networks' clustering is many times that of random graphs of the same size and density",
        "window_ratio_er",
        "mean local clustering of the last five years' alliances over Erdos-Renyi graphs with the same nodes and edges",
        1.0,
        2.0,
    ),
    Pattern(
        "clustering above what the degrees alone explain",
        "Verspagen & Duysters 2004; Powell et al. 2005 (cohesive subnetworks)",
        "ties close into triangles beyond what the firms' numbers of partners imply",
        "window_ratio_rewired",
        "the same over degree-preserving rewired graphs",
        1.0,
        1.0,
    ),
    Pattern(
        "a small world",
        "Verspagen & Duysters 2004; Gay & Dousset 2005",
        "high clustering with path lengths near a random graph's (small-world index above 1)",
        "window_sw_sigma",
        "sigma = (C / C_random) / (L / L_random) of the largest component of the last five years' alliances",
        1.0,
        1.0,
    ),
    Pattern(
        "a right-skewed degree distribution",
        "Powell et al. 2005; Gay & Dousset 2005",
        "most firms have few partners, a few very many (scale-free in Gay & Dousset)",
        "window_degree_excess_skewness",
        "skewness of the firms' numbers of partners in the last five years minus a Poisson's of the same mean",
        0.0,
        0.0,
    ),
    Pattern(
        "degrees more dispersed than at random",
        "Powell et al. 2005; Gay & Dousset 2005",
        "the spread of partners per firm far exceeds a random graph's (heavy tail)",
        "window_degree_dispersion",
        "variance over mean of the firms' numbers of partners in the last five years (1 in a random graph)",
        1.0,
        1.0,
    ),
    Pattern(
        "hubs",
        "Powell et al. 2005; Gay & Dousset 2005",
        "a few firms hold a large share of all ties",
        "window_degree_hub_share",
        "share of firms with more partners than the 99th percentile of a Poisson of the same mean (1% or less at random)",
        0.01,
        0.01,
    ),
]
