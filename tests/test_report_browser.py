"""Reports in a real browser: headless Chromium opens them from file://, offline, and draws every figure.

Needs Debian's ``chromium`` (``.ci/run`` installs it) and the ``playwright``
package. Screenshots go to ``tests/artifacts/`` for a person to look at.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from browser import ARGS, ARTIFACTS, CHROMIUM, require_chromium

from analysis import compare, figures
from analysis.report import write_report
from analysis.runs import run_scenario, write_run

sync_playwright = require_chromium(module_level=True)

SWEEP = """\
name = "browser"
base = "classroom"
replicates = 1
seed = 1
steps = 12

[sampler]
method = "morris"
samples = 2
levels = 4

[parameters.bias]
path = "kreislauf.familiarity_bias"
range = [0.0, 1.0]

[parameters.cost]
path = "kreislauf.search_cost_per_candidate"
range = [0.0, 2.0]

[record]
measures = ["mean_trust", "partner_fit", "producer_profit"]
last_only = true
window = 1

[sensitivity]
outcomes = ["producer_profit"]
"""


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("reports")
    run = root / "run"
    write_run(run_scenario("classroom", steps=36), run)
    compare(["classroom", "fragility"], replicates=2, steps=24, workers=1, out=root / "compare", progress=False)
    (root / "sweep.toml").write_text(SWEEP)
    from analysis.cli import main

    assert main(["sweep", str(root / "sweep.toml"), "--out", str(root / "sweep"), "--workers", "1", "--quiet"]) == 0
    # The shipped question, as a newcomer asks it: `kreislauf sweep integrity --replicates 2`.
    assert main(["sweep", "integrity", "--replicates", "2", "--out", str(root / "integrity"), "--quiet"]) == 0
    reports = {name: write_report(root / name) for name in ("run", "compare", "sweep")}
    return {**reports, "integrity": root / "integrity" / "report.html"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def open_report(browser: Any, path: Path) -> tuple[Any, list[str], list[str]]:
    """The page, its console errors and the URLs it requested, once every figure is drawn."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    # Figures are drawn as they come near the screen: scroll through the page as a reader does.
    # Scrolled by the page itself: Playwright's own scrolling first waits for the element to stop
    # moving, and figures above it keep resizing as they draw.
    for plot in page.locator(".plot:visible").all():
        plot.evaluate("el => el.scrollIntoView({block: 'center'})")
    wait_drawn(page)
    page.evaluate("() => window.scrollTo(0, 0)")
    return page, errors, requests


def wait_drawn(page: Any) -> None:
    """Wait until every figure on show (not those behind a chooser's other choices) is drawn."""
    page.wait_for_function(
        "() => [...document.querySelectorAll('.plot')].filter(d => d.offsetParent !== null)"
        ".every(d => d.querySelector('.main-svg')"
        " && (!d._fullData.some(t => t.type.endsWith('gl')) || d.querySelector('canvas')))",
        polling=200,  # an interval, not animation frames, which a page in the background may not get
        timeout=30_000,
    )


@pytest.mark.parametrize("kind", ["run", "compare", "sweep"])
def test_a_report_draws_every_figure_offline(reports: dict[str, Path], browser: Any, kind: str) -> None:
    page, errors, requests = open_report(browser, reports[kind])
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"report-{kind}.png"), full_page=True)
    assert errors == []
    assert [r for r in requests if not r.startswith("file://")] == []
    assert requests == [reports[kind].as_uri()]  # the page itself, nothing else
    figures = page.eval_on_selector_all(".plot[data-drawn]", "divs => divs.map(d => d.data.length)")
    assert len(figures) >= {"run": 10, "compare": 12, "sweep": 4}[kind]
    assert all(n > 0 for n in figures[:6]), figures  # the time series (or sweep effects) carry traces
    scripts = page.eval_on_selector_all("script", "s => s.filter(x => x.textContent.length > 1e6).length")
    assert scripts == 1  # Plotly's JavaScript, once
    page.close()


def test_moving_the_network_slider_changes_the_drawn_edges(reports: dict[str, Path], browser: Any) -> None:
    page, errors, _ = open_report(browser, reports["run"])
    net = page.locator(".plot").filter(has=page.locator(".slider-container")).first

    def edges() -> list[str]:
        return net.evaluate(
            "d => [...d.querySelectorAll('.scatterlayer .trace .js-line')].map(p => p.getAttribute('d'))"
        )

    before = edges()
    net.evaluate("el => el.scrollIntoView({block: 'center'})")
    page.wait_for_timeout(300)  # let the figures that resize as they draw settle before clicking by position
    rail = net.locator(".slider-rail-rect").bounding_box()
    assert rail is not None
    page.mouse.click(rail["x"] + rail["width"] - 3, rail["y"] + rail["height"] / 2)
    page.wait_for_function(
        "d => d.layout.sliders[0].active >= d.layout.sliders[0].steps.length - 2",
        arg=net.element_handle(),
        polling=100,
    )
    page.wait_for_timeout(500)
    after = edges()
    assert after != before
    net.screenshot(path=str(ARTIFACTS / "report-network-last-month.png"))
    assert errors == []
    page.close()


