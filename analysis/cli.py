"""The ``kreislauf`` command.

::

    kreislauf run SCENARIO [--seed N] [--steps N] [--out DIR]
    kreislauf compare A B [C ...] [--replicates N] [--seed N] [--steps N] [--workers N] [--scheduler ADDRESS] [--out DIR]
    kreislauf sweep FILE [--replicates N] [--seed N] [--steps N] [--workers N] [--scheduler ADDRESS] [--out DIR]
    kreislauf sensitivity RESULTS --outcome NAME [--outcome NAME ...]
    kreislauf calibrate FILE [--quick] [--workers N] [--scheduler ADDRESS] [--out DIR]
    kreislauf report RESULTS [--out FILE]
    kreislauf export RESULTS
    kreislauf live [SCENARIO] [--beside SCENARIO|none] [--port N] [--host ADDRESS] [--no-browser] [--max-sessions N]
    kreislauf explain A B [--ingredients NAME ...] [--measure M ...] [--replicates N] [--seed N] [--steps N] [--workers N] [--scheduler ADDRESS] [--out DIR]
    kreislauf discover RESULTS --outcome M --where "M < 0" [--coverage F] [--out DIR]
    kreislauf validate FILE
    kreislauf scenarios [--reference]

Bad input (a missing file, a file that is not TOML, unknown keys, wrong types,
NaN, values out of range, absurd sizes, a folder that cannot be written) ends
with one line naming the file, the key, the value and what is allowed, and
exit code 2; never a traceback. A comparison or sweep in which some runs
raised ends with exit code 1 after storing everything else; so does one whose
disk fills, or whose Dask scheduler is lost, with one line; an interrupted
one with 130. In each case the same command finishes it.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from analysis.calibrate import CalibrationError
from analysis.discover import DiscoverError
from analysis.engines import ClusterLost, EngineError
from analysis.experiments import Experiment, comparison_plan, default_folder, progress_bar, run_plan
from analysis.explain import ExplainError
from analysis.report import ReportError, write_report
from analysis.runs import RunResult, planned_scenario, run_scenario, scenario_file, write_run, write_table
from analysis.sensitivity import SensitivityError, sensitivity
from analysis.store import FolderError, ResultsFolder, StorageError, check_results
from analysis.sweeps import builtin_sweeps, load_sweep, sweep_plan
from analysis.tables import comparison_table, sensitivity_table, sweep_table
from sim.scenario import MAX_STEPS, ScenarioError, builtin_scenarios, load_scenario, read_toml, reference_markdown

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

    compare = sub.add_parser(
        "compare",
        help="run scenarios side by side over replicates; means, intervals, paired differences",
        description=(
            "Run each scenario --replicates times on paired seeds (replicate k has the same seed in every "
            "scenario) and summarise each measure: mean with 95% interval per scenario, paired difference "
            "with its interval and paired Cohen's d per pair. The firms present in every scenario (matched by "
            "name) come first, then each scenario's whole population, named with its composition. "
            "Re-running the same command resumes an interrupted comparison."
        ),
    )
    compare.add_argument("scenarios", nargs="+", metavar="SCENARIO", help="two or more built-in names or TOML files")
    compare.add_argument(
        "--replicates", type=_int_in(1, 100_000, "--replicates"), default=30, help="runs per scenario (default 30)"
    )
    compare.add_argument(
        "--seed", type=_int_in(0, 2**63 - 1, "--seed"), default=1, help="master seed of the replicates (default 1)"
    )
    compare.add_argument(
        "--steps", type=_int_in(1, MAX_STEPS, "--steps"), help="months to simulate (default: each scenario's)"
    )
    compare.add_argument(
        "--window",
        type=_int_in(1, MAX_STEPS, "--window"),
        default=12,
        help="final months averaged into a run's outcome (default 12)",
    )
    _engine_arguments(compare)
    compare.add_argument("--out", type=Path, help="results folder (default: results/compare-<scenarios>)")
    compare.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")

    sweep = sub.add_parser(
        "sweep",
        help="run a parameter sweep file",
        description=(
            "Run every point of a sweep file (grid, Latin hypercube, Sobol or Morris design) over its replicates, "
            "and the file's compare_to scenario beside it on the same seeds. Re-running the same command resumes "
            "an interrupted sweep; a changed sweep file or other --replicates, --seed or --steps need another --out "
            "(the refusal names a free one)."
        ),
    )
    sweep.add_argument("file", help="sweep TOML file, or a built-in sweep's name (see `kreislauf scenarios`)")
    sweep.add_argument(
        "--replicates",
        type=_int_in(1, 100_000, "--replicates"),
        help="runs per point, instead of the file's (recorded in the manifest)",
    )
    sweep.add_argument(
        "--seed",
        type=_int_in(0, 2**63 - 1, "--seed"),
        help="master seed of replicates and sampler, instead of the file's",
    )
    sweep.add_argument(
        "--steps", type=_int_in(1, MAX_STEPS, "--steps"), help="months to simulate, instead of the file's"
    )
    _engine_arguments(sweep)
    sweep.add_argument("--out", type=Path, help="results folder (default: results/FILE, named as given)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")

    sensitivity = sub.add_parser(
        "sensitivity",
        help="Sobol or Morris indices of a sweep's outcomes",
        description="Sobol indices (S1, ST) or Morris mu* and sigma, with 95% intervals, from a sobol or morris sweep's results.",
    )
    sensitivity.add_argument("results", type=Path, help="results folder of a sobol or morris sweep")
    sensitivity.add_argument(
        "--outcome", action="append", required=True, help="measure to analyse (repeat for several)"
    )
    sensitivity.add_argument(
        "--window",
        type=_int_in(1, MAX_STEPS, "--window"),
        help="final months averaged into a run's outcome (default: the sweep's)",
    )

    calibrate = sub.add_parser(
        "calibrate",
        help="fit a scenario's parameters to sourced patterns by ABC-SMC (needs kreislauf[calibrate])",
        description=(
            "Fit the parameters a calibration file names (uniform priors) to its targets (statistics of the runs' "
            "cooperation and firm logs, with the sources' values or ranges) by ABC-SMC with pyabc, on local processes "
            "or a Dask cluster. Writes the posterior, the fit table, the calibrated scenario and report.html into the "
            "results folder; the same command resumes an interrupted calibration. See docs/calibration.md."
        ),
    )
    calibrate.add_argument(
        "file", help="calibration TOML file, or a built-in calibration's name (open_market: the shipped one)"
    )
    calibrate.add_argument(
        "--quick", action="store_true", help="a smoke run of about a minute (10 particles, 2 generations, 1 run each)"
    )
    _engine_arguments(calibrate)
    calibrate.add_argument("--out", type=Path, help="results folder (default: results/FILE, with -quick for --quick)")
    calibrate.add_argument("--quiet", action="store_true", help="no progress lines and no fit table")

    report = sub.add_parser(
        "report",
        help="write the HTML report of a results folder",
        description="Write one self-contained HTML report (opens offline) of a run's, comparison's or sweep's results folder.",
    )
    report.add_argument("results", type=Path, help="results folder of `kreislauf run`, `compare` or `sweep`")
    report.add_argument("--out", type=Path, help="report file (default: RESULTS/report.html)")

    export = sub.add_parser(
        "export",
        help="write the CSV tables of a comparison's or sweep's results folder from its Parquet files",
        description=(
            "Write runs.csv, measures.csv, cooperations.csv and focal_firms.csv of a comparison's or sweep's "
            "results folder from its Parquet files (compare and sweep write them when they end)."
        ),
    )
    export.add_argument("results", type=Path, help="results folder of `kreislauf compare` or `sweep`")

    live = sub.add_parser(
        "live",
        help="open the live classroom app in the browser",
        description=(
            "Start the live classroom app (offline) and open it in the browser: the model runs as you watch, "
            "with the B.I.G. beside the open market by default. It listens on 127.0.0.1 only, unless --host says otherwise."
        ),
    )
    live.add_argument(
        "scenario",
        nargs="?",
        help="built-in scenario or scenario file (.toml) to start with (default: big, beside open_market)",
    )
    live.add_argument(
        "--beside",
        help=(
            "built-in scenario or scenario file shown side by side with it, or 'none' "
            "(default: open_market beside big, else none)"
        ),
    )
    live.add_argument("--port", type=_int_in(1, 65535, "--port"), default=8050, help="port to listen on (default 8050)")
    live.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only); 0.0.0.0 lets others on the network in",
    )
    live.add_argument("--no-browser", action="store_true", help="do not open a browser")
    live.add_argument(
        "--max-sessions",
        type=_int_in(1, 1000, "--max-sessions"),
        default=60,
        help=(
            "most pages (each its own run) kept at once; when full, pages closed or idle for 30 minutes make way, "
            "open pages in use never (default 60: a class of 40, the lecturer and spare tabs)"
        ),
    )

    explain = sub.add_parser(
        "explain",
        help="split the gap between two scenarios into the ingredients one of them declares (Shapley values)",
        description=(
            "Switch the [[ingredients]] that A declares (else B's) from its setting to the other's in every "
            "combination (the full factorial up to 8 ingredients, sampled orders beyond), run each combination "
            "and the other scenario --replicates times on paired seeds, and split each measure's gap A - B "
            "exactly into one Shapley value per ingredient plus the rest the ingredients do not cover, with "
            "bootstrap 95% intervals and the strongest pairwise interactions (Shapley interaction index). "
            "Writes tables (Parquet and CSV) and report.html; re-running the same command resumes."
        ),
    )
    explain.add_argument("a", metavar="A", help="built-in name or TOML file")
    explain.add_argument("b", metavar="B", help="built-in name or TOML file")
    explain.add_argument(
        "--ingredients", nargs="+", metavar="NAME", help="ingredients to switch (default: every one declared)"
    )
    explain.add_argument(
        "--measure",
        action="append",
        help="measure to explain (repeat for several; default same_firm_profit and same_firm_trust_received)",
    )
    explain.add_argument(
        "--replicates", type=_int_in(1, 100_000, "--replicates"), default=10, help="paired seeds per cell (default 10)"
    )
    explain.add_argument(
        "--seed", type=_int_in(0, 2**63 - 1, "--seed"), default=1, help="master seed of the replicates (default 1)"
    )
    explain.add_argument(
        "--steps", type=_int_in(1, MAX_STEPS, "--steps"), help="months to simulate (default: each scenario's)"
    )
    explain.add_argument(
        "--window",
        type=_int_in(1, MAX_STEPS, "--window"),
        default=12,
        help="final months averaged into a run's outcome (default 12)",
    )
    explain.add_argument(
        "--permutations",
        type=_int_in(1, 100_000, "--permutations"),
        help="sample this many orders of the ingredients instead of the full factorial (default: sampled beyond 8)",
    )
    _engine_arguments(explain)
    explain.add_argument("--out", type=Path, help="results folder (default: results/explain-A-B)")
    explain.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")

    discover = sub.add_parser(
        "discover",
        help="find where in a sweep's parameter space a condition holds (PRIM)",
        description=(
            "Mark the sweep points (means over replicates) where --where holds and find a box of parameter "
            "ranges holding them with PRIM (EMA Workbench; needs kreislauf[discover]). Prints the chosen box's "
            "coverage and density and the peeling trajectory; writes tables and report.html."
        ),
    )
    discover.add_argument("results", type=Path, help="results folder of `kreislauf sweep`")
    discover.add_argument(
        "--outcome", required=True, help="measure tested (a recorded measure, or M_vs_reference with compare_to)"
    )
    discover.add_argument("--where", required=True, help='condition "MEASURE OP NUMBER", OP one of < <= > >=')
    discover.add_argument(
        "--coverage", type=float, default=0.8, help="the chosen box keeps at least this share of the points (0.8)"
    )
    discover.add_argument("--out", type=Path, help="folder for tables and report (default: RESULTS/discover-OUTCOME)")

    validate = sub.add_parser(
        "validate",
        help="check a scenario, sweep or calibration file",
        description="Check a scenario file against the schema, a sweep file and every point it would run, or a calibration file and every prior.",
    )
    validate.add_argument("file", help="scenario or sweep TOML file, or a built-in name")

    scenarios = sub.add_parser(
        "scenarios", help="list the built-in scenarios", description="List the built-in scenarios."
    )
    scenarios.add_argument(
        "--reference", action="store_true", help="print the scenario file reference (Markdown) instead"
    )
    return parser


def _engine_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=_int_in(1, 4096, "--workers"),
        help=f"local worker processes (default and most: every core, {os.cpu_count()} here; 1 runs in this process)",
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on a Dask cluster: its scheduler address (tcp://host:8786) or 'local' (needs kreislauf[cluster])",
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``kreislauf`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "compare":
            return _compare(args)
        if args.command == "sweep":
            return _sweep(args)
        if args.command == "sensitivity":
            return _sensitivity(args)
        if args.command == "calibrate":
            return _calibrate(args)
        if args.command == "report":
            check_results(args.results)
            print(f"report written to {write_report(args.results, args.out)}")
            return 0
        if args.command == "export":
            check_results(args.results)
            for path in ResultsFolder(args.results).write_csv():
                print(f"written {path}")
            return 0
        if args.command == "explain":
            return _explain(args)
        if args.command == "discover":
            return _discover(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "live":
            return _live(args)
        return _scenarios(args.reference)
    except (ClusterLost, StorageError) as exc:  # the machine's fault, not the input's: the same command resumes
        print(f"kreislauf: error: {exc}", file=sys.stderr)
        return 1
    except (
        ScenarioError,
        UsageError,
        FolderError,
        SensitivityError,
        EngineError,
        ReportError,
        ExplainError,
        DiscoverError,
        CalibrationError,
    ) as exc:
        print(f"kreislauf: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("kreislauf: interrupted; files already written are complete", file=sys.stderr)
        return 130
    except OSError as exc:  # a full disk, a folder gone: the machine's fault, not the input's
        where = Path(exc.filename).parent if exc.filename else "a file"
        print(
            f"kreislauf: error: cannot write in {where} ({exc.strerror or exc}); files already written are "
            "complete and nothing is half-written: free space or fix the folder, then run the same command again",
            file=sys.stderr,
        )
        return 1


def _run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    seed = scenario.seed if args.seed is None else args.seed
    out = args.out if args.out is not None else Path("results") / f"{scenario.name}-seed{seed}"
    if out.is_dir() and any(out.iterdir()) and not (out / "run.json").exists():
        raise UsageError(
            f"{out} already holds other files and is not a run's results folder: "
            "choose a new or empty folder (--out), so nothing in it is overwritten"
        )
    if (out / "run.json").exists():  # the same run again is fine; another run's folder is not overwritten
        try:
            held = (out / "scenario.toml").read_text(encoding="utf-8")
        except (OSError, ValueError):
            held = ""
        if held != scenario_file(planned_scenario(scenario, seed, args.steps), seed):
            raise UsageError(
                f"{out} holds the results of another run (another scenario, seed or horizon): "
                "choose another results folder (--out) or remove this one"
            )
    _check_writable(out)
    months = args.steps if args.steps is not None else scenario.steps
    bar = progress_bar(months, scenario.name, "month", show=sys.stderr.isatty() and not args.quiet)

    def progress(step: int, total: int) -> None:
        bar.update(step - bar.n)

    if args.steps is not None:
        later = [e for e in scenario.events if e.step > args.steps]
        if later:
            steps = ", ".join(str(e.step) for e in later)
            print(
                f"kreislauf: note: --steps {args.steps} leaves out {len(later)} scheduled event(s), at month(s) {steps}",
                file=sys.stderr,
            )
    try:
        result = run_scenario(scenario, seed=seed, steps=args.steps, on_step=progress)
    finally:
        bar.close()
    try:
        write_run(result, out)
    except OSError as exc:
        raise UsageError(f"{out}: cannot write results ({exc.strerror or exc})") from None
    if not args.quiet:
        print(summary_table(result))
    print(f"results written to {out}")
    print(f"report: {write_report(out)}")
    return 0


def _live(args: argparse.Namespace) -> int:
    import ipaddress
    import socket

    from analysis.live import Settings, serve

    names = builtin_scenarios()
    scenario = args.scenario or "big"
    beside = args.beside if args.beside is not None else ("open_market" if args.scenario in (None, "big") else "none")
    files: dict[str, str] = {}  # scenario files named here: the app offers them (and no other file)
    for key, value in (("SCENARIO", scenario), ("--beside", beside)):
        if value in names or (key == "--beside" and value == "none"):
            continue
        if not value.endswith(".toml"):
            raise UsageError(
                f"{key} = {value!r}: the live app runs built-in scenarios ({', '.join(sorted(names))}) "
                "or a scenario file (.toml)"
            )
        load_scenario(value)  # a bad file ends here, with its one-line message
        name = Path(value).stem
        if name in names or files.get(name, value) != value:
            raise UsageError(f"{key} = {value!r}: its name {name!r} is taken; rename the file")
        files[name] = value
    as_name = {v: k for k, v in files.items()}
    settings = Settings(
        scenario=as_name.get(scenario, scenario),
        beside=None if beside == "none" else as_name.get(beside, beside),
        files=tuple(files.items()),
    ).checked()
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(args.host).version == 6 else socket.AF_INET
    except ValueError:
        raise UsageError(f"--host = {args.host!r}: must be an IP address such as 127.0.0.1 or 0.0.0.0") from None
    with socket.socket(family, socket.SOCK_STREAM) as probe:  # fail here, clearly, rather than inside the server
        try:
            probe.bind((args.host, args.port))
        except OSError as exc:
            raise UsageError(
                f"--port = {args.port}: cannot listen on {args.host}:{args.port} ({exc.strerror or exc}); choose another port"
            ) from None
    if not ipaddress.ip_address(args.host).is_loopback:
        print(
            f"kreislauf: warning: listening on {args.host}: others on the network can reach the app",
            file=sys.stderr,
        )
    serve(settings, host=args.host, port=args.port, open_browser=not args.no_browser, max_sessions=args.max_sessions)
    return 0


def _compare(args: argparse.Namespace) -> int:
    if len(args.scenarios) < 2:
        raise UsageError(f"compare needs two or more scenarios, got {args.scenarios}")
    _check_scheduler(args.scheduler)
    plan = comparison_plan(args.scenarios, args.replicates, args.seed, args.steps, args.window)
    out = args.out if args.out is not None else Path("results") / plan.name
    _check_writable(out)
    experiment = run_plan(plan, out, args.workers, args.scheduler, progress=_progress(args))
    if not args.quiet:
        print(comparison_table(experiment))
    return _finish(experiment)


def _sweep(args: argparse.Namespace) -> int:
    _check_scheduler(args.scheduler)
    plan = sweep_plan(args.file, args.replicates, args.seed, args.steps)
    out = args.out if args.out is not None else default_folder(args.file)
    _check_writable(out)
    experiment = run_plan(plan, out, args.workers, args.scheduler, progress=_progress(args))
    if not args.quiet:
        print(sweep_table(experiment))
    outcomes = list(experiment.folder.manifest["design"].get("outcomes", []))
    if outcomes:
        try:
            table = sensitivity(experiment.path, outcomes)
        except SensitivityError as exc:  # the sweep itself went well: say why there are no indices, and go on
            print(f"kreislauf: note: no sensitivity indices: {exc}", file=sys.stderr)
        else:
            write_table(table, experiment.path / "sensitivity")
            if not args.quiet:
                print()
                print(sensitivity_table(table))
    return _finish(experiment)


def _explain(args: argparse.Namespace) -> int:
    from analysis.explain import explain, explanation_table

    _check_scheduler(args.scheduler)
    if args.out is not None:
        _check_writable(args.out)
    result = explain(
        args.a,
        args.b,
        args.ingredients,
        args.measure,
        args.replicates,
        args.seed,
        args.steps,
        args.window,
        args.permutations,
        args.out,
        args.workers,
        args.scheduler,
        progress=_progress(args),
    )
    if result.failed:
        print(
            f"kreislauf: {result.failed} runs failed; their errors are in {result.path / 'runs' / 'failures'}; "
            "no explanation without every cell: fix the cause and run the same command again",
            file=sys.stderr,
        )
        return 1
    if not args.quiet:
        print(explanation_table(result))
    print(f"results written to {result.path}")
    print(f"report: {result.path / 'report.html'}")
    return 0


def _discover(args: argparse.Namespace) -> int:
    check_results(args.results)
    try:
        from analysis.discover import discover, discovery_table

        result = discover(args.results, args.outcome, args.where, args.coverage, out=args.out)
    except ModuleNotFoundError as exc:
        if exc.name is None or not exc.name.startswith("ema_workbench"):
            raise
        raise UsageError('discover needs the EMA Workbench: pip install "kreislauf[discover]"') from None
    print(discovery_table(result))
    print(f"report: {result.path / 'report.html'}")
    return 0


def _calibrate(args: argparse.Namespace) -> int:
    from analysis.calibrate import calibrate, load_calibration

    _check_scheduler(args.scheduler)
    load_calibration(args.file)  # a bad file fails before any folder is made
    out = (
        args.out
        if args.out is not None
        else Path("results") / f"calibrate_{Path(args.file).stem.removeprefix('calibrate_')}"
    )
    if args.quick and args.out is None:
        out = out.with_name(f"{out.name}-quick")
    _check_writable(out)
    result = calibrate(
        args.file, out, quick=args.quick, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet
    )
    if not args.quiet:
        print(fit_summary(result.fit))
        print(f"calibrated: {', '.join(f'{k} = {v:.4g}' for k, v in result.calibrated.items())}")
    print(
        f"results written to {result.folder} ({result.generations} generations, {result.simulations} particles; "
        f"this command took {result.seconds:.0f} s, {result.cpu_seconds:.0f} CPU-seconds)"
    )
    print(f"calibrated scenario: {result.scenario_file}")
    print(f"report: {result.folder / 'report.html'}")
    if result.failures:
        print(f"kreislauf: {result.failures} runs failed and counted as not estimable", file=sys.stderr)
        return 1
    return 0


def fit_summary(fit: pd.DataFrame) -> str:
    """The fit table on the terminal: each target's range, the model under the posterior and calibrated, inside or not."""
    lines = [f"{'target':<22} {'range':>15} {'posterior median [90%]':>30} {'calibrated median':>18}"]
    for row in fit.itertuples():
        post = f"{_fmt(row.posterior_median)} [{_fmt(row.posterior_q05)}, {_fmt(row.posterior_q95)}]"
        mark = "inside" if row.posterior_inside else "OUTSIDE"
        cal = f"{_fmt(row.calibrated_median)} {'ok' if row.calibrated_inside else 'out'}"
        lines.append(f"{row.target:<22} {_fmt(row.low) + '-' + _fmt(row.high):>15} {post:>22} {mark:<7} {cal:>18}")
    return "\n".join(lines)


