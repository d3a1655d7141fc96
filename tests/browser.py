"""Headless Chromium for the browser tests: Debian's ``/usr/bin/chromium`` driven through Playwright.

``.ci/run`` installs the browser (browser downloads do not work here). On CI
a missing browser fails the test; elsewhere it skips it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parent / "artifacts"
# Chromium's own background traffic is switched off, so any request seen is the page's.
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]


def require_chromium(module_level: bool = False) -> Any:
    """Playwright's ``sync_playwright``, or skip (fail on CI) without Debian's chromium."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("CI needs Debian's chromium at /usr/bin/chromium (.ci/run installs it)", pytrace=False)
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=module_level)
    return pytest.importorskip("playwright.sync_api").sync_playwright
