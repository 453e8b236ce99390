"""The LSN headers of the vectors API: every write response carries ``x-pinecone-lsn-committed`` (the LSN
it was logged at), every read ``x-pinecone-lsn-reconciled`` (the LSN applied when the read began), which
the official SDK reads into ``response_info.lsn_committed`` / ``lsn_reconciled`` and ``is_reconciled``."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from spruce_server_proc import CLASSIC_API, ServerProcess


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("lsn")).start()
    yield proc
    proc.stop()


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
