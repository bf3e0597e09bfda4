"""A page in Debian's headless Chromium, for the browser tests (Playwright's bundled
browsers are not installed). Without chromium a browser test is skipped, except under CI,
which installs it and must run it."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium() -> str:
    path = "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else shutil.which("chromium")
    if path:
        return path
    reason = "chromium is not installed (apt-get install chromium)"
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI must run the browser test")
    pytest.skip(reason)


@contextmanager
def chromium_page(**context: Any) -> Iterator[Any]:
    """A new page in a fresh browser; ``context``: Playwright's new_context options
    (viewport, is_mobile, locale…)."""
    executable = chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser.new_context(**context).new_page()
        finally:
            browser.close()
