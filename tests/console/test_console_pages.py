"""The web console in a real headless Chromium against a real ``spruce serve``: every page is clicked
through, and what it shows is checked against what the official SDK (10.2) reads from the same server.

One server and one browser serve the whole module (a new tab per test); each test that changes data
works on an index of its own, so the tests do not depend on their order.
"""

from __future__ import annotations

import contextlib
import http.server
import random
import re
import threading
from collections.abc import Iterator

import httpx
import pytest
from console_browser import js_text, missing, open_console, rows

if (_reason := missing()) is not None:
    pytest.skip(_reason, allow_module_level=True)

from pinecone import Pinecone, ServerlessSpec
from pinecone.errors.exceptions import ApiError, ConflictError, ForbiddenError, NotFoundError
from playwright.sync_api import BrowserContext, Page, expect
from spruce_server_proc import ServerProcess

SPEC = ServerlessSpec(cloud="aws", region="us-east-1")
GENRES = ("drama", "comedy", "thriller")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("console-data")).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def pc(server: ServerProcess) -> Pinecone:
    return Pinecone(api_key="any", host=server.url)


def _vector(rng: random.Random, dimension: int = 4) -> list[float]:
    return [round(rng.uniform(-1, 1), 3) for _ in range(dimension)]


@pytest.fixture(scope="module")
def films(pc: Pinecone) -> str:
    """An index the read-only tests share: 25 ``film-NN`` and 5 ``doc-N`` records in namespace
    ``catalog`` (genre, year, a list of tags), and 3 records in the default namespace."""
    pc.create_index(name="films", dimension=4, metric="cosine", spec=SPEC)
    idx = pc.Index(name="films")
    rng = random.Random(16)
    catalog = [
        (
            f"film-{i:02d}",
            _vector(rng),
            {"genre": GENRES[i % 3], "year": 2000 + i, "tags": ["a", f"t{i % 4}"]},
        )
        for i in range(25)
    ]
    catalog += [(f"doc-{i}", _vector(rng), {"genre": "documentary", "year": 1990 + i}) for i in range(5)]
    idx.upsert(vectors=catalog, namespace="catalog")
    idx.upsert(vectors=[(f"d{i}", _vector(rng), {"genre": "drama"}) for i in range(3)])
    return "films"


def _stats_count(pc: Pinecone, index: str, namespace: str) -> int:
    """A namespace's record count as the SDK reads it (0 when the namespace is absent)."""
    stats = pc.Index(name=index).describe_index_stats()
    for key in (namespace, "__default__" if namespace == "" else namespace):
        if key in stats.namespaces:
            return int(stats.namespaces[key].vector_count)
    return 0


def _fact(page: Page, dl: str, term: str) -> str:
    """The text of the ``<dd>`` after the ``<dt>`` named ``term`` in the list ``dl``."""
    page.wait_for_selector(f"{dl} dt")
    text: str = page.eval_on_selector(
        dl,
        "(dl, term) => { const dt = [...dl.querySelectorAll('dt')].find(d => d.innerText.trim() === term);"
        " return dt ? dt.nextElementSibling.innerText.trim() : null; }",
        term,
    )
    return text


def _preview(values: list[float], shown: int = 8) -> str:
    """``valuesPreview`` of dom.js, in Python."""
    head = [str(int(v)) if float(v).is_integer() else f"{v:.4f}" for v in values[:shown]]
    more = ", …" if len(values) > shown else ""
    return f"[{', '.join(head)}{more}] ({len(values)} values)"


def _inline(metadata: dict[str, object] | None) -> str:
    """``metadataInline`` of dom.js, in Python."""
    if not metadata:
        return "—"
    return " · ".join(f"{k}={js_text(v)}" for k, v in metadata.items())


# ------------------------------------------------------------------ header


def test_health_and_ready_badges_show_what_the_probes_say(page: Page, server: ServerProcess) -> None:
    health = httpx.get(server.url + "/health").json()["status"]
    ready = httpx.get(server.url + "/ready").json()["status"]
    open_console(page, server.url)
    expect(page.locator("#health-badge")).to_have_text(f"health: {health}")
    expect(page.locator("#ready-badge")).to_have_text(f"ready: {ready}")


