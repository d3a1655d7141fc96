"""Short plain-text tables for the terminal: a comparison, a sweep, sensitivity indices.

The full tables are in the results folder; these show what a reader needs
first, with 95% intervals in brackets.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import pandas as pd

from analysis.experiments import CHANGE_SUFFIX, Experiment
from analysis.statistics import NEAR_ZERO_SD, PAIRED_D

__all__ = ["SAME_FIRM_HEADLINE", "comparison_table", "decimals", "number", "plural", "sensitivity_table", "sweep_table"]

#: Significant figures of the largest value of a measure; every value of that measure gets as many decimals.
SIGNIFICANT = 3

#: The same-firm measures a comparison shows first (means per firm over the firms in every scenario).
SAME_FIRM_HEADLINE = {
    "same_firm_profit": "profit / month, k EUR",
    "same_firm_revenue": "revenue / month, k EUR",
    "same_firm_overhead_paid": "overhead paid / month, k EUR",
    "same_firm_trust_received": "trust received from partners",
    "same_firm_cooperations": "partners (live cooperations)",
    "same_firm_digital_maturity": "digital maturity",
}

#: The population measures a comparison shows next, with their plain-language names.
HEADLINE = {
    "producer_profit": "producer profit / month, k EUR",
    "producer_overhead": "producer overhead / month, k EUR",
    "mean_trust": "trust between partners",
    "group_trust": "trust within the group",
    "defection_rate": "broken agreements (share of months)",
    "continued": "evaluations continued / month",
    "exited": "exits after evaluation / month",
    "partner_fit": "partner fit (gap covered)",
    "digital_maturity": "digital maturity of producers",
    "digital_maturity_small": "digital maturity of small producers",
    "capital_gini": "capital Gini",
    "firms": "firms in the market",
}


def plural(n: int, word: str) -> str:
    """``n`` and the word, in the plural unless ``n`` is 1.

    Parameters
    ----------
    n : int
        How many.
    word : str
        The word in the singular.

    Returns
    -------
    str

    Examples
    --------
    >>> plural(1, "replicate"), plural(2, "replicate")
    ('1 replicate', '2 replicates')
    """
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def decimals(values: Iterable[float], significant: int = SIGNIFICANT) -> int:
    """Decimals that give the largest of ``values`` ``significant`` significant figures (at least 0).

    One measure's values (its means and interval ends in every scenario) all
    get these decimals, so a column and a cell never switch precision.

    Parameters
    ----------
    values : iterable of float
        One measure's numbers; NaN and infinities are ignored.
    significant : int
        Significant figures of the largest.

    Returns
    -------
    int

    Examples
    --------
    >>> decimals([10.1, 9.862, 10.3]), decimals([0.7251, 0.69]), decimals([12345.6]), decimals([float("nan")])
    (1, 3, 0, 3)
    """
    finite = [abs(float(v)) for v in values if v is not None and math.isfinite(float(v))]
    largest = max(finite, default=0.0)
    if largest == 0:
        return significant
    return max(0, significant - 1 - math.floor(math.log10(largest)))


def number(value: float, digits: int | None = None) -> str:
    """A number with ``digits`` decimals (default: three significant figures of its own size).

    Parameters
    ----------
    value : float
        The number (NaN or None gives "n/a").
    digits : int, optional
        Decimals (see :func:`decimals`).

    Returns
    -------
    str

    Examples
    --------
    >>> number(0.12345), number(38.5186), number(12345.6), number(float("nan")), number(9.862, 1)
    ('0.123', '38.5', '12,346', 'n/a', '9.9')
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    digits = decimals([value]) if digits is None else digits
    return f"{value:,.{digits}f}"


def _value(value: object) -> str:
    """A parameter's value: a number as :func:`number` writes it, anything else (text, true/false) as it is."""
    if isinstance(value, bool | str):
        return str(value)
    try:
        return number(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)


def _interval(mean: float, low: float, high: float, sign: bool = False, digits: int | None = None) -> str:
    digits = decimals([mean, low, high]) if digits is None else digits
    head = ("+" if sign and mean > 0 else "") + number(mean, digits)
    if not (math.isfinite(low) and math.isfinite(high)):
        return head
    return f"{head} [{number(low, digits)}, {number(high, digits)}]"


