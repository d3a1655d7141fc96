"""Size, build time and drawing time of the HTML reports.

Usage, from the repository root::

    python bench/report.py [--quick] [--repeats N]

Three results folders are made in a temporary folder: the B.I.G. run
(``kreislauf run big``), a 30-replicate comparison of the B.I.G. and the open
market (``kreislauf compare big open_market``) and a run of the open market
scaled to 1,000 firms. For each, the report is built (best of ``--repeats``,
timed with ``time.perf_counter``) and opened from ``file://`` in headless
Chromium (Debian's ``/usr/bin/chromium`` through Playwright), timing from
navigation until the first screen has drawn (figures are drawn as they come
near the screen) and until every figure has drawn, scrolling down as a reader
does. The same browser's time to evaluate Plotly's JavaScript alone, on an
otherwise empty page, is reported as the floor of any report. ``--quick``
uses 5 replicates and 200 firms.

Targets for the 1,000-firm run: under 10 MB and drawn within 3 s. A table
goes to stderr; the last line of stdout is one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if importlib.util.find_spec("analysis") is None:
    sys.path.insert(0, str(REPO_ROOT))

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
# The first screen: every figure that starts inside the window has drawn.
FIRST_SCREEN = (
    "() => { const plots = [...document.querySelectorAll('.plot')];"
    " const seen = plots.filter(d => d.getBoundingClientRect().top < window.innerHeight);"
    " return document.readyState !== 'loading' && plots.length > 0 && seen.every(d => d.querySelector('.main-svg')); }"
)
ALL_DRAWN = "() => [...document.querySelectorAll('.plot')].every(d => d.querySelector('.main-svg'))"


def _best(func: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        best = min(best, time.perf_counter() - start)
    return best


def _draw_seconds(page_path: Path, repeats: int) -> tuple[float, float]:
    """Best seconds from navigation to the first screen drawn, and to every figure drawn (scrolling down)."""
    from playwright.sync_api import sync_playwright

    first, whole = float("inf"), float("inf")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeats):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            start = time.perf_counter()
            page.goto(page_path.as_uri(), wait_until="commit")
            page.wait_for_function(FIRST_SCREEN, polling=20, timeout=120_000)
            first = min(first, time.perf_counter() - start)
            for plot in page.locator(".plot").all():
                plot.scroll_into_view_if_needed()
            page.wait_for_function(ALL_DRAWN, polling=20, timeout=120_000)
            whole = min(whole, time.perf_counter() - start)
            page.close()
        browser.close()
    return first, whole


def _plotly_only_seconds(root: Path, repeats: int) -> float:
    """Seconds to evaluate Plotly's JavaScript alone in the same browser: the floor of any report."""
    from playwright.sync_api import sync_playwright
    from plotly.offline import get_plotlyjs

    page_path = root / "plotly-only.html"
    page_path.write_text(f"<html><head><script>{get_plotlyjs()}</script></head><body>ready</body></html>")
    best = float("inf")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for _ in range(repeats):
            page = browser.new_page()
            start = time.perf_counter()
            page.goto(page_path.as_uri(), wait_until="commit")
            page.wait_for_function("() => window.Plotly && document.body", polling=20)
            best = min(best, time.perf_counter() - start)
            page.close()
        browser.close()
    return best


def main(argv: Sequence[str] | None = None) -> None:
    """Build and draw the three reports; print the JSON line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 replicates and 200 firms")
    parser.add_argument("--repeats", type=int, default=3, help="best of N builds and draws (default 3)")
    args = parser.parse_args(argv)

    from analysis.experiments import compare
    from analysis.report import write_report
    from analysis.runs import run_scenario, write_run
    from sim import load_scenario

    replicates, firms = (5, 200) if args.quick else (30, 1000)
    root = Path(tempfile.mkdtemp(prefix="kreislauf-bench-report-"))
    results = {}
    try:
        folders = {
            "big_run": root / "big",
            f"compare_{replicates}": root / "compare",
            f"market_{firms}_run": root / "market",
        }
        write_run(run_scenario("big"), folders["big_run"])
        compare(["big", "open_market"], replicates=replicates, out=folders[f"compare_{replicates}"], progress=False)
        write_run(run_scenario(load_scenario("open_market").scaled_to(firms)), folders[f"market_{firms}_run"])
        for name, folder in folders.items():
            build = _best(lambda f=folder: write_report(f), args.repeats)
            page = folder / "report.html"
            size = page.stat().st_size / 2**20
            first, whole = _draw_seconds(page, args.repeats)
            results[name] = {
                "size_mb": round(size, 2),
                "build_seconds": round(build, 2),
                "first_screen_seconds": round(first, 2),
                "all_drawn_seconds": round(whole, 2),
            }
            print(
                f"  {name:<18} {size:6.1f} MB  built in {build:5.1f} s  first screen in {first:5.1f} s"
                f"  all figures in {whole:5.1f} s",
                file=sys.stderr,
            )
        floor = _plotly_only_seconds(root, args.repeats)
        print(f"  Plotly's JavaScript alone: {floor:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    big = f"market_{firms}_run"
    verdict = {
        "size_under_10_mb": results[big]["size_mb"] < 10,
        "first_screen_within_3_s": results[big]["first_screen_seconds"] <= 3,
    }
    print(
        json.dumps({"reports": results, "plotly_js_seconds": round(floor, 2), "targets": verdict, "quick": args.quick})
    )


if __name__ == "__main__":
    main()
