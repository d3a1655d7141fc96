"""``kreislauf live`` end to end: the real command on a free port of 127.0.0.1, driven in headless Chromium.

Needs Debian's ``chromium`` (``.ci/run`` installs it) and the ``playwright``
package. Screenshots go to ``tests/artifacts/`` for a person to look at.
"""

from __future__ import annotations

import contextlib
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import ARGS, ARTIFACTS, CHROMIUM, require_chromium


def step_through(page: Any, first: int, stop: int) -> None:
    """Press Step for months ``first`` to ``stop - 1``, waiting for each month to show before the next press."""
    for k in range(first, stop):
        page.click("#step")
        page.wait_for_selector(f"#month:has-text('Month {k} ')", timeout=30_000)


def pick_option(page: Any, dropdown: str, text: str, attempts: int = 3) -> None:
    """Choose the option of a Dash dropdown that matches ``text``, once its list shows it.

    The text goes into the open list's search box, not to whatever has the
    focus: typed before the list has opened (a slow machine), the keys reach the
    dropdown's button, whose space bar closes it again. A dropdown redrawn by a
    callback meanwhile loses what was typed: then the list is opened again.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    trigger = page.locator(dropdown)
    search = page.locator(".dash-dropdown-search")
    option = page.get_by_role("option", name=re.compile(re.escape(text), re.IGNORECASE)).first
    for attempt in range(attempts):
        try:
            if trigger.get_attribute("aria-expanded") != "true":
                trigger.click()
            search.wait_for(state="visible", timeout=10_000)
            search.fill(text)
            option.click(timeout=10_000)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
            page.keyboard.press("Escape")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def live_server(*args: str) -> Iterator[str]:
    """``kreislauf live ARGS`` on a free port of 127.0.0.1, until the block ends; its address."""
    port = free_port()
    command = Path(sys.executable).parent / "kreislauf"
    proc = subprocess.Popen(
        [str(command), "live", *args, "--no-browser", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.fail(f"kreislauf live stopped: {proc.stdout.read() if proc.stdout else ''}")
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with live_server("classroom") as url:
        yield url


@pytest.fixture(scope="module")
def main_lesson() -> Iterator[str]:
    with live_server() as url:  # the B.I.G. beside the open market
        yield url


def listening_addresses(port: int) -> set[str]:
    """Local addresses (hex, as the kernel writes them) of sockets listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="reads Linux's table of sockets")
def test_without_host_it_listens_on_loopback_only(server: str) -> None:
    port = int(server.rstrip("/").rsplit(":", 1)[1])
    assert listening_addresses(port) == {"0100007F"}  # 127.0.0.1, and nothing else


def test_a_port_in_use_is_refused_clearly(server: str) -> None:
    port = server.rstrip("/").rsplit(":", 1)[1]
    command = Path(sys.executable).parent / "kreislauf"
    done = subprocess.run(
        [str(command), "live", "--no-browser", "--port", port], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert f"--port = {port}: cannot listen" in done.stderr and "Traceback" not in done.stderr


def network_edges(page) -> str:  # type: ignore[no-untyped-def]
    """The drawn edge coordinates of the first network, as text to compare."""
    return page.evaluate(
        "() => JSON.stringify(document.querySelectorAll('.js-plotly-plot')[0].data.slice(0, 15).map(t => t.x))"
    )


def month(page) -> int:  # type: ignore[no-untyped-def]
    return int(page.inner_text("#month").split()[1])


def test_play_pause_and_reset_in_a_real_browser_with_no_request_elsewhere(server: str) -> None:
    sync_playwright = require_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    requests: list[str] = []
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1300})
        page.on("request", lambda r: requests.append(r.url))
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(server)
        page.wait_for_selector("#month:has-text('Month 0 of 60')", timeout=30_000)
        page.wait_for_selector(".js-plotly-plot .scatterlayer", timeout=30_000)
        before = network_edges(page)
        page.screenshot(path=str(ARTIFACTS / "live-start.png"), full_page=True)

        page.click("#play")
        page.wait_for_function(
            "() => parseInt(document.querySelector('#month').innerText.split(' ')[1]) >= 6", timeout=30_000
        )
        page.click("#pause")
        time.sleep(1.0)  # let a step already on its way arrive
        paused_at = month(page)
        assert paused_at >= 6
        time.sleep(1.0)
        assert month(page) == paused_at, "pause stops the clock"
        assert network_edges(page) != before, "the network changed as the months went by"
        feed = page.inner_text("#feed-0")
        assert "starts a partner search" in feed or "chooses" in feed

        page.click("#panel label:has-text('Firm inspector')")
        pick_option(page, "#inspect-firm", "Parts")
        page.wait_for_selector(".inspector-firm", timeout=10_000)
        page.screenshot(path=str(ARTIFACTS / "live-playing.png"), full_page=True)

        page.click("#reset")
        page.wait_for_selector("#month:has-text('Month 0 of 60')", timeout=30_000)
        page.screenshot(path=str(ARTIFACTS / "live-reset.png"), full_page=True)
        browser.close()
    port_prefix = server.rstrip("/")
    elsewhere = [u for u in requests if not u.startswith(port_prefix)]
    assert not elsewhere, f"requests outside the app's own server: {elsewhere[:5]}"
    assert not errors, errors


