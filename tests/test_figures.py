"""Figure builders: the traces carry the input's numbers, colours hold per scenario, empty input gives a clear figure."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from analysis import figures
from analysis.statistics import mean_ci


def measures() -> pd.DataFrame:
    """Two scenarios, three runs each, three months."""
    rows = []
    for scenario, base in (("big", 10.0), ("market", 5.0)):
        for run in range(3):
            for step in range(3):
                rows.append({"scenario": scenario, "run": run, "step": step, "profit": base + run + step})
    return pd.DataFrame(rows)


def is_empty_figure(fig: go.Figure, fragment: str) -> bool:
    return len(fig.data) == 0 and any(fragment in a.text for a in fig.layout.annotations)


def test_time_series_draws_the_mean_and_its_interval_per_scenario() -> None:
    fig = figures.time_series(measures(), "profit", "Profit", "k EUR")
    lines = [t for t in fig.data if t.mode == "lines"]
    bands = [t for t in fig.data if t.fill == "toself"]
    assert [t.name for t in lines] == ["big", "market"]
    assert list(lines[0].y) == [11.0, 12.0, 13.0]  # mean of 10, 11, 12 at month 0, and so on
    e = mean_ci([10.0, 11.0, 12.0])
    assert bands[0].y[0] == pytest.approx(e.ci_high) and bands[0].y[-1] == pytest.approx(e.ci_low)
    assert lines[0].line.color == figures.scenario_colors(["big", "market"])["big"]
    assert fig.layout.yaxis.title.text == "k EUR" and fig.layout.xaxis.title.text == "month"


def test_one_run_gets_a_line_without_a_band() -> None:
    one = measures().query("scenario == 'big' and run == 0").drop(columns=["scenario"])
    fig = figures.time_series(one, "profit", "Profit", "k EUR")
    assert len(fig.data) == 1 and list(fig.data[0].y) == [10.0, 11.0, 12.0]


def test_colours_follow_the_scenario_not_the_figure() -> None:
    colors = figures.scenario_colors(["big", "market"])
    only_market = measures().query("scenario == 'market'")
    fig = figures.time_series(only_market, "profit", "Profit", "k EUR", colors=colors)
    assert fig.data[-1].line.color == colors["market"] != colors["big"]


@pytest.mark.parametrize(
    "fig",
    [
        figures.time_series(pd.DataFrame(), "profit", "Profit", "k EUR"),
        figures.time_series(measures().assign(profit=np.nan), "profit", "Profit", "k EUR"),
        figures.network(pd.DataFrame(), pd.DataFrame()),
        figures.phase_flows(pd.DataFrame()),
        figures.distribution(pd.DataFrame(), "trust", "Trust", "trust"),
        figures.focal_firms(pd.DataFrame()),
        figures.parameter_effect(pd.DataFrame(), "bias", "profit", "Profit", "k EUR"),
        figures.parameter_heatmap(pd.DataFrame(), "bias", "cost", "profit", "Profit"),
        figures.sensitivity_bars(pd.DataFrame()),
    ],
)
def test_empty_input_gives_a_figure_that_says_so(fig: go.Figure) -> None:
    assert len(fig.data) == 0
    assert fig.layout.title.text and len(fig.layout.annotations) == 1


# -- the network --------------------------------------------------------------


def history() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Three firms in two niches; month 0: a-b searching; month 2: a-b in relationship, c gone."""
    node = {"name": "", "role": "producer", "member": False, "capital": 100.0, "digital": 0.5, "trust_received": 0.7}
    nodes = pd.DataFrame(
        [
            {**node, "step": 0, "firm": 0, "name": "A", "niche": "x"},
            {**node, "step": 0, "firm": 1, "name": "B", "niche": "y", "role": "service", "member": True},
            {**node, "step": 0, "firm": 2, "name": "C", "niche": "y", "capital": 400.0},
            {**node, "step": 2, "firm": 0, "name": "A", "niche": "x", "digital": 0.9},
            {**node, "step": 2, "firm": 1, "name": "B", "niche": "y", "role": "service", "member": True},
        ]
    )
    edges = pd.DataFrame(
        [
            {"step": 0, "cooperation": 0, "a": 0, "b": 1, "phase": "partner search", "trust": 0.5},
            {"step": 2, "cooperation": 0, "a": 0, "b": 1, "phase": "relationship", "trust": 0.9},
        ]
    )
    return nodes, edges


