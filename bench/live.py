"""How fluidly the live classroom app runs, and how many students one laptop serves.

Usage, from the repository root::

    python bench/live.py [--seconds S] [--scenario NAME] [--beside NAME]
    python bench/live.py --load [--students N] [--seconds S] [--interval S]

Measures, on the main lesson (the B.I.G. beside the open market) by default:

- **server**: what one tick of the app costs on the server, without a
  browser: a session steps one month and builds what the page receives (the
  networks' and the running plots' patches and the feed's new lines),
  serialised to JSON as Dash sends it. Months per second over the first 60
  months (best of three).
- **browser at speed 5 and 10**: ``kreislauf live`` on a free port of
  127.0.0.1, headless Chromium (Debian's ``/usr/bin/chromium`` through
  Playwright) opens it at 1280 x 720, sets the speed and presses Play; the
  months the page shows after ``--seconds`` seconds, divided by the seconds,
  are the months per second a class sees, every month drawn. Also reported:
  whether the page said it was falling behind, and the rate it showed.
  Targets: 5 months/s at speed 5, 8 at speed 10.
- **--load**: a class on one laptop. ``--students`` simulated students (40)
  and a lecturer open the app over loopback at once, each its own page and
  run, and press Step every ``--interval`` seconds for ``--seconds`` seconds
  (60), as the page sends it (Dash's HTTP API). Reported: errors, whether the
  lecturer's run stayed intact (never dropped, at the month it stepped to),
  the median and 95th percentile of the callback latency, and the server's
  memory before, with every page open, and at the end (per session too),
  beside what the server reports of itself at ``/health``.

A table goes to stderr; the last line of stdout is one JSON object. Figures
depend on the machine and on what else runs on it: say under what load they
were measured.
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("analysis") is None:
    sys.path.insert(0, str(REPO_ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def server_months_per_second(scenario: str, beside: str | None, months: int = 60) -> float:
    """Months per second of the app's work per tick, without a browser (best of three runs)."""
    import plotly

    from analysis.live import Settings
    from analysis.live.session import Session
    from analysis.live.views import feed_lines, network_data, network_patch, running_patch

    best = 0.0
    for _ in range(3):
        session = Session(Settings(scenario=scenario, beside=beside).checked())
        months = min(months, session.horizon)
        shown = [0, 0]
        start = time.perf_counter()
        for _ in range(months):
            session.step()
            payload: list[Any] = [network_patch(network_data(w)) for w in session.worlds]
            payload.append(running_patch(session.worlds, session.breaches))
            for k, w in enumerate(session.worlds):
                payload.append(feed_lines(w, shown[k]))
                shown[k] = len(w.feed)
            json.dumps(payload, cls=plotly.utils.PlotlyJSONEncoder)
        best = max(best, months / (time.perf_counter() - start))
    return best