def test_the_page_says_when_it_falls_behind_the_chosen_speed(server: str) -> None:
    # Every month's answer is held back 0.4 s on its way, so the page cannot show more than 2.5 months a
    # second, whatever the machine: at speed 10 it must say it falls behind, and the rate it names.
    sync_playwright = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(server)
        page.wait_for_selector("#month:has-text('Month 0 of 60')", timeout=30_000)

        def slow(route) -> None:  # type: ignore[no-untyped-def]
            time.sleep(0.4)
            route.continue_()

        page.route(re.compile(r".*_dash-update-component.*"), slow)
        page.focus("#speed [role=slider]")
        page.keyboard.press("End")  # speed 10
        page.click("#play")
        page.wait_for_selector("#rate:has-text('falling behind')", timeout=60_000)
        said = page.inner_text("#rate")
        page.click("#pause")
        page.wait_for_selector("#rate", state="hidden", timeout=30_000)  # paused: no rate shown
        browser.close()
    found = re.search(r"falling behind: ([0-9.]+) months/s", said)
    assert found, said
    assert 0 < float(found.group(1)) <= 2.6, said  # one month in flight at a time: at most 1 / 0.4 s


# ---------------------------------------------------------------------------
# On a projector: everything on one screen, readable, nothing over anything else
# ---------------------------------------------------------------------------

#: What a lecturer needs without scrolling: the month, the buttons, the breach, both networks, the plots, the feed.
ON_SCREEN = [
    "#month",
    "#step",
    "#play",
    "#pause",
    "#reset",
    "#speed",
    "#breach-firm",
    "#breach",
    "#network-0 .main-svg",
    "#network-1 .main-svg",
    "#legend",
    "#running .main-svg",
    "#feed-box",
    "#feed-kinds",
    "#feed-firm",
]

# Every visible piece of text: HTML elements with text of their own, and the plots' SVG text.
_TEXTS_JS = """
() => {
    const out = [];
    const shown = (el) => {
        for (let p = el; p; p = p.parentElement) {
            const cs = getComputedStyle(p);
            if (cs.display === "none" || cs.visibility === "hidden" || cs.opacity === "0") return false;
        }
        return true;
    };
    const elements = [];
    for (const el of document.querySelectorAll("body *")) {
        if (el.closest("#feed-box") || el.closest("#panel-guide")) continue;  // scrolled lists: checked apart
        const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        if (!own || !shown(el)) continue;
        // One box per line of text: an inline element that wraps has a box on each line.
        const rects = [...el.getClientRects()].filter(r => r.width >= 1 && r.height >= 1);
        if (!rects.length) continue;
        elements.push(el);
        const plot = el.closest(".js-plotly-plot");
        const frame = plot ? plot.getBoundingClientRect() : null;
        for (const r of rects) {
            const cut = frame !== null && (r.left < frame.left - 0.5 || r.right > frame.right + 0.5 ||
                                           r.top < frame.top - 0.5 || r.bottom > frame.bottom + 0.5);
            out.push({
                cut: cut,
                index: elements.length - 1,
                text: el.textContent.trim().slice(0, 40),
                size: parseFloat(getComputedStyle(el).fontSize),
                x: r.left, y: r.top, w: r.width, h: r.height,
            });
        }
    }
    // Pairs of elements of which neither holds the other may not overlap.
    const clashes = [];
    for (let i = 0; i < out.length; i++) {
        for (let j = i + 1; j < out.length; j++) {
            const a = out[i], b = out[j];
            if (a.index === b.index) continue;
            const ea = elements[a.index], eb = elements[b.index];
            if (ea.contains(eb) || eb.contains(ea)) continue;
            const dx = Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x);
            const dy = Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y);
            if (dx > 1 && dy > 1) clashes.push([a.text, b.text]);
        }
    }
    return {texts: out, clashes: clashes};
}
"""


