"""Fixtures of the console's browser tests: one Chromium per test module, a fresh tab per test.

Playwright is imported inside the fixtures, not at the top: without it (or without Chromium) the test
modules skip with the reason (``console_browser.missing``), and this file must still import.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest
from console_browser import launch, missing

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page


@pytest.fixture(scope="module")
def context(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    """One browser for the module (starting Chromium costs about a second; a tab costs little)."""
    reason = missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        ctx = launch(pw, tmp_path_factory.mktemp("chromium-profile"))
        ctx.set_default_timeout(10_000)
        try:
            yield ctx
        finally:
            ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Iterator[Page]:
    """A new tab (so a new sessionStorage: no API key typed yet). A JavaScript error in the page, or
    anything its Content-Security-Policy blocked, fails the test, even when what the test looked at was
    right."""
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        yield tab
    finally:
        tab.close()
    assert not errors, f"JavaScript errors in the console: {errors}"
