"""The LSN headers of the vectors and Documents APIs: every write response carries
``x-pinecone-lsn-committed`` (the LSN it was logged at), every read ``x-pinecone-lsn-reconciled`` (the LSN
applied when the read began), which the official SDK reads into ``response_info.lsn_committed`` /
``lsn_reconciled`` and ``is_reconciled``; and the client's read barrier, ``x-spruce-min-lsn``."""

from __future__ import annotations

import httpx
from spruce_server_proc import CLASSIC_API, NEW_API, ServerProcess


def test_the_sdk_reads_committed_and_reconciled_lsns(server: ServerProcess) -> None:
    from pinecone import Pinecone, ServerlessSpec

    pc = Pinecone(api_key="k", host=server.url)
    pc.create_index("lsn", dimension=2, metric="cosine", spec=ServerlessSpec(cloud="aws", region="x"))
    idx = pc.Index(name="lsn")
    first = idx.upsert(vectors=[("a", [1.0, 0.0], {"g": 1}), ("b", [0.0, 1.0], {"g": 2})])
    second = idx.upsert(vectors=[("c", [1.0, 1.0], {"g": 1})])
    assert first.response_info.lsn_committed == 1 and second.response_info.lsn_committed == 2
    found = idx.query(vector=[1.0, 0.0], top_k=3)
    assert found.response_info.lsn_reconciled == 2 and found.response_info.is_reconciled(2)
    assert idx.fetch(ids=["a"]).response_info.is_reconciled(2)


def test_every_write_and_read_of_the_vectors_api_carries_its_header(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, headers=CLASSIC_API, timeout=30) as http:
        assert (
            http.post(
                "/indexes",
                json={
                    "name": "raw",
                    "dimension": 2,
                    "metric": "euclidean",
                    "spec": {"serverless": {"cloud": "aws", "region": "x"}},
                },
            ).status_code
            == 201
        )
        base = "/index/raw"
        writes = [
            ("/vectors/upsert", {"vectors": [{"id": "a", "values": [1, 0], "metadata": {"g": 1}}]}),
            ("/vectors/upsert", {"vectors": [{"id": "b", "values": [0, 1], "metadata": {"g": 2}}]}),
            ("/vectors/update", {"id": "a", "setMetadata": {"g": 3}}),
            ("/vectors/delete", {"ids": ["b"]}),
        ]
        for n, (path, body) in enumerate(writes, start=1):
            r = http.post(base + path, json=body)
            assert r.status_code == 200, r.text
            assert r.headers["x-pinecone-lsn-committed"] == str(n), path
        nothing = http.post(base + "/vectors/delete", json={"ids": ["never-there"]})
        assert nothing.headers["x-pinecone-lsn-committed"] == "4"  # logged nothing: the current LSN
        reads = [
            http.post(base + "/query", json={"vector": [1, 0], "topK": 1}),
            http.get(base + "/vectors/fetch", params={"ids": "a"}),
            http.post(base + "/vectors/fetch_by_metadata", json={"filter": {"g": 3}}),
            http.get(base + "/vectors/list"),
            http.post(base + "/describe_index_stats", json={}),
        ]
        for r in reads:
            assert r.status_code == 200, r.text
            assert r.headers["x-pinecone-lsn-reconciled"] == "4", r.request.url


def test_the_documents_api_carries_the_headers_too(server: ServerProcess) -> None:
    with httpx.Client(base_url=server.url, headers=NEW_API, timeout=30) as http:
        schema = {"fields": {"title": {"type": "string", "full_text_search": {"language": "english"}}}}
        r = http.post("/indexes", json={"name": "docs", "schema": schema})
        assert r.status_code == 201, r.text
        base = "/index/docs/namespaces/n/documents"
        up = http.post(base + "/upsert", json={"documents": [{"_id": "d1", "title": "a quiet harbour"}]})
        assert up.status_code == 200 and up.headers["x-pinecone-lsn-committed"] == "1", up.text
        upd = http.post(base + "/update", json={"documents": [{"_id": "d1", "title": "a busy harbour"}]})
        assert upd.headers["x-pinecone-lsn-committed"] == "2", upd.text
        reads = [
            http.post(
                base + "/search",
                json={"score_by": [{"type": "text", "field": "title", "query": "harbour"}], "top_k": 1},
            ),
            http.post(base + "/fetch", json={"ids": ["d1"]}),
            http.post(base + "/list", json={}),
        ]
        for r in reads:
            assert r.status_code == 200, r.text
            assert r.headers["x-pinecone-lsn-reconciled"] == "2", r.request.url
        gone = http.post(base + "/delete", json={"ids": ["d1"]})
        assert gone.headers["x-pinecone-lsn-committed"] == "3", gone.text


def test_a_read_barrier_is_answered_once_its_lsn_is_applied_and_refused_beyond_the_log(
    server: ServerProcess,
) -> None:
    """``x-spruce-min-lsn``: a read that must reflect a given LSN (across processes it waits for a sync,
    ``test_s3_shared.py``); one beyond the end of the log names the header and the limit."""
    with httpx.Client(base_url=server.url, headers=CLASSIC_API, timeout=30) as http:
        spec = {"serverless": {"cloud": "aws", "region": "x"}}
        assert (
            http.post(
                "/indexes", json={"name": "bar", "dimension": 2, "metric": "cosine", "spec": spec}
            ).status_code
            == 201
        )
        lsn = http.post(
            "/index/bar/vectors/upsert", json={"vectors": [{"id": "a", "values": [1, 0]}]}
        ).headers["x-pinecone-lsn-committed"]
        ok = http.get("/index/bar/vectors/fetch", params={"ids": "a"}, headers={"x-spruce-min-lsn": lsn})
        assert ok.status_code == 200 and "a" in ok.json()["vectors"]
        beyond = http.get("/index/bar/vectors/fetch", params={"ids": "a"}, headers={"x-spruce-min-lsn": "99"})
        assert beyond.status_code == 400 and "x-spruce-min-lsn" in beyond.text and "LSN 1" in beyond.text
        bad = http.post(
            "/index/bar/query", json={"vector": [1, 0], "topK": 1}, headers={"x-spruce-min-lsn": "-3"}
        )
        assert bad.status_code == 400 and "non-negative integer" in bad.text