def test_the_sweep_report_answers_its_question(reports: dict[str, Path], browser: Any) -> None:
    """`kreislauf sweep integrity --replicates 2`: producer profit against integrity, the B.I.G. as the line to reach."""
    page, errors, requests = open_report(browser, reports["integrity"])
    cards = page.locator(".card").all_inner_texts()
    assert "Producers' profit (k EUR per month)" in cards[0] and "big:" in cards[0]
    options = page.locator("select.chooser option").all_inner_texts()
    recorded = ["producer_profit", "mean_trust", "defection_rate", "exited", "continued", "partner_fit", "capital_gini"]
    assert options == ["{} ({})".format(*figures.measure_label(m)) for m in recorded]
    group = pd.read_csv(reports["integrity"].parent / "reference" / "summary.csv").set_index("measure")["mean"]
    assert pd.notna(group["producer_profit"])  # so producer profit is drawn against the group's value
    for k, measure in enumerate(recorded):
        page.locator("select.chooser").select_option(str(k))
        wait_drawn(page)
        shown = page.eval_on_selector_all(
            ".choice:not([hidden]) .plot",
            "divs => divs.map(d => ({title: d.layout.title.text, names: d.data.map(t => t.name), n: d._fullData[0].x.length}))",
        )
        effect, series = shown
        assert effect["title"] == f"{figures.measure_label(measure)[0]} against market_integrity"
        assert effect["n"] == 12  # 6 values x 2 replicates: every run
        # The group's value is the line to reach, wherever the group has one (no searches there: no partner fit).
        assert ("big (reference)" in effect["names"]) == bool(pd.notna(group[measure]))
        assert "big (reference)" in series["names"] and len(series["names"]) >= 7  # 6 values and the group
        if k == 0:
            page.screenshot(path=str(ARTIFACTS / "report-sweep-integrity.png"), full_page=True)
    # The mode bar offers nothing that sends the data out.
    plot = page.locator(".choice:not([hidden]) .plot").first
    plot.hover()
    titles = plot.evaluate("d => [...d.querySelectorAll('.modebar-btn')].map(b => b.getAttribute('data-title'))")
    assert titles and not [t for t in titles if any(w in t.lower() for w in ("share", "cloud", "studio", "edit"))]
    # The data behind a figure downloads from the page itself; the tables beside it are linked.
    with page.expect_download() as download:
        page.locator(".choice:not([hidden]) a.data").first.click()
    table = pd.read_csv(download.value.path())
    assert list(table["point"]) == [*map(str, range(6)), "reference"] and table["mean"].notna().all()
    links = page.eval_on_selector_all("a.file", "links => links.map(a => a.getAttribute('href'))")
    assert "summary.csv" in links and "reference/summary.csv" in links
    assert all((reports["integrity"].parent / link).is_file() for link in links)
    assert errors == []
    assert [r for r in requests if not r.startswith("file://")] == []
    page.close()


def test_a_comparison_report_leads_with_the_same_firms(tmp_path: Path, browser: Any) -> None:
    """`kreislauf compare big open_market`: the first cards and table rows are the six producers in both."""
    experiment = compare(["big", "open_market"], replicates=2, steps=12, workers=1, out=tmp_path / "c", progress=False)
    page, errors, _ = open_report(browser, write_report(experiment.path))
    cards = page.locator(".card").all_inner_texts()
    producers = "GEFERTEC, flying-parts, Scansonic MI, Metrolux, PGS, Lumics"
    assert cards[0].endswith(f"same 6 firms ({producers}): profit, k EUR / month")
    assert cards[1].startswith("big") and "same 6 firms" in cards[1] and "trust" in cards[1]
    assert "big − open_market" in cards[0] and "d = " in cards[0]
    population = cards[2]
    assert population.endswith("population: producers' profit, k EUR / month")
    assert "all 10 firms (6 producers, 4 service)" in population and "open_market" in population
    groups = page.locator("table.diff").first.locator("tr.group").all_inner_texts()
    assert groups[0].startswith("same firms: in every scenario") and producers in groups[0]
    assert groups[1].startswith("population: big: all 10 firms (6 producers, 4 service); open_market: all ")
    first_row = page.locator("table.diff").first.locator("tbody tr:not(.group)").first.inner_text()
    assert first_row.startswith("Profit of the same firms")
    assert "paired Cohen's d" in page.locator("header p.note").inner_text()
    page.locator(".cards").screenshot(path=str(ARTIFACTS / "report-compare-cards.png"))
    assert errors == []
    page.close()
