"""The attack set, kept as a regression suite: hostile and unlucky input ends in one line, never a traceback.

Each case is what a hostile user (or an unlucky one) gave the command line
or the Python API: names that are paths, special files, damaged results.
Every case must end with exit code 2 (bad input) or 1 (a fault of the
machine), one line on standard error naming the file or key, and no file
written outside the folder the command was given.
"""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import pytest

from analysis.cli import main
from sim import CooperationModel
from sim.network import write_network
from sim.scenario import ScenarioError, load_scenario
from sim.scenario.load import MAX_FILE_BYTES

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = (ROOT / "scenarios" / "classroom.toml").read_text(encoding="utf-8")


def kreislauf(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the command in this process, as the console script would."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


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
