"""The console against a server with ``--api-key``: it asks for the key, shows the API's 401 message for
a wrong one, works with the right one (sent on every call as the SDK sends it), and asks again when the
server stops accepting the key it has. The assets themselves need no key; the data does.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from console_browser import missing, open_console, rows

if (_reason := missing()) is not None:
    pytest.skip(_reason, allow_module_level=True)

from pinecone import Pinecone, ServerlessSpec
from pinecone.errors.exceptions import ForbiddenError, UnauthorizedError
from playwright.sync_api import Page, Request, expect
from spruce_server_proc import ServerProcess

KEY = "console-secret-key"
READ_KEY = "console-read-only-key"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("console-auth"), ["--api-key", KEY, "--read-only-api-key", READ_KEY]
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def pc(server: ServerProcess) -> Pinecone:
    client = Pinecone(api_key=KEY, host=server.url)
    client.create_index(
        name="locked", dimension=3, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1")
    )
    client.Index(name="locked").upsert(vectors=[("r1", [1.0, 0.0, 0.0], {"k": "v"})], namespace="ns")
    return client


def _sdk_401(server: ServerProcess, key: str) -> str:
    """The message the SDK reads for ``key`` (the SDK sends no request without one: then the API's own
    body, read over HTTP)."""
    if not key:
        return str(httpx.get(server.url + "/indexes").json()["error"]["message"])
    with pytest.raises(UnauthorizedError) as exc:
        Pinecone(api_key=key, host=server.url).list_indexes()
    return str(exc.value.message)


def test_assets_need_no_key_but_the_data_does(server: ServerProcess) -> None:
    assert httpx.get(server.url + "/console/").status_code == 200
    assert httpx.get(server.url + "/console/app.js").status_code == 200
    assert httpx.get(server.url + "/indexes").status_code == 401
    assert httpx.get(server.url + "/health").status_code == 200


def test_prompt_wrong_key_then_right_key(page: Page, server: ServerProcess, pc: Pinecone) -> None:
    calls: list[Request] = []
    page.on("request", lambda r: calls.append(r) if "/console/" not in r.url else None)
    open_console(page, server.url)

    # No key yet: the server's 401 brings the prompt, with the API's message.
    dialog = page.locator("#key-dialog")
    expect(dialog).to_be_visible()
    expect(page.locator("#key-input")).to_be_focused()
    expect(page.locator("#key-message")).to_have_text(f"The server answered 401: {_sdk_401(server, '')}")
    expect(page.locator("main .error")).to_contain_text("401: Missing API key")

    # A wrong key: the prompt again, with the API's message for it.
    page.fill("#key-input", "not-the-key")
    page.press("#key-input", "Enter")
    expect(page.locator("#key-message")).to_have_text(
        f"The server answered 401: {_sdk_401(server, 'not-the-key')}"
    )
    expect(dialog).to_be_visible()

    # The right key: the page loads, and shows what the SDK lists.
    page.fill("#key-input", KEY)
    page.press("#key-input", "Enter")
    expect(dialog).to_be_hidden()
    assert [r[0] for r in rows(page, "#index-table")] == [m.name for m in pc.list_indexes()]
    assert page.evaluate("sessionStorage.getItem('spruce-console-api-key')") == KEY

    # Every API call carried a key and the SDK 10.x API version (the probes, which need none, excepted).
    api_calls = [r for r in calls if not r.url.endswith(("/health", "/ready"))]
    assert api_calls
    for r in api_calls:
        assert r.headers.get("x-pinecone-api-version") == "2026-07", r.url
    assert [r.headers.get("api-key") for r in api_calls][-1] == KEY

    # The key stays for the tab: other pages load with it, no prompt.
    calls.clear()
    page.goto(f"{server.url}/console/#/index/locked/records?ns=ns")
    page.fill("#fetch-id", "r1")
    page.press("#fetch-id", "Enter")
    expect(page.locator("#fetch-record-id")).to_have_text("r1")
    expect(dialog).to_be_hidden()
    assert calls and all(r.headers.get("api-key") == KEY for r in calls if "/index" in r.url)


def test_a_key_refused_later_brings_the_prompt_back(page: Page, server: ServerProcess, pc: Pinecone) -> None:
    open_console(page, server.url)
    page.fill("#key-input", KEY)
    page.press("#key-input", "Enter")
    expect(page.locator("#index-table")).to_be_visible()

    # The key in the tab goes stale (as when the server restarts with another key): the next call's 401
    # asks again, and the form action shows the API's message too.
    page.evaluate("sessionStorage.setItem('spruce-console-api-key', 'stale')")
    page.fill("#create-name", "never-made")
    page.press("#create-name", "Enter")
    expect(page.locator("#key-dialog")).to_be_visible()
    expect(page.locator("#key-message")).to_contain_text("Invalid API key")
    expect(page.locator("#create-result .error")).to_have_text(f"401: {_sdk_401(server, 'stale')}")
    page.fill("#key-input", KEY)
    page.press("#key-input", "Enter")
    expect(page.locator("#index-table")).to_be_visible()
    assert not pc.has_index("never-made")


def test_forget_key(page: Page, server: ServerProcess, pc: Pinecone) -> None:
    open_console(page, server.url)
    page.fill("#key-input", KEY)
    page.press("#key-input", "Enter")
    expect(page.locator("#index-table")).to_be_visible()
    page.click("#key-button")
    page.click("#key-forget")
    # Forgotten: the page loads again without a key, and the server's 401 asks for one.
    expect(page.locator("#key-dialog")).to_be_visible()
    expect(page.locator("#key-message")).to_contain_text("Missing API key")
    assert page.evaluate("sessionStorage.getItem('spruce-console-api-key')") is None


def test_a_read_only_key_reads_and_is_refused_changes(
    page: Page, server: ServerProcess, pc: Pinecone
) -> None:
    """The console can do exactly what its key may: with the read-only key, pages load and every change
    shows the API's 403, as the SDK reads it."""
    with pytest.raises(ForbiddenError) as sdk:
        Pinecone(api_key=READ_KEY, host=server.url).configure_index("locked", deletion_protection="enabled")
    open_console(page, server.url, "/index/locked")
    page.fill("#key-input", READ_KEY)
    page.press("#key-input", "Enter")
    expect(page.locator("#protection-state")).to_have_text("disabled")
    page.click("#protection-toggle")
    expect(page.locator("#settings-result .error")).to_have_text(f"403: {sdk.value.message}")
    assert pc.describe_index("locked").deletion_protection == "disabled"