def test_assets_are_plain_files_of_the_package(server: ServerProcess) -> None:
    """The page references its assets by absolute path, and each is served (no key, nothing remote)."""
    html = httpx.get(server.url + "/console").text
    refs = re.findall(r'(?:src|href)="([^"#]+)"', html)
    assert refs and all(ref.startswith("/console/") for ref in refs), refs
    for ref in refs:
        assert httpx.get(server.url + ref).status_code == 200, ref
    assert "http://" not in html and "https://" not in html


def test_every_control_has_a_label_and_pages_take_the_focus(
    page: Page, server: ServerProcess, films: str
) -> None:
    """Keyboard and screen-reader basics on every page: each form control is labelled, each button is a
    real button with text, and a new page moves the focus to its heading."""
    unlabelled_js = """() => [...document.querySelectorAll('main input, main select, main textarea')]
        .filter(c => !c.id || !document.querySelector(`label[for="${c.id}"]`)).map(c => c.outerHTML)"""
    blank_buttons_js = """() => [...document.querySelectorAll('button')]
        .filter(b => !b.textContent.trim() || !b.getAttribute('type')).map(b => b.outerHTML)"""
    for route in (
        "/indexes",
        *(f"/index/{films}{tab}" for tab in ("", "/namespaces", "/records", "/query", "/delete")),
    ):
        open_console(page, server.url, route)
        expect(page.locator("main h1")).to_be_focused()
        assert page.evaluate(unlabelled_js) == [], route
        assert page.evaluate(blank_buttons_js) == [], route


