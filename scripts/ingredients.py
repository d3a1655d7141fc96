"""The same-firm gap between the B.I.G. and the open market, and what each ingredient of the group explains.

The six producers exist in both scenarios; their profit and the trust their
partners place in them are compared over the final year on paired seeds.
Then each ingredient of the group is switched off in ``big`` one at a time
(the rest as they are) and the change of the same six producers' profit and
trust received is reported, with its share of the gap::

    python scripts/ingredients.py --seeds 20

One-at-a-time switching misses interactions (an ingredient may matter only
with another); the shares need not add up to 100%.
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from sim import CooperationModel
from sim.scenario import Event, OpenCompetitionEvent

PRODUCERS = ["GEFERTEC", "flying-parts", "Scansonic MI", "Metrolux", "PGS", "Lumics"]

#: Points off the campus for the ten firms of big.toml when the campus is switched off (spread over the region).
_DISPERSED = [
    [40, 60],
    [250, 30],
    [90, 270],
    [200, 200],
    [20, 180],
    [280, 120],
    [130, 20],
    [60, 120],
    [230, 280],
    [170, 90],
]

#: Each ingredient of the group, and the overrides (or events) that switch it off in big.toml.
INGREDIENTS: dict[str, dict[str, Any]] = {
    "shared services": {"group__shared_services": False},
    "campus": {
        "group__campus": False,
        **{f"firms__{k}__location": [float(x), float(y)] for k, (x, y) in enumerate(_DISPERSED)},
    },
    "pooled information": {"group__information_sharing": 0.0},
    "shared history": {"group__shared_history": 0.0},
    "formal service contracts": {"group__contract_degree": 0.0},
    "generalised trust (contagion)": {"group__contagion": 0.0},
    "member reviews": {"group__review_period": 0},
    "gossip": {"trust__gossip_weight": 0.0},
    "no competition (members paired into three shared niches from month 1)": {
        "_events": [
            OpenCompetitionEvent(kind="open_competition", step=1, firms=["Scansonic MI", "Metrolux"]),
            OpenCompetitionEvent(kind="open_competition", step=1, firms=["PGS", "Lumics"]),
            OpenCompetitionEvent(kind="open_competition", step=1, firms=["GEFERTEC", "flying-parts"]),
        ]
    },
}


def same_firm(scenario: str, seed: int, events: list[Event] | None = None, **overrides: Any) -> np.ndarray:
    """The six producers' mean profit and trust received over the final year of one run."""
    model = CooperationModel(scenario, seed=seed, **overrides)
    for event in events or []:
        model.schedule.add(event)
    while model.running:
        model.step()
    focal = model.datacollector.get_table_dataframe("focal_firms")
    final = focal[focal["firm"].isin(PRODUCERS) & (focal["step"] > model.scenario.steps - 12)]
    return np.array([final["profit"].mean(), final["trust_received"].mean()])


def main() -> None:
    """Print the same-firm gap and the change when each ingredient is switched off."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20, help="paired seeds (default 20)")
    seeds = range(1, parser.parse_args().seeds + 1)
    market = np.array([same_firm("open_market", s) for s in seeds])
    group = np.array([same_firm("big", s) for s in seeds])
    gap = group - market
    print(
        f"the six producers, final year, {len(seeds)} paired seeds: big {group[:, 0].mean():.1f}, "
        f"open_market {market[:, 0].mean():.1f} k EUR/month; gap {gap[:, 0].mean():.2f} (sd {gap[:, 0].std(ddof=1):.2f}); "
        f"trust received {group[:, 1].mean():.3f} against {market[:, 1].mean():.3f}"
    )
    print(
        "ingredient switched off in big | change of profit, k EUR/month (sd) | share of the gap | change of trust received"
    )
    for name, switch in INGREDIENTS.items():
        overrides = dict(switch)
        events = overrides.pop("_events", None)
        change = np.array([same_firm("big", s, events, **overrides) for s in seeds]) - group
        share = -change[:, 0].mean() / gap[:, 0].mean()
        print(
            f"{name} | {change[:, 0].mean():+.2f} ({change[:, 0].std(ddof=1):.2f}) | {share:+.0%} | {change[:, 1].mean():+.4f}"
        )


if __name__ == "__main__":
    main()
