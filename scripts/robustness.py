"""Robustness bands of a paired sweep: where the same-firm difference is positive, and what decides it.

    kreislauf sweep robustness --out results/robustness
    python scripts/robustness.py results/robustness
    python scripts/robustness.py results/robustness --outcome same_firm_trust_received_difference

Prints, for the outcome (default ``same_firm_profit_difference``: the six
B.I.G. producers' mean profit in the group minus in the open market over the
final year, paired seeds), its mean and spread over the swept space, the
share of points where it is positive (and where its interval over the
replicates lies wholly above or below 0), the mean difference in the lower
and upper half of each parameter's range, and the Sobol indices with their
95% half-widths.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from analysis.sensitivity import paired_outcomes, paired_share, sensitivity


def main() -> None:
    """Print the share of the space with a positive paired difference, and its Sobol indices."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("results", type=Path, help="results folder of a sweep with a `paired` scenario")
    parser.add_argument("--outcome", default="same_firm_profit_difference")
    args = parser.parse_args()
    manifest = json.loads((args.results / "manifest.json").read_text())
    runs = paired_outcomes(args.results)
    points = manifest["points"]
    names = list(manifest["design"]["names"])
    bounds = manifest["design"]["problem"]["bounds"]
    values = np.array([p["sample"] for p in points], dtype=float)
    per_point = runs.groupby("point")[args.outcome].mean().reindex(range(len(points)))
    share = paired_share(runs, args.outcome)
    y = per_point.to_numpy()
    print(f"{args.results}: {len(points)} points x {manifest['replicates']} paired replicates, outcome {args.outcome}")
    print(
        f"mean over the space {np.nanmean(y):+.3f} (sd over points {np.nanstd(y):.3f}; "
        f"5-95% of points {np.nanpercentile(y, 5):+.3f} to {np.nanpercentile(y, 95):+.3f})"
    )
    print(
        f"positive at {share['positive']:.1%} of points; interval wholly above 0 at {share['surely_positive']:.1%}, "
        f"wholly below at {share['surely_negative']:.1%}"
    )
    print()
    print(f"{'parameter':>20} {'range':>14} {'lower half':>11} {'upper half':>11}")
    for j, name in enumerate(names):
        low, high = bounds[j]
        upper = values[:, j] > (low + high) / 2
        print(f"{name:>20} {f'[{low:g}, {high:g}]':>14} {np.nanmean(y[~upper]):+11.3f} {np.nanmean(y[upper]):+11.3f}")
    print()
    table = sensitivity(args.results, [args.outcome]).sort_values("ST", ascending=False)
    print(f"{'parameter':>20} {'S1':>16} {'ST':>16}")
    for row in table.itertuples():
        print(f"{row.parameter:>20} {row.S1:+8.3f} ± {row.S1_conf:.3f} {row.ST:+8.3f} ± {row.ST_conf:.3f}")


if __name__ == "__main__":
    main()
