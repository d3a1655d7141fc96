"""The command line: outputs, summaries, and bad input that ends with exit code 2 and one clear line."""

from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from analysis.cli import main

ROOT = Path(__file__).resolve().parents[1]


def kreislauf(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the command in this process (fast), as the console script would."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def test_the_installed_command_reports_bad_input_without_a_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("name = 'x'\nsteps = -3\n")
    result = subprocess.run([sys.executable, "-m", "analysis.cli", "run", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("kreislauf: error: ") and "Traceback" not in result.stderr
    assert "steps = -3" in result.stderr and "greater than or equal to 1" in result.stderr


def write(tmp_path: Path, text: str, name: str = "bad.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def assert_bad(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line]
    assert len(lines) == 1 or lines[0].startswith("usage:"), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_run_writes_outputs_and_a_summary(tmp_path: Path) -> None:
    result = kreislauf("run", "open_market", "--steps", "36", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "focal firm" in result.stdout and "flying-parts" in result.stdout
    measures = pd.read_parquet(tmp_path / "out" / "measures.parquet")
    assert len(measures) == 37 and measures["step"].tolist() == list(range(37))
    assert pd.read_csv(tmp_path / "out" / "measures.csv").shape == measures.shape
    log = pd.read_parquet(tmp_path / "out" / "cooperations.parquet")
    assert {"months_partner_search", "outcome", "reason", "value"} <= set(log.columns)
    # The summary says over which firms producer profit is taken: every producer, whose number it names.
    last, year = measures.iloc[-1], measures.iloc[-12:]
    firms, producers = int(last["firms"]), int(last["producers"])
    assert f"firms at the end{' ' * 23}{firms}: {producers} producers, {firms - producers} service" in result.stdout
    count = year["producers"]
    shown = str(int(count.iloc[0])) if count.nunique() == 1 else f"~{round(count.mean())}"
    assert f"k EUR, mean over all {shown} producers" in result.stdout


def test_the_run_summary_of_the_group_names_its_roles(tmp_path: Path) -> None:
    result = kreislauf("run", "big", "--steps", "13", "--out", str(tmp_path / "out"))
    assert result.returncode == 0, result.stderr
    assert "10: 6 producers, 4 service (0 entered, 0 left)" in result.stdout
    assert "k EUR, mean over all 6 producers" in result.stdout


def test_open_market_log_shows_every_phase_and_both_outcomes(tmp_path: Path) -> None:
    result = kreislauf("run", "open_market", "--out", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0
    log = pd.read_csv(tmp_path / "out" / "cooperations.csv")
    for phase in ("needs_assessment", "partner_search", "structure", "relationship", "evaluation"):
        assert (log[f"months_{phase}"] > 0).any(), phase
    assert {"continue", "exit"} <= set(log["outcome"])
    assert log.loc[log["outcome"] == "exit", "reason"].str.len().gt(0).all()


def test_scenarios_lists_the_builtins() -> None:
    result = kreislauf("scenarios")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    sweeps_at = next(i for i, line in enumerate(lines) if line.startswith("sweeps"))
    scenarios = [line.split()[0] for line in lines[1:sweeps_at]]
    sweeps = [line.split()[0] for line in lines[sweeps_at + 1 :]]
    assert scenarios == [
        "big",
        "big_in_market",
        "breach_in_market",
        "classroom",
        "fragility",
        "fragility_in_market",
        "open_market",
    ]
    assert sweeps == [
        "breach_group_in_market",
        "breach_in_group",
        "breach_in_open_market",
        "integrity",
        "robustness",
        "search",
        "shared_services",
    ]


def test_validate_accepts_every_builtin() -> None:
    for path in sorted((ROOT / "scenarios").glob("*.toml")):
        result = kreislauf("validate", str(path))
        assert result.returncode == 0, result.stderr
        kind = "sweep" if path.name.startswith("sweep_") else "scenario"
        assert f"valid {kind}" in result.stdout


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        ("name = 'x'\nsteps = [", ["bad.toml", "not valid TOML"]),
        ("name = 'x'\nstepz = 3\n[[firms]]\n", ["stepz", "unknown key", "steps"]),
        ("name = 'x'\nsteps = 'ten'", ["steps", "'ten'", "integer"]),
        ("name = 'x'\n[trust]\nforgetting = nan", ["trust.forgetting", "finite"]),
        ("name = 'x'\n[trust]\nforgetting = 1.5", ["trust.forgetting", "1.5", "less than or equal to 1"]),
        (
            "name = 'x'\n[[populations]]\nname = 'p'\ncount = 100000000\nniches = 3",
            ["populations[0].count", "100000000", "500000"],
        ),
        (
            "name = 'x'\n[[populations]]\nname = 'p'\ncount = 3\nniches = 3\n[populations.integrity]\nmean = 0.5\nsd = 0.6",
            ["populations[0].integrity.sd", "0.5"],
        ),
        (
            "name = 'x'\n[[populations]]\nname = 'p'\ncount = 3\nniches = 2\n[[events]]\nstep = 5\nkind = 'leave'\nfirm = 'Nobody'",
            ["unknown firm", "Nobody"],
        ),
        (
            "name = 'x'\n[[populations]]\nname = 'p'\ncount = 3\nniches = 2\n[[events]]\nstep = 5\nkind = 'explode'",
            ["events[0]", "explode"],
        ),
        ("\xff\xfe", ["not UTF-8"]),
    ],
)
def test_bad_scenarios_exit_2_with_one_clear_line(tmp_path: Path, text: str, fragments: list[str]) -> None:
    path = tmp_path / "bad.toml"
    path.write_bytes(text.encode("latin-1"))
    for command in ("validate", "run"):
        assert_bad(
            kreislauf(command, str(path), *(["--out", str(tmp_path / "o")] if command == "run" else [])), *fragments
        )


def test_missing_or_unreadable_paths(tmp_path: Path) -> None:
    assert_bad(kreislauf("run", str(tmp_path / "nope.toml")), "nope.toml", "file not found")
    assert_bad(kreislauf("run", "no_such_scenario"), "no_such_scenario", "built-ins are")
    assert_bad(kreislauf("validate", str(tmp_path)), "is a directory")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--steps", "0"], "--steps must be from 1"),
        (["--steps", "many"], "--steps must be a whole number"),
        (["--steps", "99999999999"], "--steps must be from 1"),
        (["--seed", "-1"], "--seed must be from 0"),
    ],
)
def test_bad_command_line_values(args: list[str], fragment: str) -> None:
    result = kreislauf("run", "big", *args)
    assert result.returncode == 2 and fragment in result.stderr and "Traceback" not in result.stderr


def test_an_unwritable_results_folder_fails_before_the_run(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("keep me")
    assert_bad(kreislauf("run", "big", "--out", str(blocker)), "must be a folder")
    assert blocker.read_text() == "keep me"


def test_existing_results_are_not_lost_on_bad_input(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert kreislauf("run", "big", "--steps", "6", "--out", str(out), "--quiet").returncode == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    bad = write(tmp_path, "name = 'x'\nsteps = -3")
    assert_bad(kreislauf("run", str(bad), "--out", str(out)), "steps")
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before


def test_a_shorter_run_leaves_out_later_events(tmp_path: Path) -> None:
    result = kreislauf("run", "fragility", "--steps", "12", "--out", str(tmp_path / "out"), "--quiet")
    assert result.returncode == 0, result.stderr
    assert "leaves out 2 scheduled event(s), at month(s) 36, 36" in result.stderr
    assert "[[events]]" not in (tmp_path / "out" / "scenario.toml").read_text()


def test_a_value_that_fits_no_form_of_a_field_names_every_form(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("name = 'x'\n[[populations]]\nname = 'p'\ncount = 3\nniches = 3.5\n")
    assert_bad(
        kreislauf("validate", str(path)), "populations[0].niches = 3.5", "valid list or input should be a valid integer"
    )


# -- sweeps from the command line -----------------------------------------------

SMALL_SWEEP = """\
name = "small"
base = "classroom"
compare_to = "fragility"
replicates = 3
seed = 1
steps = 24

[parameters.bias]
path = "kreislauf.familiarity_bias"
values = [0.0, 1.0]

[record]
measures = ["producer_profit", "mean_trust", "exited", "defection_rate", "capital_gini"]
"""


def test_sweep_overrides_replicates_seed_and_steps_and_records_them(tmp_path: Path) -> None:
    file = write(tmp_path, SMALL_SWEEP, "small.toml")
    out = tmp_path / "out"
    args = [
        "sweep",
        str(file),
        "--replicates",
        "2",
        "--seed",
        "5",
        "--steps",
        "12",
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    result = kreislauf(*args)
    assert result.returncode == 0, result.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["replicates"] == 2 and manifest["master_seed"] == 5 and manifest["runs"] == 4
    assert manifest["design"]["overrides"] == {"replicates": 2, "seed": 5, "steps": 12}
    assert manifest["design"]["compare_to"] == "fragility"
    measures = pd.read_csv(out / "measures.csv")
    assert measures["step"].max() == 12 and measures["run"].nunique() == 4
    reference = pd.read_csv(out / "reference" / "measures.csv")
    assert set(reference["scenario"]) == {"fragility"} and reference["step"].max() == 12
    assert sorted(reference["seed"].unique()) == sorted(measures["seed"].unique())  # paired with the sweep
    # The terminal table: the reference row, one precision per measure, and the measures it leaves out.
    lines = result.stdout.splitlines()
    assert lines[0].startswith("small: 2 points x 2 replicates;")
    assert any(line.startswith("fragility (compare_to)") for line in lines)
    assert (
        "2 more measures recorded (defection_rate, capital_gini): all are in summary.csv and in the report"
        in result.stdout
    )
    for line in lines:
        if line.startswith(("0 ", "1 ", "fragility")):
            cells = re.findall(r"(-?[\d,]+\.?\d*) \[(-?[\d,]+\.?\d*), (-?[\d,]+\.?\d*)\]", line)
            for cell in cells:  # mean and both interval ends with the same decimals
                assert len({len(x.split(".")[1]) if "." in x else 0 for x in cell}) == 1, line


def test_a_refused_results_folder_names_a_free_one(tmp_path: Path) -> None:
    file = write(tmp_path, SMALL_SWEEP, "small.toml")
    out = tmp_path / "out"
    common = ["sweep", str(file), "--steps", "6", "--workers", "1", "--out", str(out), "--quiet"]
    assert kreislauf(*common, "--replicates", "1").returncode == 0
    (tmp_path / "out-2").mkdir()
    (tmp_path / "out-2" / "keep.txt").write_text("mine")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    result = kreislauf(*common, "--replicates", "2")
    assert_bad(result, "holds the results of a different sweep", f"--out {tmp_path / 'out-3'}")
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # nothing lost
    assert (
        kreislauf(
            "sweep",
            str(file),
            "--steps",
            "6",
            "--workers",
            "1",
            "--replicates",
            "2",
            "--quiet",
            "--out",
            str(tmp_path / "out-3"),
        ).returncode
        == 0
    )


def test_a_sweep_is_stored_under_the_name_the_user_typed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path, SMALL_SWEEP, "sweep_small.toml")
    assert (
        kreislauf(
            "sweep", "sweep_small.toml", "--steps", "3", "--replicates", "1", "--workers", "1", "--quiet"
        ).returncode
        == 0
    )
    assert (tmp_path / "results" / "sweep_small" / "manifest.json").exists()


@pytest.mark.parametrize("command", ["compare", "sweep", "sensitivity", "run", "report"])
def test_help_texts_print_plain_percent_signs(command: str) -> None:
    result = kreislauf(command, "--help")
    assert result.returncode == 0 and "%%" not in result.stdout


def test_sweep_help_names_the_overrides() -> None:
    text = kreislauf("sweep", "--help").stdout
    assert "--replicates" in text and "--seed" in text and "--steps" in text


def test_one_replicate_is_singular(tmp_path: Path) -> None:
    result = kreislauf(
        "compare",
        "classroom",
        "fragility",
        "--replicates",
        "1",
        "--steps",
        "3",
        "--workers",
        "1",
        "--out",
        str(tmp_path / "c"),
    )
    assert result.returncode == 0, result.stderr
    assert "1 replicate per scenario" in result.stdout and "1 replicates" not in result.stdout
