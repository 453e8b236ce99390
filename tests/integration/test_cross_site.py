"""A web page of another site cannot drive a spruce server through its visitor's browser.

A browser sends a "simple" POST (``Content-Type: text/plain``, no preflight) to any address, loopback
included; on a server without an API key that was a delete of everything. Such requests carry ``Origin``
(and ``Sec-Fetch-Site``), which SDKs never send: anything not from the server's own origin is a 403 that
changes nothing, while the SDK and the console (same origin) go on working. The console's pages answer
with headers that keep other sites from framing them or loading anything into them."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from pinecone import Pinecone, ServerlessSpec
from spruce_server_proc import ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("data"), []).start(timeout=60)  # no API key
    yield proc
    proc.stop()


def test_a_cross_site_delete_is_refused_and_changes_nothing(server: ServerProcess) -> None:
    pc = Pinecone(api_key="any", host=server.url)
    pc.create_index(
        name="victim", dimension=2, metric="euclidean", spec=ServerlessSpec(cloud="aws", region="us-east-1")
    )
    ix = pc.Index(name="victim")
    ix.upsert(vectors=[("a", [1.0, 2.0]), ("b", [3.0, 4.0])])
    attacks = [
        {"Origin": "http://evil.example", "Content-Type": "text/plain"},
        {"Origin": "null", "Content-Type": "text/plain"},  # a sandboxed frame, a file:// page
        {"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:3000"},  # another port is another origin
    ]
    for headers in attacks:
        r = httpx.post(
            f"{server.url}/index/victim/vectors/delete", content=b'{"deleteAll": true}', headers=headers
        )
        assert r.status_code == 403, (headers, r.text)
        assert "refused" in r.json()["message"]
        r = httpx.delete(f"{server.url}/indexes/victim", headers=headers)
        assert r.status_code == 403 and "another" in r.json()["error"]["message"]
    assert ix.describe_index_stats().total_vector_count == 2
    # the server's own origin (the console) goes on working, as does the SDK (no Origin at all)
    host = server.url.partition("://")[2]
    own = {"Origin": f"http://{host}", "Sec-Fetch-Site": "same-origin"}
    r = httpx.post(f"{server.url}/index/victim/describe_index_stats", json={}, headers=own)
    assert r.status_code == 200 and r.json()["totalVectorCount"] == 2


def test_console_pages_keep_other_sites_out(server: ServerProcess) -> None:
    r = httpx.get(f"{server.url}/console/")
    assert r.status_code == 200
    assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY" and r.headers["x-content-type-options"] == "nosniff"
    head = httpx.head(f"{server.url}/console/")
    assert head.status_code == 200 and head.content == b""
    assert httpx.head(f"{server.url}/health").status_code == 200
