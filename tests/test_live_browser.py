"""``kreislauf live`` end to end: the real command on a free port of 127.0.0.1, driven in headless Chromium.

Needs Debian's ``chromium`` (``.ci/run`` installs it) and the ``playwright``
package. Screenshots go to ``tests/artifacts/`` for a person to look at.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser import ARGS, ARTIFACTS, CHROMIUM, require_chromium


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    port = free_port()
    command = Path(sys.executable).parent / "kreislauf"
    proc = subprocess.Popen(
        [str(command), "live", "classroom", "--no-browser", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        for _ in range(200):
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
        feed = page.inner_text("#feed")
        assert "starts a partner search" in feed or "chooses" in feed

        page.click("#inspect-firm")
        page.keyboard.type("Parts")
        page.keyboard.press("Enter")
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
