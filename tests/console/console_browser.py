"""Launching Debian's system Chromium under Playwright, for the console's browser tests and the
screenshot script (``docs/console/screenshots.py``).

Playwright cannot download its own browsers on this machine, so it drives ``/usr/bin/chromium`` (apt's
``chromium``, installed by ``.ci/run`` when missing). The flags keep Chromium from reaching out to the
network on its own (component updates, sync, QUIC probes): this machine's closed network refuses those
connections, and a browser waiting on them makes the tests slow and flaky. Each launch gets a new, empty
user-data directory, so no state leaks between runs.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (the module must import without playwright, so that the tests can skip)
    from playwright.sync_api import BrowserContext, Page, Playwright, ViewportSize

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: ViewportSize = {"width": 1200, "height": 860}


def missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    if not Path(CHROMIUM).exists() and shutil.which("chromium") is None:
        return f"{CHROMIUM} is not installed (apt-get install -y chromium; .ci/run installs it in CI)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install -e '.[test]')"
    return None


def launch(playwright: Playwright, user_data_dir: Path) -> BrowserContext:
    """A persistent Chromium context on an empty ``user_data_dir``."""
    executable = CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium")
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=executable,
        headless=True,
        args=ARGS,
        viewport=VIEWPORT,
    )


# ------------------------------------------------------------------ reading the pages


def open_console(page: Page, url: str, route: str = "/indexes") -> None:
    """Load the console afresh at ``#<route>`` (a full load, not a hash change: no state of an earlier
    test's page survives but the tab's sessionStorage)."""
    page.goto("about:blank")
    page.goto(f"{url}/console/#{route}")


def rows(page: Page, selector: str) -> list[list[str]]:
    """The cells of a table's body rows, as the user sees their text (waits for the table)."""
    page.wait_for_selector(f"{selector} tbody tr")
    cells: list[list[str]] = page.eval_on_selector_all(
        f"{selector} tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )
    return cells


def js_text(value: object) -> str:
    """A metadata value as the console prints it (``JSON.stringify``, strings bare): the SDK hands back
    numbers as floats, which JavaScript prints without a trailing ``.0``."""
    if isinstance(value, str):
        return value
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ",".join(f'"{v}"' if isinstance(v, str) else js_text(v) for v in value) + "]"
    return str(value)
