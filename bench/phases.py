"""Where a month's time goes: each part of ``CooperationModel.step()`` timed on its own, for a workload of ``bench/run.py``.

Usage, from the repository root::

    python bench/phases.py big                       # the B.I.G., 120 months, 10 seeds
    python bench/phases.py market_10k --seeds 1
    python bench/phases.py market_1k --steps 36 --record mean_trust,producer_profit

Each part of the month (the scheduled events, the five phases of the
Kreislauf, the group's review, trade, firms leaving and entering, forgetting,
the community's climate, collecting the measures) is timed with
``time.perf_counter`` around the call the model makes, on the model's own
objects: nothing of the month is rewritten here, so the parts add up to the
month as ``step()`` runs it (the timers add about a microsecond a call).
The runs are built before the clock starts. A table goes to stderr: per part,
microseconds a month and its share of the month; the last line of stdout is
one JSON object ``{"workload", "seeds", "steps", "month_us", "parts": {name:
us a month}, "firm_steps_per_second"}``.

Use it to decide what to make faster; measure the result with
``bench/run.py``, which times whole runs against a reference.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
import time
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("sim") is None:
    sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from run import FULL_WORKLOADS, Workload  # noqa: E402  (bench/run.py, beside this file)

import sim.group  # noqa: E402
from sim import CooperationModel, load_scenario  # noqa: E402

#: The parts of a month, in the order ``CooperationModel.step()`` calls them: (name, owner, method).
PARTS: tuple[tuple[str, str, str], ...] = (
    ("events", "schedule", "apply"),
    ("1 needs assessment", "kreislauf", "assess_needs"),
    ("2 partner search", "kreislauf", "search_partners"),
    ("3 structure", "kreislauf", "build_structures"),
    ("4 relationship", "kreislauf", "run_relationships"),
    ("5 evaluation", "kreislauf", "evaluate"),
    ("group review", "group", "review_members"),
    ("trade", "market", "trade"),
    ("insolvency", "market", "insolvent"),
    ("firms leaving", "demography", "remove"),
    ("entry draw", "market", "entrants"),
    ("firms entering", "demography", "enter"),
    ("forgetting", "ledger", "forget"),
    ("climate", "group", "update_climate"),
    ("measures", "model", "_collect"),
)


def _timed(spent: Counter[str], name: str, call: Callable[..., Any]) -> Callable[..., Any]:
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return call(*args, **kwargs)
        finally:
            spent[name] += time.perf_counter() - start

    return timed


def _owner(model: CooperationModel, owner: str) -> Any:
    return {
        "schedule": model.schedule,
        "kreislauf": model.kreislauf,
        "market": model.market,
        "demography": model.demography,
        "ledger": model.world.ledger,
        "model": model,
    }[owner]


def measure(
    workload: Workload, seeds: int, steps: int | None = None, record: list[str] | None = None
) -> dict[str, Any]:
    """Run ``workload`` for ``seeds`` seeds (1, 2, ...) and time each part of every month.

    Returns the JSON object the module describes.
    """
    scenario = load_scenario(workload.scenario)
    if workload.n_firms is not None:
        scenario = scenario.scaled_to(workload.n_firms)
    steps = steps or workload.steps
    scenario = scenario.model_copy(update={"steps": steps})
    spent: Counter[str] = Counter()
    group_functions = {name: getattr(sim.group, name) for _, owner, name in PARTS if owner == "group"}
    try:
        for name, function in group_functions.items():  # the model calls them through the module
            part = next(part for part, owner, method in PARTS if method == name)
            setattr(sim.group, name, _timed(spent, part, function))
        total, firm_steps = 0.0, 0
        for seed in range(1, seeds + 1):
            model = CooperationModel(scenario, seed=seed, record=record)
            for part, owner, method in PARTS:
                if owner != "group":
                    target = _owner(model, owner)
                    setattr(target, method, _timed(spent, part, getattr(target, method)))
            start = time.perf_counter()
            while model.running:
                model.step()
                firm_steps += model.firm_count
            total += time.perf_counter() - start
    finally:
        for name, function in group_functions.items():
            setattr(sim.group, name, function)
    months = seeds * steps
    return {
        "workload": workload.name,
        "seeds": seeds,
        "steps": steps,
        "month_us": total / months * 1e6,
        "parts": {part: spent[part] / months * 1e6 for part, _, _ in PARTS},
        "firm_steps_per_second": firm_steps / total,
    }


def _print_table(result: dict[str, Any]) -> None:
    month = result["month_us"]
    print(
        f"{result['workload']}: {month:,.0f} us a month ({result['seeds']} seeds x {result['steps']} months), "
        f"{result['firm_steps_per_second']:,.0f} firm-steps/s",
        file=sys.stderr,
    )
    for part, us in sorted(result["parts"].items(), key=lambda item: -item[1]):
        print(f"  {part:20s} {us:12,.1f} us  {100 * us / month:5.1f}%", file=sys.stderr)
    rest = month - sum(result["parts"].values())
    print(f"  {'rest of step()':20s} {rest:12,.1f} us  {100 * rest / month:5.1f}%", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, measure, print the table and the JSON line."""
    names = [w.name for w in FULL_WORKLOADS]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workload", choices=names, help="a workload of bench/run.py")
    parser.add_argument("--seeds", type=int, default=None, help="runs, seeds 1..N (10 for big, else 1)")
    parser.add_argument("--steps", type=int, default=None, help="months a run (the workload's, 120)")
    parser.add_argument("--record", default=None, help="measures to record, comma-separated (all if not given)")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    if args.steps is not None and args.steps < 1:
        parser.error(f"--steps must be at least 1, got {args.steps}")
    workload = next(w for w in FULL_WORKLOADS if w.name == args.workload)
    seeds = args.seeds or (10 if workload.n_firms is None else 1)
    record = args.record.split(",") if args.record else None
    try:
        result = measure(workload, seeds, args.steps, record)
    except ValueError as exc:  # an unknown measure in --record
        parser.error(str(exc))
    _print_table(result)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
