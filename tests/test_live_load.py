"""A class on one laptop: many students' pages on one ``kreislauf live`` server, over loopback only.

The short variants here run in the normal suite; ``python bench/live.py
--load`` runs the full minute with 40 students and reports latency and memory.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from analysis.live.app import network_addresses


def bench() -> ModuleType:
    """``bench/live.py`` as a module (its class-load driver is the one the benchmark uses)."""
    path = Path(__file__).resolve().parent.parent / "bench" / "live.py"
    spec = importlib.util.spec_from_file_location("bench_live", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc")
def test_forty_students_and_the_lecturer_step_together_without_an_error() -> None:
    live = bench()
    with live.live_server("classroom", "--beside", "none") as (url, pid):
        result = live.class_load(url, pid, students=40, seconds=4.0, interval=1.0)
    assert result["errors"] == 0, result["first_errors"]
    assert result["lecturer_intact"], result["lecturer_month"]
    assert result["steps"] >= 41  # every page stepped at least once
    assert result["mb_per_session"] > 0 and result["step_p95_ms"] >= result["step_p50_ms"]


def test_a_full_server_refuses_newcomers_and_keeps_every_open_page() -> None:
    live = bench()
    with live.live_server("classroom", "--beside", "none", "--max-sessions", "5") as (url, _):
        pages = [live.Student(url) for _ in range(8)]
        for page in pages:
            page.send(None)  # the page loads, one after another: the lecturer's first
        for page in pages:
            page.step()
    kept, refused = pages[:5], pages[5:]
    assert all(not p.dropped and p.month.startswith("Month 1 of") for p in kept)
    assert all(p.dropped and "Cannot start a run" in p.errors[0] and "--max-sessions" in p.errors[0] for p in refused)


def test_max_sessions_outside_its_range_is_refused_clearly() -> None:
    command = Path(sys.executable).parent / "kreislauf"
    done = subprocess.run(
        [str(command), "live", "--no-browser", "--max-sessions", "0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "--max-sessions" in done.stderr and "Traceback" not in done.stderr


def test_the_network_addresses_are_addresses_others_can_reach() -> None:
    for address in network_addresses():
        ip = ipaddress.ip_address(address)
        assert ip.version == 4 and not ip.is_loopback and not ip.is_unspecified
