"""The validation table: patterns of the alliance literature not used in calibration, model against literature.

    python scripts/validate.py                          # open_market, seeds 1-10
    python scripts/validate.py open_market --seeds 20 --markdown
    python scripts/validate.py open_market --seeds 10 kreislauf__familiarity_bias=0.9

Runs the scenario on seeds 1..N, measures each pattern of
``analysis.validation.PATTERNS`` in every run, and prints per pattern its
source, what the literature reports, the model's mean over the seeds with a
95% interval, the effect size (the mean's distance from the pattern's null,
in standard deviations over seeds) and whether the interval lies on the
pattern's side of its threshold. Then the figures behind them. Nothing here
was used in calibration (docs/validation.md).
"""

from __future__ import annotations

import argparse
import ast
from typing import Any

import numpy as np
import pandas as pd

from analysis.statistics import mean_ci
from analysis.validation import PATTERNS, run_patterns
from sim import CooperationModel

#: Figures printed under the table: the numbers the patterns are made of.
DETAILS = [
    ("prior_rate_prior", "yearly rate of a new alliance, pairs with a prior tie"),
    ("prior_rate_new", "yearly rate of a new alliance, pairs without"),
    ("contract_contract_repeat", "contract degree of repeated alliances"),
    ("contract_contract_first", "contract degree of first alliances"),
    ("contract_repeat", "repeated alliances per run"),
    ("contract_first", "first alliances per run"),
    ("experience_rate_experienced", "yearly new alliances per firm, above the median experience"),
    ("experience_rate_less", "yearly new alliances per firm, at or below it"),
    ("window_density", "density, last five years' alliances"),
    ("window_clustering", "clustering, last five years' alliances"),
    ("window_clustering_er", "clustering of Erdos-Renyi graphs alike"),
    ("window_clustering_rewired", "clustering of degree-preserving rewirings"),
    ("window_sw_path_length", "mean path length, largest component"),
    ("window_sw_path_length_random", "mean path length of random graphs alike"),
    ("window_degree_mean", "partners per firm, last five years"),
    ("window_degree_max", "most partners of a firm, last five years"),
    ("window_degree_skewness", "skewness of partners per firm"),
    ("window_degree_top_share", "share of ties held by the top 10% of firms"),
    ("live_ratio_er", "live network at the end: clustering over Erdos-Renyi"),
    ("live_degree_mean", "live network at the end: partners per firm"),
    ("live_degree_max", "live network at the end: most partners of a firm"),
    ("live_degree_excess_skewness", "live network at the end: skewness minus a Poisson's"),
    ("live_degree_dispersion", "live network at the end: variance over mean of degrees"),
]


def measure(scenario: str, seeds: range, samples: int, overrides: dict[str, Any]) -> pd.DataFrame:
    """One row per seed: every statistic of :func:`analysis.validation.run_patterns`."""
    rows = []
    for seed in seeds:
        model = CooperationModel(scenario, seed=seed, **overrides)
        while model.running:
            model.step()
        n = model.firms.n
        stats = run_patterns(
            model.cooperation_log(), model.firms.entered[:n], model.firms.left[:n], int(model.steps), samples=samples
        )
        rows.append({"seed": seed, **stats})
    return pd.DataFrame(rows)


def table(runs: pd.DataFrame) -> pd.DataFrame:
    """One row per pattern: the model's mean, 95% interval, effect size and whether the pattern holds."""
    rows = []
    for p in PATTERNS:
        values = runs[p.statistic].to_numpy(dtype=float)
        e = mean_ci(values)
        d = (e.mean - p.null) / e.sd if e.sd and e.sd > 0 else np.nan
        rows.append(
            {
                "pattern": p.name,
                "source": p.source,
                "literature": p.literature,
                "measured as": p.meaning,
                "model": f"{e.mean:.3g} [{e.ci_low:.3g}, {e.ci_high:.3g}]",
                "effect d": f"{d:+.2f}",
                "criterion": f"{'>' if p.above else '<'} {p.threshold:g}",
                "holds": "yes" if p.holds(e.ci_low, e.ci_high) else "no",
            }
        )
    return pd.DataFrame(rows)


def markdown(frame: pd.DataFrame) -> str:
    """A frame as a Markdown table (``|`` in cells escaped)."""
    cells = [[str(v).replace("|", "\\|") for v in row] for row in frame.itertuples(index=False)]
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + " --- |" * len(frame.columns)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in cells])


def main() -> None:
    """Run the scenario over seeds and print the validation table and its figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", nargs="?", default="open_market")
    parser.add_argument("--seeds", type=int, default=10, help="seeds 1..N (default 10)")
    parser.add_argument("--samples", type=int, default=10, help="random graphs per null model (default 10)")
    parser.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    parser.add_argument("overrides", nargs="*", help="key=value, key paths with __ between levels")
    args = parser.parse_intermixed_args()  # options may come between the scenario and its overrides
    overrides = {k: ast.literal_eval(v) for k, v in (o.split("=", 1) for o in args.overrides)}
    runs = measure(args.scenario, range(1, args.seeds + 1), args.samples, overrides)
    result = table(runs)
    details = pd.DataFrame(
        [
            {"figure": text, "model": f"{e.mean:.3g} [{e.ci_low:.3g}, {e.ci_high:.3g}]"}
            for key, text in DETAILS
            for e in [mean_ci(runs[key].to_numpy(dtype=float))]
        ]
    )
    print(f"{args.scenario}, seeds 1-{args.seeds}, mean [95% interval] over seeds; d = (mean - null) / sd")
    if args.markdown:
        print(markdown(result))
        print()
        print(markdown(details))
    else:
        with pd.option_context("display.max_colwidth", 60, "display.width", 250):
            print(result[["pattern", "source", "model", "effect d", "criterion", "holds"]].to_string(index=False))
            print()
            print(details.to_string(index=False))


if __name__ == "__main__":
    main()
