"""bench/phases.py times every part of a month on the model's own objects, and refuses bad input with one line."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _phases() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_phases", BENCH / "phases.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_every_part_of_the_month_is_timed_inside_the_month() -> None:
    phases = _phases()
    big = next(w for w in phases.FULL_WORKLOADS if w.name == "big")
    result = phases.measure(big, seeds=2, steps=14)
    assert list(result["parts"]) == [part for part, _, _ in phases.PARTS]
    # Each part ran (the B.I.G. trades, runs relationships and collects every month) and the parts lie inside the month.
    assert all(result["parts"][part] > 0 for part in ("4 relationship", "trade", "measures", "climate"))
    assert sum(result["parts"].values()) <= result["month_us"]
    assert result["steps"] == 14 and result["seeds"] == 2 and result["firm_steps_per_second"] > 0
    import sim.group

    assert sim.group.review_members.__module__ == "sim.group"  # the module's functions are put back


@pytest.mark.parametrize(
    ("args", "said"),
    [(["big", "--seeds", "0"], "--seeds must be at least 1"), (["big", "--record", "nope"], "unknown measure")],
)
def test_bad_input_ends_with_one_line_and_exit_code_2(args: list[str], said: str) -> None:
    done = subprocess.run([sys.executable, str(BENCH / "phases.py"), *args], capture_output=True, text=True)
    assert done.returncode == 2
    assert said in done.stderr and "Traceback" not in done.stderr
