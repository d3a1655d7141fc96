"""Comparisons and sweeps: paired seeds, engines that agree, results that survive a kill, failures recorded."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import analysis.engines
import analysis.runs
import analysis.store
from analysis import Experiment, compare, sensitivity, sweep
from analysis.cli import main
from analysis.plan import replicate_seeds
from analysis.runs import run_scenario
from analysis.statistics import run_outcomes
from analysis.store import TABLES, FolderError, ResultsFolder
from analysis.sweeps import builtin_sweeps, sweep_plan
from sim.scenario import ScenarioError

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

SMALL_SWEEP = """\
name = "small"
base = "classroom"
replicates = 2
seed = 3
steps = {steps}

[sampler]
method = "grid"

[parameters.bias]
path = "kreislauf.familiarity_bias"
values = {values}

[record]
measures = ["mean_trust", "exited", "producer_profit", "partner_fit"]
every = 2
window = 6
"""


def small_sweep(folder: Path, steps: int = 24, values: str = "[0.0, 1.0]", name: str = "sweep.toml") -> Path:
    path = folder / name
    path.write_text(SMALL_SWEEP.format(steps=steps, values=values))
    return path


def tables(out: Path) -> dict[str, bytes]:
    """Every result table of a folder, as bytes (CSV) for exact comparison."""
    names = [*TABLES, "runs", "outcomes", "summary"]
    return {n: (out / f"{n}.csv").read_bytes() for n in names if (out / f"{n}.csv").exists()}


# -- comparisons -----------------------------------------------------------


def test_compare_pairs_replicates_across_scenarios(tmp_path: Path) -> None:
    result = compare(["classroom", "fragility"], replicates=3, seed=5, steps=12, workers=1, out=tmp_path / "c")
    runs = result.runs
    assert runs["status"].eq("finished").all() and len(runs) == 6
    seeds = runs.pivot(index="replicate", columns="scenario", values="seed")
    assert (seeds["classroom"] == seeds["fragility"]).all()  # common random numbers
    assert seeds["classroom"].tolist() == replicate_seeds(5, 3)
    assert seeds["classroom"].nunique() == 3
    # Each run really runs on its seed: replicate 1 of the classroom is `kreislauf run classroom --seed ...`.
    alone = run_scenario("classroom", seed=int(seeds.loc[1, "classroom"]), steps=12).measures
    stored = result.measures.query("scenario == 'classroom' and replicate == 1")[alone.columns].reset_index(drop=True)
    pd.testing.assert_frame_equal(stored, alone, check_dtype=False)
    assert result.outcomes.groupby("scenario")["producer_profit"].nunique().min() > 1  # replicates differ
    # The summary is the statistics of the run outcomes, scenario by scenario.
    outcomes = result.outcomes
    trust = result.summary.query("measure == 'mean_trust'").set_index("scenario")
    for name in ("classroom", "fragility"):
        values = outcomes.loc[outcomes["scenario"] == name, "mean_trust"]
        assert trust.loc[name, "mean"] == pytest.approx(values.mean())
        assert trust.loc[name, "n"] == 3
    diff = result.differences.query("measure == 'mean_trust'").iloc[0]
    a = outcomes[outcomes.scenario == "classroom"].set_index("replicate")["mean_trust"]
    b = outcomes[outcomes.scenario == "fragility"].set_index("replicate")["mean_trust"]
    assert diff["difference"] == pytest.approx((a - b).mean())
    # Focal firms exist in fragility only (the B.I.G. producers): summarised, but no pairs to difference.
    assert set(result.focal_summary["scenario"]) == {"fragility"}
    assert result.focal_differences.empty
    for name in ("summary", "differences", "outcomes", "measures", "cooperations", "focal_firms", "runs"):
        assert (tmp_path / "c" / f"{name}.csv").exists(), name
    assert pd.read_parquet(tmp_path / "c" / "measures").shape[0] == len(result.measures) == 6 * 13


def test_compare_command_prints_its_table_and_refuses_one_scenario(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    code = main(
        [
            "compare",
            "big",
            "fragility",
            "--replicates",
            "2",
            "--steps",
            "6",
            "--workers",
            "1",
            "--out",
            str(tmp_path / "c"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "big - fragility" in out and "trust between partners" in out and "GEFERTEC" in out
    assert main(["compare", "big", "--out", str(tmp_path / "d")]) == 2
    assert "two or more scenarios" in capsys.readouterr().err


# -- engines ----------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real Dask cluster on 127.0.0.1: a scheduler and two single-threaded worker processes."""
    folder = tmp_path_factory.mktemp("dask")
    port = _free_port()
    # Its HTTP server too (it runs without the dashboard): on loopback, on a free port.
    http = ["--no-dashboard", "--dashboard-address", "127.0.0.1:0"]
    scheduler = subprocess.Popen(
        [BIN / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), *http],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    address = f"tcp://127.0.0.1:{port}"
    workers = subprocess.Popen(
        [BIN / "dask", "worker", address, "--nworkers", "2", "--nthreads", "1", "--no-dashboard"],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in (workers, scheduler):  # each in its own session, with the processes it started
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_results_do_not_depend_on_the_engine_or_the_workers(tmp_path: Path, dask_scheduler: str) -> None:
    file = small_sweep(tmp_path, values="[0.0, 0.5, 1.0]")
    sweep(file, workers=1, out=tmp_path / "one")
    sweep(file, workers=2, out=tmp_path / "two")
    sweep(file, scheduler=dask_scheduler, out=tmp_path / "dask")
    sweep(file, scheduler="local", workers=2, out=tmp_path / "local")  # a cluster of its own, as --scheduler local
    one = tables(tmp_path / "one")
    assert len(one) == 6 and one["measures"].count(b"\n") == 1 + 6 * 13
    assert tables(tmp_path / "two") == one
    assert tables(tmp_path / "dask") == one
    assert tables(tmp_path / "local") == one


def test_a_sweep_killed_half_way_finishes_when_run_again(tmp_path: Path) -> None:
    file = small_sweep(tmp_path, steps=60, values="[0.0, 0.2, 0.4, 0.6, 0.8, 1.0]")
    size = sweep_plan(file).size
    whole = tmp_path / "whole"
    sweep(file, workers=1, out=whole)

    out = tmp_path / "killed"
    command = [str(BIN / "kreislauf"), "sweep", str(file), "--out", str(out), "--workers", "2", "--quiet"]
    proc = subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while _finished(out) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    stored = _finished(out)
    assert 3 <= stored < size, "the sweep should have been killed half-way"
    assert not (out / "measures.csv").exists()

    again = subprocess.run(command, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert _finished(out) == size
    assert tables(out) == tables(whole)
    runs = pd.read_csv(out / "runs.csv")
    assert runs["run"].is_unique and runs["status"].eq("finished").all() and len(runs) == size


def _finished(out: Path) -> int:
    folder = out / "measures"
    return sum(1 for e in os.scandir(folder) if e.name.startswith("run-")) if folder.is_dir() else 0


class Faulty:
    """A model that raises at one familiarity bias, as a bug in one corner of a sweep would."""

    def __new__(cls, scenario, seed, **options):  # type: ignore[no-untyped-def]
        if scenario.kreislauf.familiarity_bias == 0.5:
            raise ZeroDivisionError("a bug at bias 0.5")
        return REAL_MODEL(scenario, seed=seed, **options)


REAL_MODEL = analysis.runs.CooperationModel


@pytest.mark.parametrize("workers", [1, 2])
def test_a_run_that_raises_is_recorded_and_the_sweep_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], workers: int
) -> None:
    file = small_sweep(tmp_path, values="[0.0, 0.5, 1.0]")
    monkeypatch.setattr(analysis.runs, "CooperationModel", Faulty)
    code = main(["sweep", str(file), "--out", str(tmp_path / "s"), "--workers", str(workers)])
    err = capsys.readouterr().err
    assert code == 1
    assert "2 of 6 runs failed" in err
    runs = pd.read_csv(tmp_path / "s" / "runs.csv", keep_default_na=False)
    failed = runs[runs["status"] == "failed"]
    assert failed["bias"].tolist() == [0.5, 0.5]
    assert failed["error"].str.contains("ZeroDivisionError: a bug at bias 0.5").all()
    record = json.loads((tmp_path / "s" / "failures" / f"run-{failed['run'].iloc[0]:06d}.json").read_text())
    assert record["bias"] == 0.5 and "Traceback" in record["error"] and record["seed"] == failed["seed"].iloc[0]
    assert (runs["status"] == "finished").sum() == 4
    # Fixed, the same command runs only the failed runs.
    monkeypatch.setattr(analysis.runs, "CooperationModel", REAL_MODEL)
    assert main(["sweep", str(file), "--out", str(tmp_path / "s"), "--workers", str(workers)]) == 0
    runs = pd.read_csv(tmp_path / "s" / "runs.csv")
    assert runs["status"].eq("finished").all()
    assert not any((tmp_path / "s" / "failures").iterdir())