def test_nothing_remote_and_no_framing(context: BrowserContext, server: ServerProcess) -> None:
    """The page's Content-Security-Policy stops any call to another origin, and no other page can show the
    console in a frame (no click can be tricked onto its delete buttons)."""
    tab = context.new_page()
    blocked: list[str] = []
    tab.on("console", lambda msg: blocked.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        open_console(tab, server.url)
        expect(tab.locator("main h1")).to_have_text("Indexes")
        outcome = tab.evaluate("fetch('http://192.0.2.1/x').then(() => 'sent', (e) => 'refused')")
        assert outcome == "refused"
        assert any("192.0.2.1" in text for text in blocked), blocked

        # (the framing page is served from loopback too: Chromium will not load a loopback frame into a
        # page of no address, such as about:blank)
        with _page_server(f'<iframe src="{server.url}/console/" width="800" height="400"></iframe>') as outer:
            tab.goto(outer)
            # the server's headers (frame-ancestors 'none', X-Frame-Options: DENY) keep the browser from
            # loading the console into the frame at all; the page's own check is the second line
            frame = tab.frame_locator("iframe")
            tab.wait_for_timeout(500)
            expect(frame.locator("main h1")).to_have_count(0)
            expect(frame.locator("#index-table")).to_have_count(0)
    finally:
        tab.close()


@contextlib.contextmanager
def _page_server(html: str) -> Iterator[str]:
    """A one-page HTTP server on loopback (another origin than spruce's), yielding its URL."""
    body = html.encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


# ------------------------------------------------------------------ indexes


def test_index_list_matches_the_sdk(page: Page, server: ServerProcess, pc: Pinecone, films: str) -> None:
    pc.create_index(
        name="sparse-terms", vector_type="sparse", metric="dotproduct", spec=SPEC, tags={"k": "v"}
    )
    open_console(page, server.url)
    shown = {r[0]: r for r in rows(page, "#index-table")}
    models = list(pc.list_indexes())
    assert set(shown) == {m.name for m in models}
    for m in models:
        _, kind, dimension, metric, protection, tags, state = shown[m.name]
        assert kind == m.vector_type
        assert dimension == (str(m.dimension) if m.dimension else "—")
        assert metric == m.metric
        assert protection == m.deletion_protection
        assert tags == (", ".join(f"{k}={v}" for k, v in (m.tags or {}).items()) or "—")
        assert state == "Ready"


def test_create_index_dense_and_sparse(page: Page, server: ServerProcess, pc: Pinecone) -> None:
    open_console(page, server.url)
    page.fill("#create-name", "made-in-console")
    page.select_option("#create-type", "dense")
    page.fill("#create-dimension", "8")
    page.select_option("#create-metric", "euclidean")
    page.check("#create-protection")
    page.fill("#create-tags", "env=test, team=search")
    page.press("#create-tags", "Enter")  # Enter submits the form
    expect(page.locator("main .ok")).to_have_text("Created index made-in-console.")
    model = pc.describe_index("made-in-console")
    assert (model.dimension, model.metric, model.vector_type) == (8, "euclidean", "dense")
    assert model.deletion_protection == "enabled"
    assert model.tags == {"env": "test", "team": "search"}
    assert "made-in-console" in [r[0] for r in rows(page, "#index-table")]

    page.fill("#create-name", "sparse-made")
    page.select_option("#create-type", "sparse")
    expect(page.locator("#create-dimension")).to_be_disabled()
    page.get_by_role("button", name="Create index").click()
    expect(page.locator("main .ok")).to_have_text("Created index sparse-made.")
    model = pc.describe_index("sparse-made")
    assert (model.vector_type, model.metric, model.dimension) == ("sparse", "dotproduct", None)
    assert model.deletion_protection == "disabled"

    # A name already taken: the page shows the API's 409 message, as the SDK reads it.
    with pytest.raises(ConflictError) as sdk:
        pc.create_index(name="sparse-made", vector_type="sparse", metric="dotproduct", spec=SPEC)
    page.fill("#create-name", "sparse-made")
    page.press("#create-name", "Enter")
    expect(page.locator("#create-result .error")).to_have_text(f"409: {sdk.value.message}")


def test_deletion_protection_refuses_a_delete_until_disabled(
    page: Page, server: ServerProcess, pc: Pinecone
) -> None:
    pc.create_index(name="guarded", dimension=4, metric="cosine", spec=SPEC, deletion_protection="enabled")
    open_console(page, server.url, "/index/guarded")
    expect(page.locator("#protection-state")).to_have_text("enabled")

    # Cancel deletes nothing.
    page.click("#delete-index")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    expect(page.locator("#confirm-cancel")).to_be_focused()  # Enter alone never confirms
    page.click("#confirm-cancel")
    expect(page.locator("#confirm-dialog")).to_be_hidden()
    assert pc.has_index("guarded")

    # Confirmed, the delete meets deletion protection: the API's 403 message, the index stays.
    with pytest.raises(ForbiddenError) as sdk:
        pc.delete_index("guarded")
    page.click("#delete-index")
    page.click("#confirm-ok")
    expect(page.locator("#settings-result .error")).to_have_text(f"403: {sdk.value.message}")
    assert "Deletion protection is enabled" in sdk.value.message
    assert pc.has_index("guarded")

    page.click("#protection-toggle")
    expect(page.locator("#protection-state")).to_have_text("disabled")
    assert pc.describe_index("guarded").deletion_protection == "disabled"

    page.click("#delete-index")
    page.click("#confirm-ok")
    expect(page.locator("main .ok")).to_have_text("Deleted index guarded.")
    assert page.url.endswith("#/indexes")
    assert not pc.has_index("guarded")

    # And back on: the toggle enables it too.
    pc.create_index(name="guarded", dimension=4, metric="cosine", spec=SPEC)
    open_console(page, server.url, "/index/guarded")
    page.click("#protection-toggle")
    expect(page.locator("#protection-state")).to_have_text("enabled")
    assert pc.describe_index("guarded").deletion_protection == "enabled"


def test_tags_are_configured(page: Page, server: ServerProcess, pc: Pinecone) -> None:
    pc.create_index(name="tagged", dimension=4, metric="cosine", spec=SPEC, tags={"env": "prod", "team": "a"})
    open_console(page, server.url, "/index/tagged")
    expect(page.locator("#tags-input")).to_have_value("env=prod, team=a")
    page.fill("#tags-input", "env=dev, owner=me")
    page.press("#tags-input", "Enter")
    expect(page.locator("main .ok")).to_have_text("Tags saved.")
    assert pc.describe_index("tagged").tags == {"env": "dev", "owner": "me"}  # team removed
    expect(page.locator("#tags-input")).to_have_value("env=dev, owner=me")


def test_unknown_index_shows_the_api_message(page: Page, server: ServerProcess, pc: Pinecone) -> None:
    with pytest.raises(NotFoundError) as sdk:
        pc.describe_index("no-such-index")
    open_console(page, server.url, "/index/no-such-index")
    expect(page.locator("main h1")).to_have_text("Could not load this page")
    expect(page.locator("main .error")).to_have_text(f"404: {sdk.value.message}")


# ------------------------------------------------------------------ an index


def test_overview_shows_stats_and_storage(
    page: Page, server: ServerProcess, pc: Pinecone, films: str
) -> None:
    open_console(page, server.url, f"/index/{films}")
    model = pc.describe_index(films)
    assert _fact(page, "#index-config", "Dimension") == str(model.dimension)
    assert _fact(page, "#index-config", "Metric") == model.metric
    assert _fact(page, "#index-config", "Type") == model.vector_type

    stats = pc.Index(name=films).describe_index_stats()
    expected = {
        ("__default__" if ns == "" else ns): f"{s.vector_count:,}" for ns, s in stats.namespaces.items()
    }
    table = rows(page, "#ns-stats")
    assert {r[0]: r[1] for r in table} == expected
    assert _fact(page, "#storage-summary", "Records") == f"{stats.total_vector_count:,}"

    storage = httpx.get(f"{server.url}/index/{films}/spruce/storage", headers={"Api-Key": "any"}).json()
    assert _fact(page, "#storage-summary", "Unindexed records") == f"{storage['unindexed_records']:,}"
    segments = sum(ns["segments"] for ns in storage["namespaces"].values())
    graphs = sum(ns["segments_with_graph"] for ns in storage["namespaces"].values())
    assert _fact(page, "#storage-summary", "Segments") == f"{segments:,} ({graphs:,} with a graph)"
    assert f"({storage['local_bytes']:,} bytes)" in _fact(page, "#storage-summary", "Disk (local)")
    per_ns = {r[0]: r for r in table}
    for ns, report in storage["namespaces"].items():
        row = per_ns["__default__" if ns == "" else ns]
        assert row[2:] == [
            f"{report['memtable_records']:,}",
            f"{report['segments']:,}",
            f"{report['segments_with_graph']:,}",
            f"{report['pending_deletions']:,}",
        ]


def test_namespaces_list_create_delete(page: Page, server: ServerProcess, pc: Pinecone, films: str) -> None:
    idx = pc.Index(name=films)
    open_console(page, server.url, f"/index/{films}/namespaces")
    shown = {r[0]: r[1] for r in rows(page, "#ns-table")}
    sdk = {ns.name: f"{ns.record_count:,}" for page_ in idx.list_namespaces() for ns in page_.namespaces}
    assert shown == sdk

    page.fill("#ns-name", "fresh")
    page.press("#ns-name", "Enter")
    expect(page.locator("main .ok")).to_have_text("Created namespace fresh.")
    assert idx.describe_namespace(namespace="fresh").record_count == 0
    assert "fresh" in [r[0] for r in rows(page, "#ns-table")]

    page.click("button[data-namespace='fresh']")
    expect(page.locator("#confirm-title")).to_have_text("Delete namespace fresh?")
    page.click("#confirm-ok")
    expect(page.locator("main .ok")).to_have_text("Deleted namespace fresh.")
    assert "fresh" not in [ns.name for p in idx.list_namespaces() for ns in p.namespaces]
    assert "fresh" not in [r[0] for r in rows(page, "#ns-table")]


# ------------------------------------------------------------------ records


def test_list_with_prefix_and_pagination(page: Page, server: ServerProcess, pc: Pinecone, films: str) -> None:
    idx = pc.Index(name=films)
    expected = [v.id for p in idx.list(prefix="film-", namespace="catalog") for v in p.vectors]
    assert len(expected) == 25
    open_console(page, server.url, f"/index/{films}/records?ns=catalog")
    expect(page.locator("#ns-input")).to_have_value("catalog")
    page.fill("#list-prefix", "film-")
    page.fill("#list-limit", "10")
    page.press("#list-prefix", "Enter")
    seen: list[list[str]] = []
    for number in (1, 2, 3):
        expect(page.locator("#list-page")).to_have_text(f"Page {number}")
        seen.append(page.locator("#list-ids li").all_inner_texts())
        if number < 3:
            page.click("#list-next")
    expect(page.locator("#list-next")).to_be_disabled()
    assert [len(s) for s in seen] == [10, 10, 5]
    assert [i for s in seen for i in s] == expected
    page.click("#list-prev")
    expect(page.locator("#list-page")).to_have_text("Page 2")
    assert page.locator("#list-ids li").all_inner_texts() == seen[1]

    # A prefix that nothing has.
    page.fill("#list-prefix", "zzz")
    page.press("#list-prefix", "Enter")
    expect(page.locator("#list-empty")).to_have_text('No record id starts with "zzz".')


def test_fetch_one_record_from_the_list(page: Page, server: ServerProcess, pc: Pinecone, films: str) -> None:
    record = pc.Index(name=films).fetch(ids=["film-07"], namespace="catalog").vectors["film-07"]
    open_console(page, server.url, f"/index/{films}/records?ns=catalog")
    page.fill("#list-prefix", "film-0")
    page.press("#list-prefix", "Enter")
    page.get_by_role("button", name="film-07", exact=True).click()
    expect(page.locator("#fetch-record-id")).to_have_text("film-07")
    assert page.inner_text("#fetch-values") == _preview(list(record.values))
    assert rows(page, "#fetch-metadata") == [[k, js_text(v)] for k, v in (record.metadata or {}).items()]

    page.fill("#fetch-id", "no-such-id")
    page.press("#fetch-id", "Enter")
    expect(page.locator("#fetch-missing")).to_have_text('No record "no-such-id" in this namespace.')


def test_fetch_by_metadata(page: Page, server: ServerProcess, pc: Pinecone, films: str) -> None:
    sdk = pc.Index(name=films).fetch_by_metadata(
        filter={"genre": {"$eq": "drama"}, "year": {"$lt": 2020}}, namespace="catalog"
    )
    open_console(page, server.url, f"/index/{films}/records?ns=catalog")
    page.fill("#fbm-filter", '{"genre": {"$eq": "drama"}, "year": {"$lt": 2020}}')
    page.press("#fbm-filter", "Control+Enter")
    expect(page.locator("#fbm-count")).to_have_text(f"{len(sdk.vectors)} records.")
    shown = rows(page, "#fbm-table")
    assert {r[0] for r in shown} == set(sdk.vectors)
    for record_id, _values, metadata in shown:
        assert metadata == _inline(sdk.vectors[record_id].metadata)

    # The API's message for a filter it refuses.
    page.fill("#fbm-filter", '{"year": {"$gt": "1999"}}')
    page.get_by_role("button", name="Fetch by metadata").click()
    with pytest.raises(ApiError) as refused:
        pc.Index(name=films).fetch_by_metadata(filter={"year": {"$gt": "1999"}}, namespace="catalog")
    expect(page.locator("#fbm-result .error")).to_have_text(f"400: {refused.value.message}")
    # An empty one, refused in the page as the SDK refuses it before sending.
    page.fill("#fbm-filter", "{}")
    page.get_by_role("button", name="Fetch by metadata").click()
    expect(page.locator("#fbm-result .error")).to_contain_text("at least one condition")


# ------------------------------------------------------------------ query


def test_query_by_vector_with_a_filter(page: Page, server: ServerProcess, pc: Pinecone, films: str) -> None:
    vector = [0.5, -0.25, 0.75, 0.1]
    flt = {"year": {"$gte": 2010}, "genre": {"$in": ["drama", "comedy"]}}
    sdk = pc.Index(name=films).query(
        vector=vector, top_k=5, namespace="catalog", filter=flt, include_metadata=True
    )
    open_console(page, server.url, f"/index/{films}/query?ns=catalog")
    page.fill("#q-vector", "[0.5, -0.25, 0.75, 0.1]")
    page.fill("#q-filter", '{"year": {"$gte": 2010}, "genre": {"$in": ["drama", "comedy"]}}')
    page.fill("#q-topk", "5")
    page.press("#q-topk", "Enter")
    expect(page.locator("#query-count")).to_contain_text(f"{len(sdk.matches)} matches")
    assert rows(page, "#query-table") == [
        [str(i + 1), m.id, f"{m.score:.6f}", _inline(m.metadata)] for i, m in enumerate(sdk.matches)
    ]


def test_query_by_record_id(page: Page, server: ServerProcess, pc: Pinecone, films: str) -> None:
    sdk = pc.Index(name=films).query(id="film-03", top_k=4, namespace="catalog", include_metadata=True)
    open_console(page, server.url, f"/index/{films}/query?ns=catalog")
    page.check("#by-id")
    expect(page.locator("#q-vector")).to_be_hidden()
    page.fill("#q-id", "film-03")
    page.fill("#q-topk", "4")
    page.press("#q-id", "Enter")
    expect(page.locator("#query-table")).to_be_visible()
    assert rows(page, "#query-table") == [
        [str(i + 1), m.id, f"{m.score:.6f}", _inline(m.metadata)] for i, m in enumerate(sdk.matches)
    ]
    assert rows(page, "#query-table")[0][1] == "film-03"


def test_query_a_sparse_index(page: Page, server: ServerProcess, pc: Pinecone) -> None:
    pc.create_index(name="sparse-query", vector_type="sparse", metric="dotproduct", spec=SPEC)
    idx = pc.Index(name="sparse-query")
    idx.upsert(
        vectors=[
            {
                "id": f"s{i}",
                "sparse_values": {"indices": [i, i + 1, 40], "values": [0.5, 0.25, 0.1]},
                "metadata": {"i": i},
            }
            for i in range(8)
        ]
    )
    query = {"indices": [3, 4, 40], "values": [1.0, 0.5, 2.0]}
    sdk = idx.query(sparse_vector=query, top_k=5, include_metadata=True)
    open_console(page, server.url, "/index/sparse-query/query")
    expect(page.locator("#q-vector")).to_have_count(0)  # no dense vector on a sparse index
    page.fill("#q-sparse", '{"indices": [3, 4, 40], "values": [1.0, 0.5, 2.0]}')
    page.fill("#q-topk", "5")
    page.press("#q-topk", "Enter")
    expect(page.locator("#query-table")).to_be_visible()
    assert rows(page, "#query-table") == [
        [str(i + 1), m.id, f"{m.score:.6f}", _inline(m.metadata)] for i, m in enumerate(sdk.matches)
    ]


def test_a_bad_filter_shows_the_api_400(page: Page, server: ServerProcess, pc: Pinecone, films: str) -> None:
    with pytest.raises(ApiError) as sdk:
        pc.Index(name=films).query(
            vector=[0.1, 0.2, 0.3, 0.4], top_k=3, namespace="catalog", filter={"year": {"$bad": 1}}
        )
    assert sdk.value.status_code == 400
    open_console(page, server.url, f"/index/{films}/query?ns=catalog")
    page.fill("#q-vector", "[0.1, 0.2, 0.3, 0.4]")
    page.fill("#q-filter", '{"year": {"$bad": 1}}')
    page.click("text=Run query")
    expect(page.locator("#query-result .error")).to_have_text(f"400: {sdk.value.message}")

    # Not JSON: refused in the page, nothing is sent.
    sent: list[str] = []
    page.on("request", lambda r: sent.append(r.url) if r.url.endswith("/query") else None)
    page.fill("#q-filter", '{"year": ')
    page.click("text=Run query")
    expect(page.locator("#query-result .error")).to_contain_text("The filter is not valid JSON")
    assert sent == []

    # A vector of the wrong dimension: the API's message too.
    page.fill("#q-filter", "")
    page.fill("#q-vector", "[1, 2]")
    page.click("text=Run query")
    expect(page.locator("#query-result .error")).to_contain_text("400: vector has dimension 2")


# ------------------------------------------------------------------ deletes, each after a dry-run count


@pytest.fixture
def doomed(pc: Pinecone, request: pytest.FixtureRequest) -> str:
    """A fresh index per delete test: 240 ``p-NNN`` records (genres rotating) and 20 ``q-NN`` ones in
    namespace ``ns``, 5 in the default namespace."""
    name = "del-" + str(request.node.name).removeprefix("test_delete_by_").replace("_", "-")[:30]
    pc.create_index(name=name, dimension=4, metric="cosine", spec=SPEC)
    idx = pc.Index(name=name)
    rng = random.Random(name)
    records = [(f"p-{i:03d}", _vector(rng), {"genre": GENRES[i % 3], "n": i}) for i in range(240)]
    records += [(f"q-{i:02d}", _vector(rng), {"genre": "drama", "n": 1000 + i}) for i in range(20)]
    for start in range(0, len(records), 100):
        idx.upsert(vectors=records[start : start + 100], namespace="ns")
    idx.upsert(vectors=[(f"p-{i:03d}", _vector(rng), {"genre": "drama"}) for i in range(5)])
    return name


def _confirm_delete(page: Page, form: str, pc: Pinecone, index: str, namespace: str = "ns") -> int:
    """Read the dry-run count of ``form``, confirm, and return how many records the SDK saw go; the
    caller compares the two."""
    count = int(page.get_attribute(f"#{form}-count", "data-count") or "-1")
    before = _stats_count(pc, index, namespace)
    page.click(f"#{form}-confirm")
    expect(page.locator(f"#{form}-result .ok")).to_have_text(f"Deleted {count:,} records.")
    return before - _stats_count(pc, index, namespace) if count >= 0 else -1


def test_delete_by_ids(page: Page, server: ServerProcess, pc: Pinecone, doomed: str) -> None:
    open_console(page, server.url, f"/index/{doomed}/delete?ns=ns")
    page.fill("#del-ids", "p-001\np-002, p-003\nno-such\np-002")
    page.click("#del-ids-form button[type=submit]")
    expect(page.locator("#del-ids-count")).to_have_text("3 of the 4 ids exist in this namespace.")
    assert _confirm_delete(page, "del-ids", pc, doomed) == 3
    assert pc.Index(name=doomed).fetch(ids=["p-001", "p-002", "p-003"], namespace="ns").vectors == {}
    assert _stats_count(pc, doomed, "") == 5  # the default namespace's p-001.. are untouched


def test_delete_by_prefix(page: Page, server: ServerProcess, pc: Pinecone, doomed: str) -> None:
    idx = pc.Index(name=doomed)
    listed = [v.id for p in idx.list(prefix="p-", namespace="ns") for v in p.vectors]
    open_console(page, server.url, f"/index/{doomed}/delete?ns=ns")
    page.fill("#del-prefix", "p-")
    page.press("#del-prefix", "Enter")
    expect(page.locator("#del-prefix-count")).to_have_text(
        f'{len(listed)} records have an id starting with "p-".'
    )
    assert _confirm_delete(page, "del-prefix", pc, doomed) == len(listed) == 240
    assert [v.id for p in idx.list(prefix="p-", namespace="ns") for v in p.vectors] == []
    assert _stats_count(pc, doomed, "ns") == 20


def test_delete_by_filter(page: Page, server: ServerProcess, pc: Pinecone, doomed: str) -> None:
    idx = pc.Index(name=doomed)
    flt = {"genre": {"$eq": "drama"}, "n": {"$lt": 1005}}
    matching = len(idx.fetch_by_metadata(filter=flt, namespace="ns", limit=10_000).vectors)
    open_console(page, server.url, f"/index/{doomed}/delete?ns=ns")
    page.fill("#del-filter", '{"genre": {"$eq": "drama"}, "n": {"$lt": 1005}}')
    page.press("#del-filter", "Control+Enter")
    expect(page.locator("#del-filter-count")).to_have_text(
        f"{matching} records match the filter in this namespace."
    )

    # An edit after the count throws the count away: what is confirmed is always what was counted.
    page.fill("#del-filter", '{"genre": {"$eq": "comedy"}}')
    expect(page.locator("#del-filter-confirm")).to_have_count(0)
    page.fill("#del-filter", '{"genre": {"$eq": "drama"}, "n": {"$lt": 1005}}')
    page.press("#del-filter", "Control+Enter")
    expect(page.locator("#del-filter-count")).to_have_attribute("data-count", str(matching))
    assert _confirm_delete(page, "del-filter", pc, doomed) == matching == 85
    assert idx.fetch_by_metadata(filter=flt, namespace="ns").vectors == {}

    # A filter the API refuses: its 400 message, at the count already.
    page.fill("#del-filter", '{"n": {"$regex": "x"}}')
    page.press("#del-filter", "Control+Enter")
    expect(page.locator("#del-filter-result .error")).to_contain_text("400: Invalid filter")
    # An empty filter: refused in the page (the API refuses a delete with one; it would count everything).
    page.fill("#del-filter", "{}")
    page.press("#del-filter", "Control+Enter")
    expect(page.locator("#del-filter-result .error")).to_contain_text("An empty filter matches every record")


def test_nothing_to_delete_offers_no_confirm(page: Page, server: ServerProcess, films: str) -> None:
    open_console(page, server.url, f"/index/{films}/delete?ns=catalog")
    page.fill("#del-prefix", "nothing-has-this-")
    page.press("#del-prefix", "Enter")
    expect(page.locator("#del-prefix-count")).to_contain_text("Nothing to delete.")
    expect(page.locator("#del-prefix-confirm")).to_have_count(0)