def comparison_table(experiment: Experiment) -> str:
    """The same firms' measures, then the populations', per scenario, with each paired difference from the first.

    The first block averages over the firms present in every compared
    scenario (matched by name: the six B.I.G. producers when comparing
    ``big`` with ``open_market``); the second covers each scenario's whole
    population, whose composition it names. A stock that differs already at
    month 0 is followed by its change since month 0. One line explains the
    paired Cohen's d and the mark of a d computed from near-zero variance.

    Parameters
    ----------
    experiment : Experiment
        A comparison's results.

    Returns
    -------
    str
    """
    summary, diffs = experiment.summary, experiment.differences
    if summary.empty:
        return "no finished runs"
    labels = list(dict.fromkeys(summary["scenario"]))
    first = labels[0]
    n = int(summary["n"].max())
    lines = [
        f"{experiment.folder.manifest['name']}: {plural(n, 'replicate')} per scenario on paired seeds; "
        f"a run's outcome is its mean over the last {experiment.window} months; [95% interval]",
        f"{PAIRED_D}; * = that sd is near zero (below {NEAR_ZERO_SD:.0%} of the level): d is large whatever the gap",
        "",
    ]
    header = ["measure", *labels, *[f"{first} - {b}" for b in labels[1:]], *["d" for _ in labels[1:]]]
    recorded = set(summary["measure"])
    blocks: list[tuple[str, list[list[str]]]] = []
    if experiment.common_firms:
        firms = ", ".join(experiment.common_firms)
        title = f"same firms (in every scenario, matched by name), mean per firm: {firms}"
        blocks.append((title, _rows(summary, diffs, labels, _with_changes(SAME_FIRM_HEADLINE, recorded))))
    compositions = "; ".join(f"{s}: {experiment.compositions.get(s, '')}" for s in labels)
    blocks.append((f"population: {compositions}", _rows(summary, diffs, labels, _with_changes(HEADLINE, recorded))))
    grid = _grid(header, [row for _, block in blocks for row in block])
    lines.append(grid[0])
    at = 1
    for k, (title, block) in enumerate(blocks):
        lines += [*([""] if k else []), title, *grid[at : at + len(block)]]
        at += len(block)
    focal = experiment.focal_summary
    if len(focal):
        lines += ["", "focal firms: profit / month, k EUR"]
        profit = focal[focal["measure"] == "profit"]
        digits = decimals(profit[["mean", "ci_low", "ci_high"]].to_numpy().ravel())
        frows = []
        for firm, group in profit.groupby("firm", sort=False):
            g = group.set_index("scenario")
            frows.append(
                [
                    firm,
                    *[_ci(g.loc[s], digits=digits) if s in g.index else "-" for s in labels],
                ]
            )
        lines += _grid(["firm", *labels], frows)
    if experiment.failed:
        lines += ["", f"{experiment.failed} run(s) failed and are left out (see runs.csv)"]
    return "\n".join(lines)


def _with_changes(names: dict[str, str], recorded: set[str]) -> dict[str, str]:
    """The measures and their names, each followed by its change since month 0 where that is recorded."""
    out = {}
    for measure, name in names.items():
        out[measure] = name
        if measure + CHANGE_SUFFIX in recorded:
            out[measure + CHANGE_SUFFIX] = f"{name}: change since month 0"
    return out


def _rows(summary: pd.DataFrame, diffs: pd.DataFrame, labels: list[str], names: dict[str, str]) -> list[list[str]]:
    """A comparison table's rows: each measure's mean per scenario, and its paired difference and d from the first."""
    first, rows = labels[0], []
    for measure, name in names.items():
        part = summary[summary["measure"] == measure].set_index("scenario")
        if part.empty or part["n"].max() == 0:
            continue
        row = [name]
        digits = decimals(part[["mean", "ci_low", "ci_high"]].to_numpy().ravel())
        row += [_ci(part.loc[s], digits=digits) if s in part.index else "" for s in labels]
        pairs = diffs[(diffs["measure"] == measure) & (diffs["a"] == first)].set_index("b")
        row += [_interval(*_triple(pairs, b, "difference"), sign=True, digits=digits) for b in labels[1:]]
        row += [_d(pairs.loc[b]) for b in labels[1:]]
        rows.append(row)
    return rows


def _d(row: pd.Series) -> str:
    """A paired Cohen's d with two decimals, marked ``*`` when it comes from near-zero variance."""
    return number(row["cohens_d"], 2) + ("*" if bool(row.get("near_zero_sd", False)) else "")