def test_network_frames_move_edges_and_hide_firms_that_left() -> None:
    nodes, edges = history()
    fig = figures.network(nodes, edges)
    pos = figures.layout_positions(nodes)
    n_edge_traces = len(figures.PHASE_COLORS) * len(figures.TRUST_WIDTHS)
    assert len(fig.data) == n_edge_traces + 5  # five colourings of the firms
    assert [f.name for f in fig.frames] == ["0", "2"]
    assert [s.label for s in fig.layout.sliders[0].steps] == ["0", "2"]

    def drawn(frame: go.Frame) -> dict[str, list[float]]:
        """Edge trace name -> its x coordinates, for the traces that have any."""
        out = {}
        for k, trace in enumerate(frame.data[:n_edge_traces]):
            if trace.x is not None and len(trace.x):
                out[fig.data[k].name + f" {fig.data[k].line.width}"] = list(trace.x)
        return out

    first, last = drawn(fig.frames[0]), drawn(fig.frames[1])
    assert list(first) == ["partner search 1.0"]  # trust 0.5: the thinnest line
    assert list(last) == ["relationship 4.5"]  # trust 0.9: the widest
    assert last["relationship 4.5"][:2] == [pos[0][0], pos[1][0]] and math.isnan(last["relationship 4.5"][2])
    firm_sizes = fig.frames[1].data[n_edge_traces].marker.size
    assert firm_sizes[2] == 0 and firm_sizes[0] > 0  # C left: hidden, positions unchanged
    assert fig.frames[1].data[-2].marker.color[0] == 0.9  # digital maturity of A at month 2
    assert [t.visible for t in fig.data[n_edge_traces:]] == [True, False, False, False, False]
    assert list(fig.data[n_edge_traces].text) == ["A", "B", "C"]


def test_network_positions_group_niches_and_stay_put() -> None:
    nodes, _ = history()
    pos = figures.layout_positions(nodes)
    assert set(pos) == {0, 1, 2}
    assert math.dist(pos[1], pos[2]) < math.dist(pos[0], pos[1])  # B and C share niche y
    assert pos == figures.layout_positions(nodes.iloc[::-1])


def test_network_thins_frames_to_its_budget() -> None:
    rng = np.random.default_rng(1)
    steps, firms = 120, 500
    nodes = pd.DataFrame(
        {
            "step": np.repeat(np.arange(steps), firms),
            "firm": np.tile(np.arange(firms), steps),
            "name": "f",
            "role": "producer",
            "member": False,
            "niche": np.tile(np.arange(firms) % 50, steps).astype(str),
            "capital": 1.0,
            "digital": 0.5,
            "trust_received": 0.5,
        }
    )
    edges = pd.DataFrame(
        {
            "step": np.repeat(np.arange(steps), 800),
            "cooperation": 0,
            "a": rng.integers(0, firms, steps * 800),
            "b": rng.integers(0, firms, steps * 800),
            "phase": "relationship",
            "trust": 0.7,
        }
    )
    fig = figures.network(nodes, edges, budget=300_000)
    assert 2 <= len(fig.frames) < 60
    assert fig.frames[0].name == "0" and fig.frames[-1].name == "119"  # first and last month kept
    assert isinstance(fig.data[0], go.Scattergl)  # WebGL above 300 firms


# -- flows, distributions, focal firms, sweeps ----------------------------------


def test_phase_flows_count_cooperations_by_hand() -> None:
    base = {
        "scenario": "big",
        "run": 0,
        "months_partner_search": 1,
        "months_relationship": 0,
        "evaluations": 0,
        "partner_id": pd.NA,
        "reason": pd.NA,
    }
    log = pd.DataFrame(
        [
            {**base, "outcome": "no_partner", "reason": "no suitable partner agreed"},
            {**base, "outcome": "no_partner", "reason": "no suitable partner agreed"},
            {
                **base,
                "partner_id": 3,
                "months_relationship": 12,
                "evaluations": 1,
                "outcome": "exit",
                "reason": "trust fell below the threshold: 0.31",
            },
            {**base, "partner_id": 4, "months_relationship": 30, "evaluations": 2, "outcome": "continue"},
        ]
    )
    sankey = figures.phase_flows(log).data[0]
    names = list(sankey.node.label)
    links = {
        (names[s], names[t]): v
        for s, t, v in zip(sankey.link.source, sankey.link.target, sankey.link.value, strict=True)
    }
    assert links == {
        ("needs assessed", "partner search"): 4,
        ("partner search", "agreement (structure)"): 2,
        ("agreement (structure)", "relationship"): 2,
        ("relationship", "evaluation"): 2,
        ("partner search", "no partner found"): 2,
        ("evaluation", "exit: trust fell below the threshold"): 1,
        ("evaluation", "continued, still running"): 1,
    }


