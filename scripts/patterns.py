"""Patterns of a scenario over seeded runs: how cooperations end, and the degree distribution at the end.

    python scripts/patterns.py --seeds 10 open_market
    python scripts/patterns.py --seeds 10 open_market kreislauf__capacity_per_experience=1
    python scripts/patterns.py --seeds 10 open_market kreislauf__capacity_growth="'linear'" kreislauf__capacity_per_experience=0.333

Prints the exits after evaluation by reason (of all cooperations that found
a partner) and the mean, maximum and skewness of the firms' degrees in the
final network, pooled over the runs.
"""

from __future__ import annotations

import argparse
import ast
from collections import Counter

import numpy as np
from scipy import stats

from sim import CooperationModel


def main() -> None:
    """Run the scenario on seeds 1..N and print its exit reasons and degree distribution."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("overrides", nargs="*", help="key=value, key paths with __ between levels")
    args = parser.parse_args()
    overrides = {k: ast.literal_eval(v) for k, v in (o.split("=", 1) for o in args.overrides)}
    reasons: Counter[str] = Counter()
    partnered = 0
    degrees: list[int] = []
    for seed in range(1, args.seeds + 1):
        model = CooperationModel(args.scenario, seed=seed, **overrides)
        while model.running:
            model.step()
        log = model.cooperation_log()
        partnered += int(log["partner"].notna().sum())
        reasons.update(log.loc[log["outcome"] == "exit", "reason"])
        degrees += [d for _, d in model.graph.degree()]
    print(f"{args.scenario}, seeds 1-{args.seeds}: {partnered} cooperations found a partner; exits after evaluation:")
    for reason, count in reasons.most_common():
        print(f"  {count:6d}  {reason}")
    deg = np.array(degrees)
    print(f"degrees at the end: mean {deg.mean():.2f}, max {deg.max()}, skew {stats.skew(deg):+.2f}")


if __name__ == "__main__":
    main()