def _sensitivity(args: argparse.Namespace) -> int:
    table = sensitivity(args.results, args.outcome, args.window)
    print(sensitivity_table(table))
    return 0


def _progress(args: argparse.Namespace) -> bool:
    return sys.stderr.isatty() and not args.quiet


def _check_scheduler(scheduler: str | None) -> None:
    if scheduler is None or scheduler == "local":
        return
    scheme, _, rest = scheduler.partition("://")
    if not rest:
        raise UsageError(
            f"--scheduler {scheduler!r}: give a Dask scheduler address such as tcp://host:8786, or 'local'"
        )
    if scheme != "tcp":
        raise UsageError(
            f"--scheduler {scheduler!r}: {scheme}:// addresses are not supported (they need security or network "
            "settings kreislauf does not pass); give a tcp:// address, or connect a distributed.Client from Python"
        )


def _finish(experiment: Experiment) -> int:
    print(f"results written to {experiment.path}")
    print(f"report: {write_report(experiment.path)}")
    if experiment.failed:
        print(
            f"kreislauf: {experiment.failed} of {experiment.folder.size} runs failed; their errors are in "
            f"{experiment.path / 'runs.csv'} and {experiment.path / 'failures'}; the same command retries them",
            file=sys.stderr,
        )
        return 1
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
    path = Path(args.file)
    if path.is_file() and "targets" in read_toml(path):
        from analysis.calibrate import load_calibration

        calibration = load_calibration(path)
        print(
            f"{args.file}: valid calibration {calibration.file.name!r}: {len(calibration.file.parameters)} parameters "
            f"and {len(calibration.file.targets)} targets on {calibration.base.name!r}, every prior checked"
        )
        return 0
    if _is_sweep(args.file):
        plan = sweep_plan(args.file)
        base = plan.points[0].label
        print(
            f"{args.file}: valid sweep {plan.name!r}: {len(plan.points)} points x {plan.replicates} replicates "
            f"= {plan.size} runs of {base!r}, every point checked"
            + (f"; compared to {plan.reference.label!r} ({plan.replicates} more runs)" if plan.reference else "")
            + (f"; paired with {plan.paired[0].label!r} at every point ({plan.size} more runs)" if plan.paired else "")
        )
        return 0
    scenario = load_scenario(args.file)
    group = f", group {scenario.group.name!r}" if scenario.group else ""
    print(
        f"{args.file}: valid scenario {scenario.name!r}: {scenario.initial_firm_count} firms at start{group}, {len(scenario.events)} events, {scenario.steps} steps"
    )
    return 0