def free_port() -> int:
    """A free TCP port of 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def live_server(*args: str) -> Iterator[tuple[str, int]]:
    """``kreislauf live ARGS`` on a free port of 127.0.0.1 until the block ends: its address and process id."""
    port = free_port()
    command = Path(sys.executable).parent / "kreislauf"
    argv = [str(command), "live", *args, "--no-browser", "--port", str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError(f"kreislauf live stopped with exit code {proc.returncode}") from None
                time.sleep(0.1)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def browser_months_per_second(scenario: str, beside: str | None, seconds: float, speed: int) -> dict[str, Any]:
    """Months per second shown in headless Chromium while playing at ``speed``, and what the page said."""
    from playwright.sync_api import sync_playwright

    with live_server(scenario, "--beside", beside or "none") as (url, _), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(url)
        page.wait_for_selector("#month:has-text('Month 0 ')", timeout=120_000)
        page.focus("#speed [role=slider]")
        page.keyboard.press("Home")
        for _ in range(speed - 1):
            page.keyboard.press("ArrowRight")
        page.click("#play")
        page.wait_for_selector("#month:has-text('Month 1 ')", timeout=60_000)
        start, first = time.perf_counter(), 1
        time.sleep(seconds)
        reached = int(page.inner_text("#month").split()[1])
        elapsed = time.perf_counter() - start
        shown = page.inner_text("#rate")
        page.click("#pause")
        browser.close()
    return {
        "speed": speed,
        "months_per_second": round((reached - first) / elapsed, 2),
        "page_said": shown,
    }


# ---------------------------------------------------------------------------
# A class on one laptop
# ---------------------------------------------------------------------------


class Student:
    """One page of the app, driven over HTTP as the browser drives it: load, then Step."""

    def __init__(self, url: str) -> None:
        host, port = url.split("//")[1].rstrip("/").split(":")
        self.connection = http.client.HTTPConnection(host, int(port), timeout=120)
        self.values: dict[str, Any] = {}
        self._collect(self._get("/_dash-layout"))
        self.sid = self.values["session.data"]
        (self.callback,) = [
            c for c in self._get("/_dash-dependencies") if c["output"].lstrip(".").startswith("network-0.figure")
        ]
        self.clicks = 0
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.month = ""
        self.dropped = False

    def _get(self, path: str) -> Any:
        self.connection.request("GET", path)
        return json.loads(self.connection.getresponse().read())

    def _collect(self, node: Any) -> None:
        if isinstance(node, dict):
            props = node.get("props", {})
            if isinstance(props.get("id"), str):
                for prop, value in props.items():
                    self.values[f"{props['id']}.{prop}"] = value
            for value in props.values():
                self._collect(value)
        elif isinstance(node, list):
            for item in node:
                self._collect(item)

    def _spec(self, item: dict[str, Any]) -> dict[str, Any]:
        return {**item, "value": self.values.get(f"{item['id']}.{item['property']}")}

    def send(self, changed: str | None) -> None:
        """One callback request: the page loading (``None``) or a click on Step."""
        outputs = [
            dict(zip(("id", "property"), o.rsplit(".", 1), strict=True))
            for o in self.callback["output"].strip(".").split("...")
        ]
        body = {
            "output": self.callback["output"],
            "outputs": outputs,
            "inputs": [self._spec(i) for i in self.callback["inputs"]],
            "state": [self._spec(s) for s in self.callback["state"]],
            "changedPropIds": [changed] if changed else [],
        }
        start = time.perf_counter()
        try:
            self.connection.request(
                "POST", "/_dash-update-component", json.dumps(body), {"Content-Type": "application/json"}
            )
            reply = self.connection.getresponse()
            data = reply.read()
        except OSError as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return
        self.latencies.append(time.perf_counter() - start)
        if reply.status != 200:
            self.errors.append(f"HTTP {reply.status}: {data[:200]!r}")
            return
        response = json.loads(data)["response"]
        for ident, props in response.items():
            for prop, value in props.items():
                if not (isinstance(value, dict) and "__dash_patch_update" in value):
                    self.values[f"{ident}.{prop.split('@')[0]}"] = value
        message = response.get("message", {}).get("children") or ""
        if "dropped" in message or "Cannot start" in message:
            self.dropped = True
            self.errors.append(message)
        self.month = response.get("month", {}).get("children", self.month)

    def step(self) -> None:
        """A click on Step."""
        self.clicks += 1
        self.values["step.n_clicks"] = self.clicks
        self.send("step.n_clicks")


def rss_mb(pid: int) -> float:
    """Resident memory of a process, in MB (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def class_load(url: str, pid: int, students: int = 40, seconds: float = 60.0, interval: float = 1.0) -> dict[str, Any]:
    """``students`` pages and a lecturer's open at once and press Step every ``interval`` s for ``seconds`` s.

    Returns
    -------
    dict
        Errors, the lecturer's run intact or not, latency quantiles (ms), the
        server's memory (MB) and the number of steps made.
    """
    before = rss_mb(pid)
    pages = [Student(url) for _ in range(students + 1)]
    lecturer = pages[0]
    start = threading.Barrier(len(pages))

    def load(page: Student) -> None:
        start.wait()
        page.send(None)

    threads = [threading.Thread(target=load, args=(p,)) for p in pages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    loaded = rss_mb(pid)
    load_latencies = [p.latencies[0] for p in pages if p.latencies]
    for p in pages:
        p.latencies.clear()
    end = time.monotonic() + seconds

    def play(page: Student) -> None:
        tick = time.monotonic()
        while time.monotonic() < end:
            page.step()
            tick += interval
            time.sleep(max(0.0, tick - time.monotonic()))

    threads = [threading.Thread(target=play, args=(p,)) for p in pages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    after = rss_mb(pid)
    with urllib.request.urlopen(url + "health", timeout=60) as reply:  # what the server says of itself
        health = json.loads(reply.read())
    latencies = sorted(x for p in pages for x in p.latencies)
    errors = [e for p in pages for e in p.errors]
    words = lecturer.month.split()  # "Month 60 of 60 (the end)"
    horizon = int(words[3]) if len(words) > 3 else 0
    expected = f"Month {min(lecturer.clicks, horizon)} of"
    return {
        "students": students,
        "seconds": seconds,
        "interval": interval,
        "steps": len(latencies),
        "errors": len(errors),
        "first_errors": errors[:3],
        "lecturer_intact": not lecturer.dropped and lecturer.month.startswith(expected),
        "lecturer_month": lecturer.month,
        "load_p50_ms": round(1000 * statistics.median(load_latencies), 1) if load_latencies else None,
        "step_p50_ms": round(1000 * statistics.median(latencies), 1) if latencies else None,
        "step_p95_ms": round(1000 * latencies[int(0.95 * (len(latencies) - 1))], 1) if latencies else None,
        "rss_before_mb": round(before, 1),
        "rss_loaded_mb": round(loaded, 1),
        "rss_after_mb": round(after, 1),
        "mb_per_session": round((loaded - before) / (students + 1), 2),
        "server_says": health,
    }


def main() -> None:
    """Measure and print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=None, help="seconds of play (default 10; 60 with --load)")
    parser.add_argument("--scenario", default="big", help="built-in scenario (default big)")
    parser.add_argument("--beside", default="open_market", help="a scenario side by side with it (default open_market)")
    parser.add_argument("--load", action="store_true", help="measure a class of students instead")
    parser.add_argument("--students", type=int, default=40, help="simulated students with --load (default 40)")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between a student's steps (default 1)")
    args = parser.parse_args()
    beside = None if args.beside == "none" else args.beside
    label = args.scenario + (f" beside {beside}" if beside else "")
    if args.load:
        seconds = args.seconds or 60.0
        with live_server(args.scenario, "--beside", beside or "none") as (url, pid):
            result = class_load(url, pid, args.students, seconds, args.interval)
        print(
            f"{label}: {args.students} students and a lecturer, a step every {args.interval} s for {seconds} s: "
            f"{result['steps']} steps, {result['errors']} errors, lecturer intact: {result['lecturer_intact']}; "
            f"latency p50 {result['step_p50_ms']} ms, p95 {result['step_p95_ms']} ms (first load p50 "
            f"{result['load_p50_ms']} ms); memory {result['rss_before_mb']} -> {result['rss_loaded_mb']} -> "
            f"{result['rss_after_mb']} MB ({result['mb_per_session']} MB per session); the server's /health: "
            f"{result['server_says']}",
            file=sys.stderr,
        )
        print(json.dumps({"scenario": args.scenario, "beside": beside, **result}))
        return
    seconds = args.seconds or 10.0
    server = server_months_per_second(args.scenario, beside)
    played = [browser_months_per_second(args.scenario, beside, seconds, speed) for speed in (5, 10)]
    targets = {5: 5.0, 10: 8.0}
    for p in played:
        p["target"] = targets[p["speed"]]
        p["met"] = p["months_per_second"] >= targets[p["speed"]]
    print(f"{label}: server {server:.1f} months/s", file=sys.stderr)
    for p in played:
        print(
            f"  speed {p['speed']}: browser {p['months_per_second']:.1f} months/s (target >= {p['target']}); "
            f"the page said {p['page_said']!r}",
            file=sys.stderr,
        )
    print(
        json.dumps(
            {
                "scenario": args.scenario,
                "beside": beside,
                "server_months_per_second": round(server, 2),
                "browser": played,
            }
        )
    )


if __name__ == "__main__":
    main()