def test_phase_flows_are_per_run() -> None:
    log = pd.DataFrame(
        {
            "scenario": ["a", "a"],
            "run": [0, 1],
            "months_partner_search": [1, 1],
            "months_relationship": [0, 0],
            "evaluations": [0, 0],
            "partner_id": pd.array([pd.NA, pd.NA], dtype="Int64"),
            "outcome": ["no_partner"] * 2,
            "reason": [pd.NA] * 2,
        }
    )
    assert set(figures.phase_flows(log).data[0].link.value) == {1.0}  # two runs, one each


def test_distribution_shows_shares_per_scenario() -> None:
    values = pd.DataFrame({"scenario": ["a"] * 4 + ["b"] * 2, "trust": [0.1, 0.2, 0.2, 0.9, 0.5, 0.5]})
    fig = figures.distribution(values, "trust", "Trust", "trust (0 to 1)", bins=4)
    assert [t.name for t in fig.data] == ["a (n=4)", "b (n=2)"]
    for trace in fig.data:
        assert sum(trace.y) == pytest.approx(1.0)
    assert max(fig.data[1].y) == 1.0  # both of b's values in one bin


def test_focal_firms_bars_carry_the_summary() -> None:
    summary = pd.DataFrame(
        {
            "firm": ["GEFERTEC", "GEFERTEC", "PGS", "PGS"] * 3,
            "scenario": ["big", "market"] * 6,
            "measure": ["profit"] * 4 + ["digital_maturity"] * 4 + ["trust_received"] * 4,
            "mean": [50.0, 40.0, 30.0, 20.0, 0.7, 0.5, 0.6, 0.4, 0.8, 0.7, 0.8, 0.6],
            "ci_low": [45.0, 35.0, 25.0, 15.0] + [np.nan] * 8,
            "ci_high": [55.0, 45.0, 35.0, 25.0] + [np.nan] * 8,
        }
    )
    fig = figures.focal_firms(summary)
    profit_big = fig.data[0]
    assert list(profit_big.x) == ["GEFERTEC", "PGS"] and list(profit_big.y) == [50.0, 30.0]
    assert list(profit_big.error_y.array) == [5.0, 5.0]
    assert fig.data[0].marker.color == fig.data[2].marker.color  # big has one colour in every panel


def test_sweep_figures_carry_the_outcomes() -> None:
    outcomes = pd.DataFrame(
        {"bias": [0.0, 0.0, 1.0, 1.0], "cost": [1, 2, 1, 2], "fit": [0.8, 0.6, 0.4, 0.2], "point": [0, 1, 2, 3]}
    )
    effect = figures.parameter_effect(outcomes, "bias", "fit", "Fit", "share")
    assert list(effect.data[0].y) == [0.8, 0.6, 0.4, 0.2]
    assert list(effect.data[1].y) == [pytest.approx(0.7), pytest.approx(0.3)]
    heat = figures.parameter_heatmap(outcomes, "bias", "cost", "fit", "Fit")
    assert heat.data[0].z.tolist() == [[0.8, 0.4], [0.6, 0.2]]
    table = pd.DataFrame(
        {
            "outcome": "fit",
            "parameter": ["bias", "cost"],
            "S1": [0.7, 0.1],
            "S1_conf": 0.05,
            "ST": [0.8, 0.1],
            "ST_conf": 0.05,
        }
    )
    bars = figures.sensitivity_bars(table)
    assert [t.name for t in bars.data] == ["first order (alone)", "total (with interactions)"]
    assert list(bars.data[1].y) == [0.8, 0.1]


# -- names, defaults and clear errors for notebooks ----------------------------


