"""The ``kreislauf`` command.

::

    kreislauf run SCENARIO [--seed N] [--steps N] [--out DIR]
    kreislauf validate FILE
    kreislauf scenarios [--reference]

Bad input (a missing file, a file that is not TOML, unknown keys, wrong types,
NaN, values out of range, absurd sizes, a folder that cannot be written) ends
with one line naming the file, the key, the value and what is allowed, and
exit code 2; never a traceback.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from analysis.runs import RunResult, run_scenario, write_run
from sim.scenario import MAX_STEPS, ScenarioError, builtin_scenarios, load_scenario, reference_markdown

__all__ = ["main"]

EXIT_BAD_INPUT = 2


class UsageError(Exception):
    """Bad command-line input: reported in one line with exit code 2."""


def _int_in(lo: int, hi: int, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be a whole number from {lo} to {hi}, not {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be from {lo} to {hi}, not {value}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``kreislauf`` command."""
    parser = argparse.ArgumentParser(
        prog="kreislauf",
        description="Trust and cooperation between firms: the cycle of trust, the B.I.G. and the open market.",
    )
    parser.add_argument("--version", action="version", version=f"kreislauf {sim.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run one scenario and write its results folder",
        description="Run one scenario and write its results folder.",
    )
    run.add_argument("scenario", help="built-in scenario name (see `kreislauf scenarios`) or a TOML file")
    run.add_argument("--seed", type=_int_in(0, 2**63 - 1, "--seed"), help="random seed (default: the scenario's)")
    run.add_argument(
        "--steps", type=_int_in(1, MAX_STEPS, "--steps"), help="months to simulate (default: the scenario's)"
    )
    run.add_argument("--out", type=Path, help="results folder (default: results/<scenario>-seed<seed>)")
    run.add_argument("--quiet", action="store_true", help="print no summary table")

    validate = sub.add_parser(
        "validate", help="check a scenario file", description="Check a scenario file against the schema."
    )
    validate.add_argument("file", help="scenario TOML file or built-in name")

    scenarios = sub.add_parser(
        "scenarios", help="list the built-in scenarios", description="List the built-in scenarios."
    )
    scenarios.add_argument(
        "--reference", action="store_true", help="print the scenario file reference (Markdown) instead"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kreislauf`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "validate":
            return _validate(args)
        return _scenarios(args.reference)
    except (ScenarioError, UsageError) as exc:
        print(f"kreislauf: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("kreislauf: interrupted; files already written are complete", file=sys.stderr)
        return 130


def _run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    seed = scenario.seed if args.seed is None else args.seed
    out = args.out if args.out is not None else Path("results") / f"{scenario.name}-seed{seed}"
    _check_writable(out)
    show = sys.stderr.isatty() and not args.quiet

    def progress(step: int, total: int) -> None:
        if show:
            print(f"\r{scenario.name}: month {step}/{total}", end="", file=sys.stderr, flush=True)

    if args.steps is not None:
        later = [e for e in scenario.events if e.step > args.steps]
        if later:
            steps = ", ".join(str(e.step) for e in later)
            print(
                f"kreislauf: note: --steps {args.steps} leaves out {len(later)} scheduled event(s), at month(s) {steps}",
                file=sys.stderr,
            )
    result = run_scenario(scenario, seed=seed, steps=args.steps, on_step=progress)
    if show:
        print(file=sys.stderr)
    try:
        write_run(result, out)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write results ({exc.strerror or exc})") from None
    if not args.quiet:
        print(summary_table(result))
    print(f"results written to {out}")
    return 0


def _check_writable(out: Path) -> None:
    """Fail before the run, not after it, when the results folder cannot be made."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: --out must be a folder, and this is a file")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"{out}: --out cannot be written ({exc.strerror or exc})") from None


def _validate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.file)
    group = f", group {scenario.group.name!r}" if scenario.group else ""
    print(
        f"{args.file}: valid scenario {scenario.name!r}: {scenario.initial_firm_count} firms at start{group}, {len(scenario.events)} events, {scenario.steps} steps"
    )
    return 0


def _scenarios(reference: bool) -> int:
    if reference:
        print(reference_markdown(), end="")
        return 0
    rows = []
    for name, path in builtin_scenarios().items():
        scenario = load_scenario(path)
        rows.append((name, f"{scenario.initial_firm_count} firms", scenario.summary()))
    width = max(len(r[0]) for r in rows)
    for name, firms, text in rows:
        print(f"{name:<{width}}  {firms:>9}  {text}")
    return 0


def summary_table(result: RunResult) -> str:
    """A short plain-text summary of a run: the world at the end, and the focal firms."""
    m, log = result.measures, result.cooperations
    last = m.iloc[-1]
    year = m.iloc[-12:] if len(m) > 12 else m
    partnered = log[log["partner_id"] >= 0] if len(log) else log
    lines = [
        f"{result.scenario.name} (seed {result.seed}, {len(m) - 1} months)",
        "",
        _kv(
            "firms at the end",
            f"{int(last['firms'])} ({int(m['entries'].sum())} entered, {int(m['exits'].sum())} left)",
        ),
        _kv("cooperations formed", f"{len(partnered)}"),
        _kv("evaluations: continued / exited", f"{int(m['continued'].sum())} / {int(m['exited'].sum())}"),
        _kv("searches without a partner", f"{int(m['no_partner'].sum())}"),
        _kv("mean trust between partners", _fmt(last["mean_trust"])),
        _kv("mean trust in the group", _fmt(last["group_trust"])),
        _kv("defection rate (last year)", _fmt(year["defection_rate"].mean())),
        _kv("producer profit / month (last year)", _fmt(year["producer_profit"].mean(), 1) + " k EUR"),
        _kv("producer overhead / month (last year)", _fmt(year["producer_overhead"].mean(), 1) + " k EUR"),
        _kv(
            "digital maturity: all / small",
            f"{_fmt(last['digital_maturity'])} / {_fmt(last['digital_maturity_small'])}",
        ),
    ]
    if len(log):
        exits = log[log["outcome"] == "exit"]["reason"].value_counts()
        for reason, count in exits.items():
            lines.append(_kv(f"  exit: {reason}", str(count)))
    focal = result.focal
    if len(focal):
        end = focal[focal["step"] == focal["step"].max()]
        lines += ["", f"{'focal firm':<14} {'capital':>10} {'profit/mo':>10} {'digital':>8} {'partners':>8}"]
        for _, row in end.iterrows():
            status = "" if row["alive"] else "  (left)"
            lines.append(
                f"{row['firm']:<14} {row['capital']:>10.0f} {row['profit']:>10.1f} {row['digital_maturity']:>8.2f} {row['cooperations']:>8d}{status}"
            )
    return "\n".join(lines)


def _kv(key: str, value: str) -> str:
    return f"{key:<38} {value}"


def _fmt(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)) or pd.isna(value):
        return "n/a"
    return f"{value:.{digits}f}"


if __name__ == "__main__":
    sys.exit(main())