def check_projector_page(page, width: int, height: int, selectors: list[str] = ON_SCREEN) -> None:  # type: ignore[no-untyped-def]
    """The assertions of a projector: in view, readable, nothing over another text."""
    for selector in selectors:
        box = page.locator(selector).first.bounding_box()
        assert box is not None, f"{selector} is not shown"
        assert box["width"] > 10 and box["height"] > 10, (selector, box)
        assert box["x"] >= 0 and box["y"] >= 0, (selector, box)
        assert box["x"] + box["width"] <= width + 0.5 and box["y"] + box["height"] <= height + 0.5, (selector, box)
    scroll = page.evaluate("() => [document.scrollingElement.scrollWidth, document.scrollingElement.scrollHeight]")
    assert scroll[0] <= width and scroll[1] <= height, f"the page scrolls: {scroll}"
    # The networks are big enough to see: each at least a quarter of the screen's height, and the panel on
    # the right never takes more than a third of the width (at 150% zoom a fixed panel squeezed them).
    for k in range(2):
        assert page.locator(f"#network-{k} .main-svg").first.bounding_box()["height"] >= height / 4
    assert page.locator("#side").bounding_box()["width"] <= width / 3 + 0.5
    found = page.evaluate(_TEXTS_JS)
    texts = found["texts"]
    assert len(texts) > 40
    small = sorted({(t["text"], t["size"]) for t in texts if t["size"] < 14})
    assert not small, f"text smaller than 14 px: {small[:10]}"
    outside = [
        t["text"] for t in texts if t["x"] < -0.5 or t["x"] + t["w"] > width + 0.5 or t["y"] + t["h"] > height + 0.5
    ]
    assert not outside, f"text cut off at the screen's edge: {outside[:10]}"
    cut = [t["text"] for t in texts if t["cut"]]
    assert not cut, f"text cut off at its plot's edge: {cut[:10]}"
    clashes = found["clashes"]
    assert not clashes, f"text over text: {clashes[:10]}"


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (1920, 1080)])
def test_the_main_lesson_fits_a_projector_readable_and_without_overlaps(
    main_lesson: str, width: int, height: int
) -> None:
    sync_playwright = require_chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height})
        page.goto(main_lesson)
        page.wait_for_selector("#month:has-text('Month 0 of 120')", timeout=60_000)
        page.wait_for_selector("#network-1 .scatterlayer", timeout=60_000)
        step_through(page, 1, 4)
        page.wait_for_timeout(500)
        check_projector_page(page, width, height)
        # Every panel on the right fits too.
        for panel in ("Firm inspector", "Settings", "Guide"):
            page.click(f"#panel label:has-text('{panel}')")
            page.wait_for_timeout(200)
            check_projector_page(page, width, height, [s for s in ON_SCREEN if not s.startswith("#feed")])
        page.screenshot(path=str(ARTIFACTS / f"live-projector-{width}x{height}.png"))
        browser.close()


def test_the_main_lesson_fits_a_projector_at_150_percent_zoom(main_lesson: str) -> None:
    # A 1280 x 720 projector at 150% zoom: 853 x 480 CSS pixels at 1.5 device pixels each. The key folds
    # away behind a button (on screen instead of it); opened, the page still fits.
    sync_playwright = require_chromium()
    width, height = 853, 480
    on_screen = [("#legend-toggle" if s == "#legend" else s) for s in ON_SCREEN]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=1.5)
        page.goto(main_lesson)
        page.wait_for_selector("#month:has-text('Month 0 of 120')", timeout=60_000)
        page.wait_for_selector("#network-1 .scatterlayer", timeout=60_000)
        step_through(page, 1, 4)
        drawn_for = "() => JSON.stringify(document.querySelectorAll('.js-plotly-plot')[0].layout.yaxis.range)"
        # The figures are drawn for the boxes the page reported (labels and axes fit the room there is).
        page.wait_for_function(
            "() => { const gd = document.querySelectorAll('.js-plotly-plot')[2];"
            " return gd && gd.layout.margin && gd.layout.margin.t > 30; }",
            timeout=30_000,
        )
        page.wait_for_timeout(500)
        assert not page.locator("#legend").is_visible()
        check_projector_page(page, width, height, on_screen)
        page.screenshot(path=str(ARTIFACTS / "live-projector-150-percent.png"))
        before = page.evaluate(drawn_for)
        page.click("#legend-toggle")  # the key opens over the running plots, whole and readable
        page.wait_for_selector("#legend", state="visible", timeout=10_000)
        box = page.locator("#legend").bounding_box()
        assert box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width
        assert box["y"] + box["height"] <= height
        sizes = page.evaluate(
            "() => [...document.querySelectorAll('#legend *')].filter(e => e.childNodes.length)"
            ".map(e => parseFloat(getComputedStyle(e).fontSize))"
        )
        assert sizes and min(sizes) >= 14
        inside = page.evaluate(
            "() => { const b = document.querySelector('#legend').getBoundingClientRect();"
            " return [...document.querySelectorAll('#legend span')].flatMap(e => [...e.getClientRects()])"
            ".every(r => r.left >= b.left - 0.5 && r.right <= b.right + 0.5 && r.bottom <= b.bottom + 0.5); }"
        )
        assert inside, "the key's text runs out of its box"
        assert "Phases" in page.inner_text("#legend") and "black ring" in page.inner_text("#legend")
        assert page.evaluate(drawn_for) == before  # the networks kept their room
        page.screenshot(path=str(ARTIFACTS / "live-projector-150-percent-key.png"))
        page.click("#legend-toggle")
        page.wait_for_selector("#legend", state="hidden", timeout=10_000)
        browser.close()


