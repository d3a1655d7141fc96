"""The attack set, kept as a regression suite: hostile and unlucky input ends in one line, never a traceback.

Each case is what a hostile user (or an unlucky one) gave the command line
or the Python API: names that are paths, special files, damaged results.
Every case must end with exit code 2 (bad input) or 1 (a fault of the
machine), one line on standard error naming the file or key, and no file
written outside the folder the command was given.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest
from test_cli import kreislauf

from sim import CooperationModel
from sim.observe.network import write_network
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.load import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = (ROOT / "scenarios" / "classroom.toml").read_text(encoding="utf-8")


def assert_one_line(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> None:
    """Exit ``code``, one line on standard error holding every fragment, no traceback."""
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("kreislauf: error: "), result.stderr
    for fragment in fragments:
        assert fragment in lines[0], result.stderr


def classroom(tmp_path: Path, name: str = "x.toml", **replace: str) -> Path:
    """The classroom scenario with some lines replaced (old line -> new line), written to ``name``."""
    text = CLASSROOM
    for old, new in replace.items():
        assert old in text
        text = text.replace(old, new, 1)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


# -- names are names -----------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../../../../tmp/escape", "must not contain '/'"),
        ("a/b", "must not contain '/'"),
        ("a\\\\b", "must not contain '/' or '\\'"),
        ("..", "nor be '.' or '..'"),
        ("a\\u0000b", "printable"),
        ("a\\nb", "printable"),
        ("x" * 81, "at most 80 characters"),
    ],
)
def test_a_scenario_name_that_is_a_path_or_not_printable_is_refused(tmp_path: Path, name: str, why: str) -> None:
    path = classroom(tmp_path, **{'name = "classroom"': f'name = "{name}"'})
    out = tmp_path / "work"
    out.mkdir()
    before = files_under(tmp_path)
    for command in (["validate", str(path)], ["run", str(path), "--steps", "2"]):
        result = kreislauf(*command)
        assert_one_line(result, 2, str(path), "name", why)
    compare = kreislauf("compare", str(path), "big", "--replicates", "1", "--steps", "2", "--out", str(out / "c"))
    assert_one_line(compare, 2, "name", why)
    assert files_under(tmp_path) == before  # nothing written, here or anywhere the name pointed


@pytest.mark.parametrize(
    ("key", "value", "why"),
    [
        ('name = "Printer"', 'name = "Prin\\u0000ter"', "printable"),
        ('name = "Printer"', 'name = "Prin\\u001fter"', "printable"),
        ('name = "market firm"', 'name = "market\\tfirm"', "printable"),
        ('name = "Campus group"', 'name = "Campus\\u0007group"', "printable"),
        ('name = "Printer"', f'name = "{"P" * 81}"', "at most 80 characters"),
        ('name = "market firm"', f'name = "{"m" * 61}"', "at most 60 characters"),
    ],
)
def test_firm_population_and_group_names_are_printable_and_short(
    tmp_path: Path, key: str, value: str, why: str
) -> None:
    result = kreislauf("validate", str(classroom(tmp_path, **{key: value})))
    assert_one_line(result, 2, "x.toml", why)


def test_a_ten_megabyte_niche_name_is_refused_before_it_fills_memory(tmp_path: Path) -> None:
    scenario = load_scenario("classroom")
    with pytest.raises(ScenarioError, match=r"populations\[0\]\.niches\[0\] is 10000000 characters long; at most 2000"):
        scenario.with_overrides({"populations.0.niches": ["n" * 10_000_000]})
    with pytest.raises(ScenarioError, match="at most 80 characters"):
        scenario.with_overrides({"populations.0.niches": ["n" * 81]})
    with pytest.raises(ScenarioError, match=r"text at group\.name is 3000 characters long; at most 2000"):
        scenario.with_overrides({"group.name": "g" * 3000})


def test_network_files_of_any_accepted_firm_name_read_back(tmp_path: Path) -> None:
    odd = "A&B <\"GmbH\"> 'Ü' ]]> \u00e9\u4e2d"
    scenario = load_scenario("classroom").with_overrides({"firms.0.name": odd})
    model = CooperationModel(scenario.until(3), seed=2)
    for _ in range(3):
        model.step()
    write_network(model, tmp_path)
    for graph in (nx.read_gexf(tmp_path / "network.gexf"), nx.read_graphml(tmp_path / "network.graphml")):
        names = {data.get("label", data.get("name")) for _, data in graph.nodes(data=True)}
        names |= {data.get("name") for _, data in graph.nodes(data=True)}
        assert odd in names


# -- reading files safely ---------------------------------------------------------


def test_special_files_are_never_read(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    for special in ("/dev/zero", "/dev/urandom", str(fifo)):
        for command in (["validate", special], ["run", special, "--out", str(tmp_path / "o")], ["sweep", special]):
            assert_one_line(kreislauf(*command), 2, special, "not a regular file")
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        'name = "s"\nbase = "/dev/zero"\n[parameters.bias]\npath = "kreislauf.familiarity_bias"\nvalues = [0.1]\n'
    )
    assert_one_line(kreislauf("sweep", str(sweep)), 2, "base", "/dev/zero", "not a regular file")
    assert_one_line(kreislauf("validate", str(tmp_path)), 2, str(tmp_path), "is a directory")


def test_a_fifo_does_not_block_the_installed_command(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.toml"
    os.mkfifo(fifo)
    result = subprocess.run(
        [sys.executable, "-m", "analysis.cli", "validate", str(fifo)], capture_output=True, text=True, timeout=120
    )
    assert_one_line(result, 2, "not a regular file")


def test_a_file_above_the_size_limit_is_refused_by_name(tmp_path: Path) -> None:
    big = classroom(tmp_path, "big.toml")
    with big.open("a", encoding="utf-8") as handle:
        handle.write("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    assert_one_line(kreislauf("validate", str(big)), 2, str(big), "larger than 4 MiB")


def test_a_byte_order_mark_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + CLASSROOM.encode("utf-8"))
    result = kreislauf("validate", str(path))
    assert result.returncode == 0, result.stderr
    assert "valid scenario 'classroom'" in result.stdout


@pytest.mark.parametrize("nesting", ["x = " + "[" * 5000 + "]" * 5000, "x = " + "{a = " * 5000 + "1" + "}" * 5000])
def test_deep_nesting_is_one_line(tmp_path: Path, nesting: str) -> None:
    path = tmp_path / "deep.toml"
    path.write_text(nesting)
    assert_one_line(kreislauf("validate", str(path)), 2, str(path), "too deeply")


def test_text_that_is_not_utf8_and_unprintable_file_names_stay_one_line(tmp_path: Path) -> None:
    latin = tmp_path / "latin.toml"
    latin.write_bytes(CLASSROOM.replace("classroom", "Kl\u00e4ssroom", 1).encode("latin-1"))
    assert_one_line(kreislauf("validate", str(latin)), 2, "not UTF-8")
    odd = tmp_path / "two\nlines.toml"
    odd.write_text(CLASSROOM.replace('name = "classroom"', 'name = "../x"', 1))
    assert_one_line(kreislauf("validate", str(odd)), 2, "two\\nlines.toml")


@pytest.mark.parametrize("name", ["..", ".", "../x", "a b"])
def test_a_sweep_name_is_a_folder_name(tmp_path: Path, name: str) -> None:
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        f'name = "{name}"\nbase = "classroom"\n[parameters.bias]\npath = "kreislauf.familiarity_bias"\nvalues = [0.1]\n'
    )
    before = files_under(tmp_path)
    assert_one_line(kreislauf("sweep", str(sweep)), 2, str(sweep), "name")
    assert files_under(tmp_path) == before


def test_no_file_of_a_plan_is_written_outside_its_folder(tmp_path: Path) -> None:
    from analysis.store import FolderError, inside

    assert inside(tmp_path, "scenarios/big.toml") == tmp_path / "scenarios" / "big.toml"
    for escape in ("../x.toml", "scenarios/../../x", "/tmp/x", ""):
        with pytest.raises(FolderError, match="outside the results folder"):
            inside(tmp_path, escape)


# -- damaged results, full disks, folders of another run -----------------------------


def small_compare(out: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return kreislauf(
        "compare", "classroom", "big", "--replicates", "2", "--steps", "6", "--workers", "1", "--out", str(out), *extra
    )


def csv_tables(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.glob("*.csv"))}


@pytest.mark.parametrize(
    ("damage", "file"),
    [
        (lambda b: b[: len(b) // 2], "measures/run-000001.parquet"),
        (lambda b: b"", "cooperations/run-000002.parquet"),
        (lambda b: os.urandom(len(b)), "focal_firms/run-000003.parquet"),
        (lambda b: b[:-1], "network_edges/run-000000.parquet"),
    ],
)
def test_a_damaged_run_is_named_by_report_and_redone_by_the_same_command(tmp_path: Path, damage, file: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "c"
    assert small_compare(out, "--quiet").returncode == 0
    good = csv_tables(out)
    path = out / file
    path.write_bytes(damage(path.read_bytes()))
    assert_one_line(kreislauf("report", str(out)), 2, file, "run the same command again")
    assert_one_line(kreislauf("export", str(out)), 2, file)
    again = small_compare(out, "--quiet")
    assert again.returncode == 0, again.stderr
    assert "Traceback" not in again.stderr and f"({file}:" in again.stderr and "run again" in again.stderr
    assert csv_tables(out) == good
    assert kreislauf("report", str(out)).returncode == 0


def test_a_run_folder_missing_its_measures_or_with_a_broken_run_json_is_named(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert kreislauf("run", "classroom", "--steps", "3", "--out", str(out), "--quiet").returncode == 0
    (out / "measures.parquet").unlink()
    assert_one_line(kreislauf("report", str(out)), 2, "measures.parquet", "missing")
    assert kreislauf("run", "classroom", "--steps", "3", "--out", str(out), "--quiet").returncode == 0
    (out / "run.json").write_text("{not json")
    assert_one_line(kreislauf("report", str(out)), 2, "run.json", "cannot be read")


def test_run_refuses_a_folder_holding_another_run(tmp_path: Path) -> None:
    out = tmp_path / "r"
    assert kreislauf("run", "classroom", "--steps", "3", "--out", str(out), "--quiet").returncode == 0
    before = {p: p.read_bytes() for p in out.iterdir()}
    for other in (["--seed", "5"], ["--steps", "4"]):
        result = kreislauf("run", "classroom", "--steps", "3", *other, "--out", str(out), "--quiet")
        assert_one_line(result, 2, str(out), "another run")
    assert kreislauf("run", "big", "--steps", "3", "--out", str(out)).returncode == 2
    assert {p: p.read_bytes() for p in out.iterdir()} == before
    assert kreislauf("run", "classroom", "--steps", "3", "--out", str(out), "--quiet").returncode == 0  # the same run


def test_a_full_disk_ends_with_one_line_and_nothing_half_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import analysis.store

    out = tmp_path / "c"
    assert small_compare(out, "--quiet").returncode == 0
    good = csv_tables(out)
    real = {name: getattr(analysis.store, name) for name in ("csv_bytes", "table_csv_bytes")}  # runs.csv, the tables
    calls = {"n": 0}

    def filling(name):  # type: ignore[no-untyped-def]
        def fill(table):  # type: ignore[no-untyped-def]
            calls["n"] += 1
            if calls["n"] == 3:  # runs.csv and cooperations.csv are written; focal_firms.csv fills the disk
                raise OSError(errno.ENOSPC, "No space left on device", str(out / ".focal_firms.csv.1.0.tmp"))
            return real[name](table)

        return fill

    for name in real:
        monkeypatch.setattr(analysis.store, name, filling(name))
    result = small_compare(out, "--quiet")
    assert_one_line(result, 1, str(out), "No space left on device", "run the same command again")
    assert calls["n"] == 3
    assert not [p for p in out.rglob("*.tmp")]
    assert csv_tables(out) == good  # the old tables, whole
    for name, function in real.items():
        monkeypatch.setattr(analysis.store, name, function)
    assert small_compare(out, "--quiet").returncode == 0
    assert csv_tables(out) == good


def test_a_disk_that_fills_while_runs_are_stored_ends_with_exit_1_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    import analysis.runs
    import analysis.store

    good_out = tmp_path / "good"
    assert small_compare(good_out, "--quiet").returncode == 0
    real = analysis.runs.write_bytes
    calls = {"n": 0}

    def filling(path: Path, data: bytes) -> Path:
        calls["n"] += 1
        if calls["n"] == 9:  # the third run's files
            raise OSError(errno.ENOSPC, "No space left on device", str(path))
        return real(path, data)

    monkeypatch.setattr(analysis.store, "write_bytes", filling)
    out = tmp_path / "c"
    assert_one_line(small_compare(out, "--quiet"), 1, "cannot store run", "No space left on device", "same command")
    assert not [p for p in out.rglob("*.tmp")]
    assert 1 <= len(list((out / "measures").glob("*.parquet"))) < 4
    monkeypatch.setattr(analysis.store, "write_bytes", real)
    assert small_compare(out, "--quiet").returncode == 0
    assert csv_tables(out) == csv_tables(good_out)


def test_temporary_names_are_unique_and_those_of_dead_processes_are_cleaned(tmp_path: Path) -> None:
    from analysis.runs import temporary_name

    target = tmp_path / "measures.csv"
    assert temporary_name(target) != temporary_name(target)
    out = tmp_path / "c"
    assert small_compare(out, "--quiet").returncode == 0
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = out / f".measures.csv.{int(dead.stdout)}.0.tmp"
    stale_run = out / "measures" / f".run-000001.parquet.{int(dead.stdout)}.tmp"
    alive = out / f".measures.csv.{os.getppid()}.0.tmp"
    for path in (stale, stale_run, alive):
        path.write_bytes(b"half")
    assert small_compare(out, "--quiet").returncode == 0
    assert not stale.exists() and not stale_run.exists() and alive.exists()


def test_the_report_is_written_under_a_temporary_name_of_its_own(tmp_path: Path) -> None:
    # A fixed temporary name (".report.html.tmp") made two commands writing one
    # folder collide; a directory of that name ended the report in a traceback.
    out = tmp_path / "c"
    assert small_compare(out, "--quiet").returncode == 0
    (out / ".report.html.tmp").mkdir()
    result = kreislauf("report", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "report.html").stat().st_size > 0
    assert [p.name for p in out.glob(".report.html.*")] == [".report.html.tmp"]  # only the obstacle is left


def test_csv_tables_come_from_parquet_with_no_hidden_copy_and_export_remakes_them(tmp_path: Path) -> None:
    out = tmp_path / "c"
    assert small_compare(out, "--quiet").returncode == 0
    assert not (out / ".csv_rows").exists()
    good = csv_tables(out)
    for path in out.glob("*.csv"):
        path.unlink()
    (out / ".csv_rows" / "measures").mkdir(parents=True)  # left by an earlier version
    result = kreislauf("export", str(out))
    assert result.returncode == 0, result.stderr
    assert "measures.csv" in result.stdout
    assert {k: v for k, v in csv_tables(out).items() if k in good} == {
        k: v for k, v in good.items() if k in {"runs.csv", "measures.csv", "cooperations.csv", "focal_firms.csv"}
    }
    assert not (out / ".csv_rows").exists()
    assert_one_line(kreislauf("export", str(tmp_path)), 2, "not a results folder")


def test_pool_workers_end_with_a_parent_killed_outright(tmp_path: Path) -> None:
    import signal
    import time

    import psutil

    script = tmp_path / "parent.py"
    script.write_text(
        "import time\n"
        "import analysis.engines as engines\n"
        "from analysis.experiments import comparison_plan\n"
        "def slow(spec):\n"
        "    time.sleep(600)\n"
        "engines.execute = slow\n"
        "specs = comparison_plan(['classroom', 'big'], replicates=2, steps=2).runs()\n"
        "print('started', flush=True)\n"
        "for _ in engines.PoolEngine(2).map(specs):\n"
        "    pass\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=ROOT)
    workers: list[psutil.Process] = []
    try:
        assert parent.stdout is not None and parent.stdout.readline().strip() == "started"
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
            workers = psutil.Process(parent.pid).children(recursive=True)
        assert len(workers) >= 2
        parent.send_signal(signal.SIGKILL)
        parent.wait(30)
        _, alive = psutil.wait_procs(workers, timeout=30)
        alive = [p for p in alive if _lives(p)]
        assert not alive, f"workers {[p.pid for p in alive]} outlived their parent"
    finally:
        for process in [*workers, psutil.Process(parent.pid)] if parent.poll() is None else workers:
            with contextlib.suppress(psutil.Error):
                process.kill()


def _lives(process: object) -> bool:
    import psutil

    assert isinstance(process, psutil.Process)
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


@pytest.mark.parametrize("address", ["ucx://127.0.0.1:8786", "tls://127.0.0.1:8786", "inproc://x", "host:8786"])
def test_unsupported_scheduler_addresses_are_refused(tmp_path: Path, address: str) -> None:
    result = kreislauf("compare", "classroom", "big", "--scheduler", address, "--out", str(tmp_path / "c"))
    assert_one_line(result, 2, "--scheduler", address)
    assert not (tmp_path / "c").exists()


# -- Dask faults -------------------------------------------------------------------


def test_a_scheduler_that_never_answers_is_one_line_after_the_timeout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    import analysis.engines

    monkeypatch.setattr(analysis.engines, "CONNECT_SECONDS", 2.0)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)  # accepts connections, never says a word
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        result = kreislauf("compare", "classroom", "big", "--scheduler", address, "--out", str(tmp_path / "c"))
    assert_one_line(result, 2, address, "cannot reach the Dask scheduler within 2 s")


def test_a_lost_scheduler_ends_with_one_line_and_the_same_command_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import signal
    import socket
    import threading
    import time

    import analysis.engines

    monkeypatch.setattr(analysis.engines, "CONNECT_SECONDS", 3.0)
    bin_dir = Path(sys.executable).parent
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"cwd": tmp_path, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL, "start_new_session": True}
    scheduler = subprocess.Popen(
        [bin_dir / "dask", "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"], **quiet
    )
    worker = subprocess.Popen(
        [bin_dir / "dask", "worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard"], **quiet
    )
    out = tmp_path / "c"

    def kill_when_runs_are_stored() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(list((out / "measures").glob("run-*.parquet"))) < 2:
            time.sleep(0.1)
        os.killpg(scheduler.pid, signal.SIGKILL)

    try:
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(1, timeout=60)
        killer = threading.Thread(target=kill_when_runs_are_stored, daemon=True)
        killer.start()
        args = ("compare", "classroom", "big", "--replicates", "40", "--steps", "24", "--quiet", "--out", str(out))
        result = kreislauf(*args, "--scheduler", address)
        killer.join(10)
        assert_one_line(result, 1, "lost the connection to the Dask scheduler", "run the same command again to resume")
        stored = len(list((out / "measures").glob("run-*.parquet")))
        assert 2 <= stored < 80
    finally:
        for process in (worker, scheduler):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    again = kreislauf(*args, "--workers", "1")
    assert again.returncode == 0, again.stderr
    assert len(list((out / "measures").glob("run-*.parquet"))) == 80


# -- limits that protect memory ------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        ({"steps": 100_000}, ["firm-months of work", "over 100,000 months", "lower steps"]),
        ({"market.entry_rate": 1000.0, "steps": 1200}, ["about 1,200,", "firms in all", "lower market.entry_rate"]),
        ({"populations.0.count": 190_000, "steps": 600}, ["firm-months", "at most 50,000,000"]),
    ],
)
def test_work_a_scenario_implies_is_bounded_before_anything_is_built(
    tmp_path: Path, overrides: dict[str, object], fragments: list[str]
) -> None:
    from sim.scenario.toml_writer import to_toml

    scenario = load_scenario("open_market")
    data = scenario.model_dump(mode="python", exclude_none=True)
    for key, value in overrides.items():
        node = data
        *parents, last = key.split(".")
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[last] = value
    path = tmp_path / "huge.toml"
    path.write_text(to_toml(data), encoding="utf-8")
    assert_one_line(kreislauf("validate", str(path)), 2, str(path), *fragments)
    assert_one_line(kreislauf("run", str(path), "--out", str(tmp_path / "r")), 2, *fragments)
    assert not (tmp_path / "r").exists()


def test_more_workers_than_cores_are_capped_with_a_warning(capsys: pytest.CaptureFixture[str]) -> None:
    from analysis.engines import PoolEngine, engine_for

    cores = os.cpu_count() or 1
    engine = engine_for(1000)
    assert isinstance(engine, PoolEngine) and engine.workers == max(cores, 2)
    assert f"1000 workers asked for, this machine has {cores} cores" in capsys.readouterr().err
    assert engine_for(2).workers == 2 and capsys.readouterr().err == ""


def test_a_damaged_failure_record_is_named_in_runs_csv(tmp_path: Path) -> None:
    from analysis.store import ResultsFolder

    out = tmp_path / "c"
    assert small_compare(out, "--quiet").returncode == 0
    (out / "measures" / "run-000002.parquet").unlink()
    (out / "failures" / "run-000002.json").write_bytes(b"\x00garbage")
    runs = ResultsFolder(out).runs_table()
    assert runs.loc[runs["run"] == 2, "error"].item().startswith("its failure record run-000002.json cannot be read")


def test_runs_formatted_together_are_the_bytes_of_each_run_formatted_alone(tmp_path: Path) -> None:
    import pandas as pd

    from analysis.store import TABLES, ResultsFolder

    out = tmp_path / "c"
    assert small_compare(out, "--quiet").returncode == 0
    folder = ResultsFolder(out)
    runs = sorted(folder.finished())
    # Run 3's cooperations with a missing whole number: alone it reads as decimals, so it cannot join a batch.
    path = out / "cooperations" / "run-000003.parquet"
    log = pd.read_parquet(path)
    whole = [c for c in log.columns if str(log[c].dtype) == "int64" and c not in ("run", "point", "replicate", "seed")]
    log[whole[-1]] = log[whole[-1]].astype("float64").where(log.index > 0)
    log.to_parquet(path, index=False)
    for table in TABLES:
        alone = [folder._csv_rows(table, run) for run in runs]
        together = folder._csv_batch(table, runs)
        header = alone[0][: alone[0].index(b"\n") + 1]
        assert b"".join(rows[len(header) :] for _, rows in together) == b"".join(a[len(header) :] for a in alone)
    assert len(folder._csv_batch("cooperations", runs)) == len(runs)  # formatted one by one
    # Replicates of one scenario share their types: formatted together. Here classroom and big do not (a count
    # that has missing months in one run is stored as decimals there): formatted alone.
    assert len(folder._csv_batch("focal_firms", [2, 3])) == 1
    assert len(folder._csv_batch("measures", [0, 1, 2, 3])) > 1


def test_a_sweep_plan_holds_values_not_scenarios(tmp_path: Path) -> None:
    import tracemalloc

    from analysis.plan import SweepPoints
    from analysis.sweeps import sweep_plan

    path = tmp_path / "many.toml"
    path.write_text(
        'name = "many"\nbase = "classroom"\nreplicates = 1\n[sampler]\nmethod = "latin"\nsamples = 4000\n'
        '[parameters.bias]\npath = "kreislauf.familiarity_bias"\nrange = [0.0, 1.0]\n'
    )
    tracemalloc.start()
    try:
        plan = sweep_plan(path)
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(plan.points, SweepPoints) and len(plan.points) == plan.size == 4000
    assert held < 20 * 2**20, f"a plan of 4000 points holds {held / 2**20:.0f} MB"  # 4000 scenarios: about 100 MB
    point = plan.points[1234]
    bias = point.parameters["bias"]
    assert point.scenario.kreislauf.familiarity_bias == bias
    assert point.scenario == load_scenario("classroom").with_overrides({"kreislauf.familiarity_bias": bias})
    assert sweep_plan(path).fingerprint() == plan.fingerprint()