def test_network_names_only_the_firms_present_in_the_month_shown() -> None:
    nodes, edges = history()
    # D enters in month 4, when A, B and C are gone.
    late = pd.concat([nodes, nodes[nodes["step"] == 2].head(1).assign(step=4, firm=3, name="D")], ignore_index=True)
    fig = figures.network(late, edges)
    n_edge_traces = len(figures.PHASE_COLORS) * len(figures.TRUST_WIDTHS)
    by_month = {f.name: list(f.data[n_edge_traces].text) for f in fig.frames}
    assert by_month == {"0": ["A", "B", "C", ""], "2": ["A", "B", "", ""], "4": ["", "", "", "D"]}
    assert list(fig.data[n_edge_traces].text) == ["A", "B", "C", ""]  # the first month: D has not entered yet


def test_figures_default_to_the_measures_plain_name_and_unit() -> None:
    m = measures().rename(columns={"profit": "producer_profit"})
    fig = figures.time_series(m, "producer_profit")
    assert fig.layout.title.text == "Producers' profit" and fig.layout.yaxis.title.text == "k EUR per month"
    dist = figures.distribution(m, "producer_profit")
    assert dist.layout.xaxis.title.text == "k EUR per month"
    assert figures.measure_label("market_integrity") == ("market integrity", "")
    from sim.observe.measures import MEASURES

    assert set(MEASURES) <= set(figures.MEASURE_LABELS)  # every model measure has a plain name


@pytest.mark.parametrize(
    "draw",
    [
        lambda m: figures.time_series(m, "no_such_column"),
        lambda m: figures.distribution(m, "no_such_column"),
        lambda m: figures.band_table(m, "no_such_column"),
        lambda m: figures.parameter_effect(m, "step", "no_such_column"),
        lambda m: figures.parameter_effect(m, "no_such_column", "profit"),
        lambda m: figures.parameter_heatmap(m, "step", "run", "no_such_column"),
    ],
)
def test_an_unknown_column_is_an_error_that_lists_the_columns(draw) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=r"'no_such_column' is not a column.*'profit'"):
        draw(measures())


def test_the_reference_line_its_band_and_the_crossing_are_drawn() -> None:
    outcomes = pd.DataFrame({"x": [0.0, 0.0, 1.0, 1.0, 2.0, 2.0], "y": [1.0, 1.0, 3.0, 3.0, 5.0, 5.0]})
    ref = {"label": "big", "mean": 4.0, "ci_low": 3.5, "ci_high": 4.5}
    fig = figures.parameter_effect(outcomes, "x", "y", reference=ref)
    line = next(t for t in fig.data if t.name == "big (reference)")
    assert list(line.x) == [0.0, 2.0] and list(line.y) == [4.0, 4.0]
    band = next(t for t in fig.data if t.fill == "toself")
    assert sorted(set(band.y)) == [3.5, 4.5]
    assert [s.x0 for s in fig.layout.shapes] == [1.5]  # means 1, 3, 5 reach 4 half-way from x = 1 to x = 2
    assert "reaches big at x ≈ 1.5" in fig.layout.annotations[0].text
    never = figures.parameter_effect(outcomes, "x", "y", reference={**ref, "mean": 9.0})
    assert len(never.layout.shapes) == 0


def test_band_table_holds_what_the_time_series_draws() -> None:
    table = figures.band_table(measures(), "profit")
    fig = figures.time_series(measures(), "profit")
    big = table[table["scenario"] == "big"]
    assert list(big["mean"]) == list(fig.data[1].y) == [11.0, 12.0, 13.0]
    assert list(big["runs"]) == [3, 3, 3] and (big["ci_low"] < big["mean"]).all()


def test_model_network_draws_one_model_as_it_stands() -> None:
    from sim import CooperationModel, load_scenario

    model = CooperationModel(load_scenario("classroom"), seed=3)
    for _ in range(6):
        model.step()
    fig = figures.model_network(model)
    n_edge_traces = len(figures.PHASE_COLORS) * len(figures.TRUST_WIDTHS)
    names = [n for n in fig.data[n_edge_traces].text if n]
    assert len(names) == len(model.firms.alive_idx) and len(fig.frames) == 1
    drawn = sum(len(t.x) // 3 for t in fig.data[:n_edge_traces] if t.x is not None)
    assert drawn == len(model.kreislauf.table.live())  # one segment per live cooperation
