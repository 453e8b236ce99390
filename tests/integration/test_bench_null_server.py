"""The benchmarks' do-nothing server answers the way the suite relies on.

``bench_suite.py`` times the same SDK calls against it as against spruce-server and subtracts: that is only
fair if it counts upserts right (the suite checks the SDK's count) and answers a fetch with one record per
requested id, of the asked dimension, so the SDK decodes a payload as big as spruce's.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import orjson
from bench_module import load_benchmark


def _bench_server() -> Any:
    return load_benchmark("bench_server.py", "bench_server_under_test")


def test_null_server_counts_upserts_and_shapes_fetches() -> None:
    bench = _bench_server()
    meta = {"category": "docs", "year": 2001, "tags": ["a"]}
    app = bench.NullApp(dim=7, metadata=meta)

    async def go() -> tuple[httpx.Response, httpx.Response, httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            records = [
                {"id": f"r{i}", "values": [0.5] * 7, "metadata": {"k": i, "id": "m"}} for i in range(123)
            ]
            up = await client.post(
                "/vectors/upsert", content=orjson.dumps({"vectors": records, "namespace": ""})
            )
            fetch = await client.get(
                "/vectors/fetch", params=[("ids", "a"), ("ids", 'b"c'), ("namespace", "n")]
            )
            query = await client.post("/query", json={"vector": [0.5] * 7, "topK": 10})
            return up, fetch, query

    up, fetch, query = asyncio.run(go())
    assert up.json() == {"upsertedCount": 123}
    body = fetch.json()
    assert list(body["vectors"]) == ["a", 'b"c'] and body["namespace"] == "n"
    assert body["vectors"]['b"c']["id"] == 'b"c' and len(body["vectors"]["a"]["values"]) == 7
    assert body["vectors"]["a"]["metadata"] == meta
    assert len(query.json()["matches"]) == 10


def test_null_server_count_matches_the_sdks_own_upsert_bodies() -> None:
    """The count relies on how the SDK opens each record: check it with the SDK's real requests."""
    from pinecone import Pinecone

    bench = _bench_server()
    with bench.null_server(dim=5, metadata={"category": "legal"}) as url:
        idx = Pinecone(api_key="k", host=url).Index(host=url)
        rows = [(f"id{i}", [0.25] * 5, {"id": "first key named id", "n": i}) for i in range(57)]
        assert idx.upsert(vectors=rows, show_progress=False).upserted_count == 57
        dict_rows = [{"id": f"d{i}", "values": [0.5] * 5} for i in range(9)]
        assert idx.upsert(vectors=dict_rows, show_progress=False).upserted_count == 9
        got = idx.fetch(ids=["x", "y", "z"])
        assert sorted(got.vectors) == ["x", "y", "z"] and len(got.vectors["y"].values) == 5
        assert got.vectors["z"].metadata == {"category": "legal"}
