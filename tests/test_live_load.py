"""A class on one laptop: many students' pages on one ``kreislauf live`` server, over loopback only.

The short variants here run in the normal suite; ``python bench/live.py
--load`` runs the full minute with 40 students and reports latency and memory.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from types import ModuleType

import pytest

from analysis.live.app import load_line, network_addresses
from analysis.live.session import SessionStore


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
        health = json.loads(urllib.request.urlopen(url + "health", timeout=30).read())
    assert result["errors"] == 0, result["first_errors"]
    assert result["lecturer_intact"], result["lecturer_month"]
    assert result["steps"] >= 41  # every page stepped at least once
    assert result["mb_per_session"] > 0 and result["step_p95_ms"] >= result["step_p50_ms"]
    # The server reports its pages and memory itself, where a lecturer or an administrator can read them.
    assert health["pages"] == 41, health
    assert health["memory_mb"] > health["started_mb"] > 0 and health["mb_per_page"] > 0


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


def test_with_host_0000_the_command_prints_the_addresses_students_open_and_reports_its_load() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = Path(sys.executable).parent / "kreislauf"
    argv = [str(command), "live", "classroom", "--host", "0.0.0.0", "--no-browser", "--port", str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or "at most" not in lines[-1]:  # the command's own lines, the session limit last
            line = proc.stdout.readline()
            assert line, f"kreislauf live stopped: {lines}"
            lines.append(line.strip())
        others = network_addresses()
        if others:
            assert f"students open {', '.join(f'http://{a}:{port}/' for a in others)}" in "\n".join(lines)
        else:
            assert any("no network address others could reach" in line for line in lines)
        assert f"http://127.0.0.1:{port}/health" in lines[-1]
        for _ in range(100):
            try:
                health = json.loads(urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5).read())
                break
            except OSError:
                time.sleep(0.1)
        assert health["pages"] == 0 and health["capacity"] == 60
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_the_load_line_says_pages_and_memory_per_page() -> None:
    store = SessionStore(capacity=3)
    report = store.report()
    assert report["pages"] == 0 and report["mb_per_page"] is None
    assert load_line(report).startswith("kreislauf live: 0 of at most 3 pages have a run")
    line = load_line({"pages": 2, "capacity": 40, "memory_mb": 310.4, "started_mb": 300.0, "mb_per_page": 5.2})
    assert line == "kreislauf live: 2 of at most 40 pages have a run; server memory 310 MB (about 5.2 MB a page)"