def _is_sweep(file: str) -> bool:
    """A built-in sweep's name, or a TOML file naming a base scenario."""
    if file in builtin_sweeps():
        return True
    path = Path(file)
    return path.is_file() and "base" in read_toml(path)


def _scenarios(reference: bool) -> int:
    if reference:
        print(reference_markdown(), end="")
        return 0
    rows = []
    for name, path in builtin_scenarios().items():
        scenario = load_scenario(path)
        rows.append((name, f"{scenario.initial_firm_count} firms", scenario.summary()))
    sweeps = []
    for name, path in builtin_sweeps().items():
        sweep, _ = load_sweep(path)
        sweeps.append((name, f"{sweep.sampler.method}", sweep.description.strip().splitlines()[0]))
    width = max(len(r[0]) for r in rows + sweeps)
    print("scenarios (kreislauf run NAME, kreislauf compare NAME NAME):")
    for name, firms, text in rows:
        print(f"  {name:<{width}}  {firms:>9}  {text}")
    print("sweeps (kreislauf sweep NAME):")
    for name, method, text in sweeps:
        print(f"  {name:<{width}}  {method:>9}  {text}")
    return 0


def summary_table(result: RunResult) -> str:
    """A short plain-text summary of a run: the world at the end, and the focal firms."""
    m, log = result.measures, result.cooperations
    last = m.iloc[-1]
    year = m.iloc[-12:] if len(m) > 12 else m
    partnered = log[log["partner_id"].notna()] if len(log) else log
    lines = [
        f"{result.scenario.name} (seed {result.seed}, {len(m) - 1} months)",
        "",
        _kv(
            "firms at the end",
            f"{int(last['firms'])}: {int(last['producers'])} producers, {int(last['firms'] - last['producers'])} service"
            f" ({int(m['entries'].sum())} entered, {int(m['exits'].sum())} left)",
        ),
        _kv("cooperations formed", f"{len(partnered)}"),
        _kv("evaluations: continued / exited", f"{int(m['continued'].sum())} / {int(m['exited'].sum())}"),
        _kv("searches without a partner", f"{int(m['no_partner'].sum())}"),
        _kv("mean trust between partners", _fmt(last["mean_trust"])),
        _kv("mean trust in the group", _fmt(last["group_trust"])),
        _kv("defection rate (last year)", _fmt(year["defection_rate"].mean())),
        _kv(
            "producer profit / month (last year)",
            _fmt(year["producer_profit"].mean(), 1) + f" k EUR, mean over all {_count(year['producers'])} producers",
        ),
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


def _count(values: pd.Series) -> str:
    """A count over months: the number when it stays the same, else its rounded mean with a tilde."""
    return str(int(values.iloc[0])) if values.nunique() == 1 else f"~{round(float(values.mean()))}"


def _kv(key: str, value: str) -> str:
    return f"{key:<38} {value}"


def _fmt(value: float, digits: int = 3) -> str:
    if value is None or (isinstance(value, float | np.floating) and math.isnan(value)) or pd.isna(value):
        return "n/a"
    return f"{value:.{digits}f}"


if __name__ == "__main__":
    sys.exit(main())