def test_the_breach_stays_in_the_feed_marked_and_can_be_filtered(main_lesson: str) -> None:
    sync_playwright = require_chromium()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        page.goto(main_lesson)
        page.wait_for_selector("#month:has-text('Month 0 of 120')", timeout=60_000)
        step_through(page, 1, 13)
        ARTIFACTS.mkdir(exist_ok=True)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "live-main-lesson.png"))  # docs/images/ has a copy
        pick_option(page, "#breach-firm", "Metrolux")
        page.click("#breach")
        page.wait_for_selector("#message:has-text('Breach of trust: Metrolux')", timeout=30_000)
        step_through(page, 13, 13 + 25)
        # 24 months after the breach (month 13), it is still in the feed, marked, in both worlds.
        for k in range(2):
            breach = page.locator(f"#feed-{k} .feed-breach")
            assert breach.count() == 1, k
            assert "month 13" in breach.inner_text() and "Metrolux" in breach.inner_text()
            assert page.locator(f"#feed-{k} .feed-consequence").count() > 0
        assert page.locator("#running .shapelayer path").count() >= 4  # the breach's line in every panel
        # Filtered to the breach and its consequences: only marked lines, the breach itself last (oldest).
        pick_option(page, "#feed-kinds", "breach of trust")
        page.wait_for_function(
            "() => document.querySelectorAll('#feed-0 li').length > 0 && "
            "[...document.querySelectorAll('#feed-0 li')].every(li => /feed-(breach|consequence)/.test(li.className))",
            timeout=30_000,
        )
        lines = page.locator("#feed-0 li")
        assert "feed-breach" in (lines.last.get_attribute("class") or "")
        page.keyboard.press("Escape")
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "live-after-breach.png"))  # docs/images/ has a copy
        # The world switch shows the open market's feed instead.
        page.click("#feed-world label:has-text('open_market')")
        page.wait_for_selector("#feed-1", state="visible", timeout=30_000)
        assert page.locator("#feed-1").is_visible() and not page.locator("#feed-0").is_visible()
        # A line's phase opens the guide at that phase.
        page.click("#feed-world label:has-text('big')")
        page.wait_for_selector("#feed-0", state="visible", timeout=30_000)
        link = page.locator("#feed-0 a.phase-link").first
        try:
            link.wait_for(state="visible", timeout=60_000)
        except Exception:  # say what the feed held instead
            pytest.fail(f"no phase link in the feed: {page.inner_html('#feed-box')[:1000]}")
        target = link.get_attribute("href")
        assert target and target.startswith("#guide-"), target
        link.click()
        page.wait_for_selector(f"#panel-guide {target}", state="visible", timeout=30_000)
        # An exit names the phase it belongs to (evaluation), as a link to that phase. The feed is still
        # filtered to the breach and its consequences: in the open market's feed a cooperation of Metrolux
        # has ended; in the B.I.G.'s none has at the calibrated thresholds (docs/calibration.md).
        page.click("#panel label:has-text('What happened')")
        page.click("#feed-world label:has-text('open_market')")
        exit_line = page.locator("#feed-1 li.feed-exit").first
        exit_line.wait_for(state="visible", timeout=30_000)
        assert exit_line.locator("a.phase-link").count() == 1
        browser.close()
