"""How fluidly the live classroom app runs: months per second, model and redraw together.

Usage, from the repository root::

    python bench/live.py [--seconds S] [--scenario NAME] [--beside NAME]

Two measures, on the classroom scenario by default:

- **server**: what one tick of the app costs on the server, without a
  browser: a session steps one month and builds what the page receives (the
  network's and the running plots' patches and the event feed), serialised to
  JSON as Dash sends it. Reported as months per second over a whole run
  (best of three).
- **browser**: the real thing. ``kreislauf live`` is started on a free port
  of 127.0.0.1, headless Chromium (Debian's ``/usr/bin/chromium`` through
  Playwright) opens it, sets the speed to its maximum (10 months per second)
  and presses play; the months the page shows after ``--seconds`` seconds,
  divided by the seconds, are the months per second a class sees, every
  month drawn.

Target: at least 5 months per second in the browser on the classroom
scenario. A table goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("analysis") is None:
    sys.path.insert(0, str(REPO_ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]


def server_months_per_second(scenario: str, beside: str | None) -> float:
    """Months per second of the app's work per tick, without a browser (best of three runs)."""
    import plotly

    from analysis.live import Settings
    from analysis.live.session import Session
    from analysis.live.views import feed_items, network_data, network_patch, running_patch

    best = 0.0
    for _ in range(3):
        session = Session(Settings(scenario=scenario, beside=beside))
        months = session.worlds[0].model.scenario.steps
        start = time.perf_counter()
        for _ in range(months):
            session.step()
            payload = [network_patch(network_data(w)) for w in session.worlds]
            payload.append(running_patch(session.worlds))
            payload.append(feed_items(session.worlds))
            json.dumps(payload, cls=plotly.utils.PlotlyJSONEncoder)
        best = max(best, months / (time.perf_counter() - start))
    return best


def browser_months_per_second(scenario: str, beside: str | None, seconds: float) -> float:
    """Months per second shown in headless Chromium while playing at full speed."""
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = Path(sys.executable).parent / "kreislauf"
    argv = [str(command), "live", scenario, "--beside", beside or "none", "--no-browser", "--port", str(port)]
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            page = browser.new_page(viewport={"width": 1500, "height": 1300})
            page.goto(url)
            page.wait_for_selector("#month:has-text('Month 0 ')", timeout=60_000)
            page.focus("#speed [role=slider]")
            page.keyboard.press("End")  # 10 months per second
            page.click("#play")
            page.wait_for_selector("#month:has-text('Month 1 ')", timeout=60_000)
            start, first = time.perf_counter(), 1
            time.sleep(seconds)
            reached = int(page.inner_text("#month").split()[1])
            elapsed = time.perf_counter() - start
            page.click("#pause")
            browser.close()
        return (reached - first) / elapsed
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def main() -> None:
    """Measure and print the table and the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="seconds of play in the browser (default 10)")
    parser.add_argument("--scenario", default="classroom", help="built-in scenario (default classroom)")
    parser.add_argument("--beside", default=None, help="a scenario side by side with it (default none)")
    args = parser.parse_args()
    server = server_months_per_second(args.scenario, args.beside)
    browser = browser_months_per_second(args.scenario, args.beside, args.seconds)
    label = args.scenario + (f" beside {args.beside}" if args.beside else "")
    print(f"{label}: server {server:.1f} months/s, browser {browser:.1f} months/s (target >= 5)", file=sys.stderr)
    result = {
        "scenario": args.scenario,
        "beside": args.beside,
        "server_months_per_second": round(server, 2),
        "browser_months_per_second": round(browser, 2),
        "target_browser_months_per_second": 5,
        "met": browser >= 5,
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