def sweep_table(experiment: Experiment, measures: int = 3) -> str:
    """Each point's parameters and the mean (95% interval) of its first recorded measures.

    Parameters
    ----------
    experiment : Experiment
        A sweep's results.
    measures : int
        How many of the recorded measures to show (the table says how many
        more there are, and where they are).

    Returns
    -------
    str
        The table; its last row is the ``compare_to`` scenario's, when the
        sweep has one.
    """
    summary = experiment.summary
    if summary.empty:
        return "no finished runs"
    params = experiment.folder.parameter_names
    recorded = list(dict.fromkeys(summary["measure"]))
    shown = recorded[:measures]
    points = summary["point"].drop_duplicates().tolist()
    lines = [
        f"{experiment.folder.manifest['name']}: {plural(len(points), 'point')} x "
        f"{plural(int(experiment.folder.manifest['replicates']), 'replicate')}; "
        f"a run's outcome is its mean over the last {experiment.window} months; [95% interval]",
        "",
    ]
    if len(points) > 40:
        lines.append(f"(first 40 of {len(points)} points; all are in summary.csv)")
        points = points[:40]
    table = summary.set_index(["point", "measure"])
    reference = experiment.reference.summary if experiment.reference is not None else pd.DataFrame()
    ref = reference.set_index("measure") if len(reference) else pd.DataFrame()
    digits = {
        m: decimals(
            [
                *summary.loc[summary["measure"] == m, ["mean", "ci_low", "ci_high"]].to_numpy().ravel(),
                *(ref.loc[[m], ["mean", "ci_low", "ci_high"]].to_numpy().ravel() if m in ref.index else []),
            ]
        )
        for m in shown
    }
    rows = []
    for p in points:
        first = table.loc[(p, shown[0])]
        row = [str(p), *[_value(first[name]) for name in params], str(int(first["n"]))]
        row += [_ci(table.loc[(p, m)], digits=digits[m]) for m in shown]
        rows.append(row)
    if len(ref):
        label = str(reference["scenario"].iloc[0])
        row = [f"{label} (compare_to)", *["" for _ in params], str(int(ref["n"].max()))]
        row += [_ci(ref.loc[m], digits=digits[m]) if m in ref.index else "" for m in shown]
        rows.append(row)
    lines += _grid(["point", *params, "n", *shown], rows)
    if len(recorded) > len(shown):
        rest = recorded[len(shown) :]
        lines += [
            "",
            f"{plural(len(rest), 'more measure')} recorded ({', '.join(rest[:8])}{', ...' if len(rest) > 8 else ''}): "
            "all are in summary.csv and in the report",
        ]
    if experiment.failed:
        lines += ["", f"{experiment.failed} run(s) failed and are left out (see runs.csv)"]
    return "\n".join(lines)


def sensitivity_table(table: pd.DataFrame) -> str:
    """Sobol or Morris indices with their 95% half-widths.

    Parameters
    ----------
    table : DataFrame
        :func:`analysis.sensitivity.sensitivity`'s table.

    Returns
    -------
    str
    """
    sobol = "ST" in table.columns
    header = ["outcome", "parameter", *(["S1", "ST"] if sobol else ["mu*", "sigma"])]
    rows = []
    for _, r in table.iterrows():
        if sobol:
            rows.append([r["outcome"], r["parameter"], _pm(r["S1"], r["S1_conf"]), _pm(r["ST"], r["ST_conf"])])
        else:
            rows.append([r["outcome"], r["parameter"], _pm(r["mu_star"], r["mu_star_conf"]), number(r["sigma"])])
    note = (
        "Sobol indices: S1 = share of variance due to the parameter alone, ST = including its interactions"
        if sobol
        else "Morris: mu* = mean absolute elementary effect (influence), sigma = their spread (interactions)"
    )
    return "\n".join([note + "; +- is the 95% half-width", "", *_grid(header, rows)])


def _ci(row: pd.Series, digits: int) -> str:
    """A summary row's mean and its 95% interval, with ``digits`` decimals."""
    return _interval(float(row["mean"]), float(row["ci_low"]), float(row["ci_high"]), digits=digits)


def _triple(table: pd.DataFrame, row: str, first: str) -> tuple[float, float, float]:
    values = table.loc[row, [first, "ci_low", "ci_high"]]
    return float(values.iloc[0]), float(values.iloc[1]), float(values.iloc[2])


def _pm(value: float, half: float) -> str:
    digits = decimals([value, half])
    return f"{number(value, digits)} +- {number(half, digits)}"


def _grid(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    out = [
        "  ".join(
            str(h).ljust(w) if i == 0 else str(h).rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    for row in rows:
        cells = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        out.append("  ".join(cells))
    return out