def test_an_unguarded_script_can_sweep_on_a_pool(tmp_path: Path) -> None:
    """Like a notebook cell: no `if __name__ == "__main__"` guard."""
    file = small_sweep(tmp_path)
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(f"""
        from analysis import sweep
        result = sweep({str(file)!r}, workers=2, out={str(tmp_path / "out")!r}, progress=False)
        print("finished", result.finished)
        """)
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "finished 4" in done.stdout


# -- results folders --------------------------------------------------------


def _digest(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


def test_a_changed_sweep_is_refused_in_the_same_folder_and_nothing_is_lost(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = small_sweep(tmp_path)
    out = tmp_path / "s"
    assert main(["sweep", str(file), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    before = _digest(out)
    small_sweep(tmp_path, values="[0.0, 0.9]")
    assert main(["sweep", str(file), "--out", str(out), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{out} holds the results of a different sweep" in err and "--out" in err and "Traceback" not in err
    assert _digest(out) == before
    # The same sweep again finds every run done and leaves the results as they were.
    small_sweep(tmp_path)
    assert main(["sweep", str(file), "--out", str(out), "--quiet"]) == 0
    assert _digest(out) == before


def test_a_folder_of_another_version_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = small_sweep(tmp_path)
    out = tmp_path / "s"
    assert main(["sweep", str(file), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    (out / "manifest.json").write_text(json.dumps({**manifest, "kreislauf": "0.0.1"}))
    assert main(["sweep", str(file), "--out", str(out), "--quiet"]) == 2
    assert "made by kreislauf 0.0.1" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("sampler = 3", ["sweep.toml", "sampler", "valid dictionary"]),
        ("[sampler]\nmethod = 'random'", ["sampler.method", "'random'", "grid", "sobol"]),
        ("[sampler]\nmethod = 'sobol'\nsamples = 10", ["sampler", "power of 2"]),
        (
            "[parameters.bias]\npath = 'kreislauf.no_such'\nvalues = [1]",
            ["parameters.bias", "no_such", "familiarity_bias"],
        ),
        (
            "[parameters.bias]\npath = 'kreislauf.familiarity_bias'\nvalues = [1.5]",
            ["parameters.bias.values", "1.5", "less than or equal to 1"],
        ),
        (
            "[parameters.bias]\npath = 'kreislauf.familiarity_bias'\nrange = [0.2, 0.1]\npoints = 3",
            ["parameters.bias", "low < high"],
        ),
        (
            "[parameters.bias]\npath = 'kreislauf.familiarity_bias'\nrange = [0.0, nan]\npoints = 3",
            ["parameters.bias.range", "finite"],
        ),
        (
            "[parameters.bias]\npath = 'kreislauf.familiarity_bias'\nvalues = [0.1]\nstep = 2",
            ["parameters.bias.step", "unknown key"],
        ),
        ("[parameters.step]\npath = 'kreislauf.familiarity_bias'\nvalues = [0.1]", ["'step' is already a column"]),
        (
            "[parameters.services]\npath = 'group.shared_services'\nrange = [0, 1]\npoints = 2",
            ["parameters.services.range", "bool"],
        ),
        ("[record]\nmeasures = ['happiness']", ["record", "happiness", "producer_profit"]),
        ("replicates = 0", ["replicates = 0", "greater than or equal to 1"]),
        ("base = 'atlantis'", ["base", "'atlantis'", "cannot load"]),
        ("[sensitivity]\noutcomes = ['mean_trust']", ["[sensitivity] needs a sobol or morris sampler"]),
    ],
)
def test_bad_sweep_files_exit_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, fragments: list[str]
) -> None:
    top = {"name": 'name = "bad"', "base": 'base = "classroom"', "steps": "steps = 6"}
    head = [line for key, line in top.items() if not text.startswith(f"{key} ")]
    sections = [text] if text.startswith("[") else []
    if "[parameters." not in text:
        sections.append("[parameters.bias]\npath = 'kreislauf.familiarity_bias'\nvalues = [0.1]")
    body = "\n".join([*head, *([] if sections and sections[0] == text else [text]), *sections]) + "\n"
    file = tmp_path / "sweep.toml"
    file.write_text(body)
    out = tmp_path / "out"
    code = main(["sweep", str(file), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith("kreislauf: error: ") and err.count("\n") == 1 and "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not (out / "manifest.json").exists()


def test_the_shipped_sweeps_check_every_point() -> None:
    sizes = {name: sweep_plan(path).size for name, path in builtin_sweeps().items()}
    assert sizes == {
        "integrity": 60,
        "search": 160,
        "shared_services": 384,
        "breach_in_group": 50,
        "breach_group_in_market": 50,
        "breach_in_open_market": 50,
        "robustness": 10240,
    }
    with pytest.raises(ScenarioError, match="sweep_nothing"):
        sweep_plan(ROOT / "scenarios" / "sweep_nothing.toml")


# -- sensitivity ------------------------------------------------------------

SOBOL_SWEEP = """\
name = "sobol"
base = "classroom"
replicates = 1
seed = 2
steps = 12

[sampler]
method = "sobol"
samples = 8

[parameters.bias]
path = "kreislauf.familiarity_bias"
range = [0.0, 1.0]

[parameters.interval]
path = "measures.network_interval"
range = [1, 12]

[record]
last_only = true
window = 1

[sensitivity]
outcomes = ["producer_profit"]
"""


def test_sobol_sweep_finds_no_effect_of_a_parameter_that_only_changes_reporting(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = tmp_path / "sobol.toml"
    file.write_text(SOBOL_SWEEP)
    out = tmp_path / "s"
    assert main(["sweep", str(file), "--out", str(out), "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert "Sobol indices" in printed
    table = pd.read_csv(out / "sensitivity.csv").set_index("parameter")
    assert table.loc["interval", "ST"] == pytest.approx(0, abs=1e-9)  # how often networks are measured
    assert table.loc["bias", "ST"] > 0
    points = Experiment(out).outcomes.groupby("point")["interval"].first()
    assert set(points) <= set(range(1, 13)) and len(set(points)) > 3  # whole numbers, rounded from the sample
    again = sensitivity(out, ["producer_profit", "mean_trust"])
    assert set(again["outcome"]) == {"producer_profit", "mean_trust"}
    assert main(["sensitivity", str(out), "--outcome", "happiness"]) == 2
    assert "happiness" in capsys.readouterr().err


def test_sensitivity_refuses_a_grid_sweep(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = small_sweep(tmp_path)
    sweep(file, workers=1, out=tmp_path / "s")
    assert main(["sensitivity", str(tmp_path / "s"), "--outcome", "mean_trust"]) == 2
    assert "sobol or morris sweep" in capsys.readouterr().err
    assert main(["sensitivity", str(tmp_path / "nothing"), "--outcome", "mean_trust"]) == 2
    assert "not a results folder" in capsys.readouterr().err


# -- what a review of the engines and folders asked for ----------------------


class Lethal:
    """A model that kills its worker process at one familiarity bias, as a crash in compiled code would."""

    def __new__(cls, scenario, seed, **options):  # type: ignore[no-untyped-def]
        if scenario.kreislauf.familiarity_bias == 0.5:
            os._exit(3)
        return REAL_MODEL(scenario, seed=seed, **options)


def test_a_run_that_kills_its_worker_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = small_sweep(tmp_path, values="[0.0, 0.5, 1.0]")
    monkeypatch.setattr(analysis.runs, "CooperationModel", Lethal)
    result = sweep(file, workers=2, out=tmp_path / "s", progress=False)
    runs = result.runs
    assert runs.loc[runs["bias"] == 0.5, "status"].eq("failed").all()
    assert runs.loc[runs["bias"] == 0.5, "error"].str.contains("worker process died").all()
    assert runs.loc[runs["bias"] != 0.5, "status"].eq("finished").all()


def test_a_sweep_whose_every_run_kills_its_worker_ends(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run kills its worker: each is tried again on its own, recorded as failed, and the sweep ends."""
    file = small_sweep(tmp_path, values="[0.5]")
    monkeypatch.setattr(analysis.runs, "CooperationModel", Lethal)
    result = sweep(file, workers=2, out=tmp_path / "s", progress=False)
    assert result.runs["status"].eq("failed").all() and len(result.runs) == 2


def test_a_run_that_kills_its_dask_worker_fails_alone(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Once runs have finished, Dask gets several per task; a task that fails is split into single runs."""
    import cloudpickle
    import dask
    from distributed import Client, LocalCluster, WorkerPlugin

    class LethalModel(WorkerPlugin):
        """Every worker, the ones started after a death too, runs the lethal model."""

        def setup(self, worker):  # type: ignore[no-untyped-def]
            analysis.runs.CooperationModel = Lethal

    # Runs 0 and 1 go one per task; then runs 2-9 in one task, which the lethal runs (8 and 9) take down.
    monkeypatch.setattr(analysis.engines, "TASK_SECONDS", 1e6)
    monkeypatch.setattr(analysis.engines, "IN_FLIGHT_PER_WORKER", 1)  # tasks not queued behind a lethal one
    file = small_sweep(tmp_path, values="[0.0, 0.25, 0.75, 1.0, 0.5]")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import this test module
    try:
        with (
            # A task that kills two workers fails; a worker holds only the task it runs, so no other dies with it.
            dask.config.set(
                {"distributed.scheduler.allowed-failures": 1, "distributed.scheduler.worker-saturation": 1.0}
            ),
            LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster,
            Client(cluster) as client,
        ):
            client.register_plugin(LethalModel())
            result = sweep(file, scheduler=client, out=tmp_path / "s", progress=False)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    runs = result.runs
    assert runs.loc[runs["bias"] == 0.5, "status"].eq("failed").all()
    assert runs.loc[runs["bias"] == 0.5, "error"].str.contains("KilledWorker").all()
    innocent = runs[runs["bias"] != 0.5]
    assert innocent["status"].eq("finished").all() and len(runs) == 10, innocent["error"].str.slice(0, 80).tolist()


def test_empty_tables_keep_the_dataset_readable(tmp_path: Path) -> None:
    """The classroom has no focal firms: its empty focal tables have the same types as fragility's full ones."""
    compare(["classroom", "fragility"], replicates=2, steps=6, workers=1, out=tmp_path / "c", progress=False)
    focal = pd.read_parquet(tmp_path / "c" / "focal_firms")
    assert set(focal["scenario"]) == {"fragility"} and len(focal) == 2 * 7 * 6
    assert len(pd.read_parquet(tmp_path / "c" / "cooperations")) > 0
    assert len(pd.read_parquet(tmp_path / "c" / "network_edges")) > 0


def test_tables_do_not_depend_on_where_their_rows_were_formatted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CSV tables are made from the runs' Parquet files, with no hidden copy of the rows: made again they are
    the same bytes, and tables and outcomes read a batch of runs at a time equal those read run by run."""
    monkeypatch.setattr(analysis.store, "RUNS_PER_BATCH", 4)  # 6 runs: a batch of 4, then one of 2
    out = tmp_path / "c"
    result = compare(["classroom", "fragility"], replicates=3, steps=8, workers=2, out=out, progress=False)
    written = tables(out)
    # Six focal firms in fragility, months 0-8; none in the classroom.
    assert written["focal_firms"].count(b"\n") == 1 + 3 * 6 * 9
    assert not (out / ".csv_rows").exists()
    for table in TABLES:
        (out / f"{table}.csv").unlink()
    folder = ResultsFolder(out)
    folder.write_csv()
    assert tables(out) == written
    for name in TABLES:
        one_at_a_time = pd.concat(list(folder.batches(name, runs=1)), ignore_index=True)
        pd.testing.assert_frame_equal(folder.table(name), one_at_a_time)
    run_by_run = [run_outcomes(m, folder.keys, window=12) for m in folder.batches("measures", runs=1)]
    pd.testing.assert_frame_equal(result.outcomes, pd.concat(run_by_run, ignore_index=True))


def test_rows_under_another_header_are_refused_and_the_tables_kept(tmp_path: Path) -> None:
    out = tmp_path / "c"
    compare(["classroom"], replicates=2, steps=4, workers=1, out=out, progress=False)
    before = (out / "measures.csv").read_bytes()
    rows = out / "measures" / "run-000001.parquet"
    pd.read_parquet(rows).rename(columns={"step": "month"}).to_parquet(rows, index=False)
    with pytest.raises(FolderError, match="run 1's measures has other columns"):
        ResultsFolder(out).write_csv()
    assert (out / "measures.csv").read_bytes() == before
    assert not [f.name for f in out.iterdir() if f.name.endswith(".tmp")]


def test_runs_without_cooperations_read_with_the_others(tmp_path: Path) -> None:
    """Two months of the open market find no partner: its empty logs have the schema of the classroom's full ones,
    in a folder whose name looks like a partition (`key=value`), which must not add a column."""
    out = tmp_path / "seed=1"
    result = compare(["open_market", "classroom"], replicates=3, steps=2, workers=1, out=out, progress=False)
    logs = result.cooperations
    assert set(logs["scenario"]) == {"classroom"} and logs["seed"].dtype == "int64"
    assert list(logs.columns) == list(pd.read_parquet(out / "cooperations").columns)
    assert result.outcomes["scenario"].tolist() == ["open_market"] * 3 + ["classroom"] * 3


class Broken:
    def __new__(cls, scenario, seed, **options):  # type: ignore[no-untyped-def]
        raise RuntimeError("broken everywhere")


def test_a_comparison_whose_every_run_fails_still_says_so_and_writes_its_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(analysis.runs, "CooperationModel", Broken)
    out = tmp_path / "c"
    code = main(["compare", "classroom", "fragility", "--replicates", "2", "--workers", "1", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1 and "4 of 4 runs failed" in captured.err and "Traceback" not in captured.err
    assert "no finished runs" in captured.out
    assert (out / "report.html").exists()


def test_the_window_of_this_command_applies_when_resuming(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["compare", "classroom", "fragility", "--replicates", "2", "--steps", "6", "--workers", "1"]
    assert main([*args, "--out", str(tmp_path / "c")]) == 0
    assert "last 12 months" in capsys.readouterr().out
    assert main([*args, "--out", str(tmp_path / "c"), "--window", "2"]) == 0
    assert "last 2 months" in capsys.readouterr().out


def test_a_folder_with_other_files_is_not_written_into(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "mine.txt").write_text("keep me")
    (tmp_path / "scenarios").mkdir()
    (tmp_path / "scenarios" / "classroom.toml").write_text("# my own classroom")
    before = _digest(tmp_path)
    assert main(["compare", "classroom", "fragility", "--replicates", "1", "--out", str(tmp_path)]) == 2
    assert "already holds other files" in capsys.readouterr().err
    assert main(["run", "classroom", "--steps", "3", "--out", str(tmp_path)]) == 2
    assert "already holds other files" in capsys.readouterr().err
    assert _digest(tmp_path) == before


@pytest.mark.parametrize(
    ("parameters", "fragments"),
    [
        ("[parameters.status]\npath = 'kreislauf.familiarity_bias'\nvalues = [0.1]", ["'status' is already a column"]),
        ("[parameters.mean]\npath = 'kreislauf.familiarity_bias'\nvalues = [0.1]", ["'mean' is already a column"]),
        (
            "[parameters.a1]\npath = 'kreislauf.familiarity_bias'\nvalues = [0.1]\n"
            "[parameters.a2]\npaths = ['kreislauf.familiarity_bias']\nvalues = [0.2]",
            ["parameters.a2", "already set by parameters.a1"],
        ),
        (
            "[parameters.p1]\npath = 'kreislauf.familiarity_bias'\nrange = [0, 1]\npoints = 10000\n"
            "[parameters.p2]\npath = 'kreislauf.search_cost_per_candidate'\nrange = [0, 1]\npoints = 10000\n"
            "[parameters.p3]\npath = 'trust.forgetting'\nrange = [0, 1]\npoints = 10000",
            ["asks for 10000000000000 runs", "at most"],  # 10,000 cubed points x 10 replicates,
        ),
    ],
)
def test_sweep_parameters_that_cannot_be_told_apart_or_run_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], parameters: str, fragments: list[str]
) -> None:
    file = tmp_path / "sweep.toml"
    file.write_text(f'name = "x"\nbase = "classroom"\nsteps = 3\n{parameters}\n')
    assert main(["validate", str(file)]) == 2
    err = capsys.readouterr().err
    for fragment in fragments:
        assert fragment in err, (fragment, err)


def test_whole_numbers_and_text_sweep_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file = tmp_path / "sweep.toml"
    file.write_text(
        'name = "x"\nbase = "classroom"\nsteps = 3\nreplicates = 1\n'
        "[parameters.interval]\npath = 'measures.network_interval'\nrange = [1, 3]\npoints = 5\n"
        "[parameters.entrants]\npath = 'market.entry_population'\nvalues = ['market firm']\n"
    )
    plan = sweep_plan(file)
    assert [p.parameters["interval"] for p in plan.points] == [1, 2, 3]  # 1, 1.5, 2, 2.5, 3 rounded, once each
    assert main(["sweep", str(file), "--out", str(tmp_path / "s"), "--workers", "1"]) == 0
    assert "market firm" in capsys.readouterr().out


# -- memory ------------------------------------------------------------------


def test_models_are_freed_after_each_run_and_memory_stays_flat() -> None:
    import gc
    import weakref

    import mesa
    import psutil

    from analysis.engines import SerialEngine, execute
    from analysis.experiments import comparison_plan

    plan = comparison_plan(["classroom", "big"], replicates=115, seed=1, steps=24)
    specs = list(plan.runs())
    models: list[weakref.ref[object]] = []
    real = analysis.runs.CooperationModel

    class Watched(real):  # type: ignore[misc, valid-type]
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            models.append(weakref.ref(self))

    analysis.runs.CooperationModel = Watched  # type: ignore[misc]
    try:
        for spec in specs[:30]:  # warm up: imports, caches, the allocator's arenas
            execute(spec)
        gc.collect()
        before = psutil.Process().memory_info().rss
        outputs = SerialEngine().map(specs[30:230])
        assert sum(not o.failed for o in outputs) == 200
        gc.collect()
        grown = (psutil.Process().memory_info().rss - before) / 2**20
    finally:
        analysis.runs.CooperationModel = real  # type: ignore[misc]
    assert len(models) == 230 and all(ref() is None for ref in models)  # every model freed, none kept by Mesa
    assert not any(isinstance(m, Watched) for m in mesa.Agent._ids)
    # Without releasing the models: about 50 MB. Resident memory also moves with the allocator's arenas (a few MB).
    assert grown < 20, f"200 runs grew this process by {grown:.1f} MB"


def test_what_runs_allocate_is_all_freed() -> None:
    """Python's own count of allocated memory (numpy's arrays included): flat to within 1 MB over 40 runs."""
    import gc
    import tracemalloc

    from analysis.engines import execute
    from analysis.experiments import comparison_plan

    specs = list(comparison_plan(["classroom", "big"], replicates=25, seed=2, steps=12).runs())
    for spec in specs[:10]:
        execute(spec)
    tracemalloc.start()
    try:
        gc.collect()
        before = tracemalloc.get_traced_memory()[0]
        for spec in specs[10:]:
            assert not execute(spec).failed
        gc.collect()
        grown = (tracemalloc.get_traced_memory()[0] - before) / 2**20
    finally:
        tracemalloc.stop()
    assert grown < 1, f"40 runs left {grown:.2f} MB allocated"  # without releasing the models: about 9 MB


def test_a_model_that_raises_is_freed_too(monkeypatch: pytest.MonkeyPatch) -> None:
    import mesa

    from analysis.engines import execute
    from analysis.experiments import comparison_plan

    spec = next(comparison_plan(["classroom", "big"], replicates=1, steps=6).runs())

    def broken(self: object) -> None:
        raise RuntimeError("a step that raises")

    monkeypatch.setattr(analysis.runs.CooperationModel, "step", broken)
    known = len(mesa.Agent._ids)
    assert "a step that raises" in (execute(spec).error or "")
    assert len(mesa.Agent._ids) == known
