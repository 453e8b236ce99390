"""SDK 10.2.0's asyncio client (``PineconeAsyncio`` and its ``IndexAsyncio``) against a real server: the
control plane and data plane calls the sync suite covers (``tests/behaviour``, ``tests/integration``),
each checked against what the sync client reads back from the same server.

10.x's asyncio client is built on httpx, which the SDK already requires (it has no ``asyncio`` extra and
needs no aiohttp), so it runs in the main venv. Each test is one ``asyncio.run``: no pytest plugin needed.
"""

from __future__ import annotations

import asyncio
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pytest
from pinecone import Pinecone, PineconeAsyncio, ServerlessSpec
from pinecone.errors import ConflictError, ForbiddenError, NotFoundError, PineconeValueError
from spruce_server_proc import ServerProcess

warnings.filterwarnings("ignore", category=RuntimeWarning, module="pinecone")

SPEC = ServerlessSpec(cloud="aws", region="us-east-1")
DIM = 8
T = TypeVar("T")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(Path(tmp_path_factory.mktemp("asyncio"))).start(timeout=60)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def sync_pc(server: ServerProcess) -> Pinecone:
    return Pinecone(api_key="anything", host=server.url)


def run(server: ServerProcess, body: Callable[[PineconeAsyncio], Awaitable[T]]) -> T:
    """``body(pc)`` with an asyncio client of ``server``, closed afterwards."""

    async def main() -> T:
        async with PineconeAsyncio(api_key="anything", host=server.url) as pc:
            return await body(pc)

    return asyncio.run(main())


def _records(n: int, prefix: str = "v", seed: int = 0) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "id": f"{prefix}{i:04d}",
            "values": rng.normal(size=DIM).round(4).tolist(),
            "metadata": {"genre": ["drama", "comedy", "documentary"][i % 3], "year": 2000 + i % 25},
        }
        for i in range(n)
    ]


def _plain(meta: dict[str, Any]) -> dict[str, Any]:
    return {k: float(v) if isinstance(v, int) else v for k, v in meta.items()}


def test_control_plane(server: ServerProcess, sync_pc: Pinecone) -> None:
    async def body(pc: PineconeAsyncio) -> dict[str, Any]:
        created = await pc.create_index(
            name="aio-ctl", dimension=DIM, metric="dotproduct", spec=SPEC, tags={"env": "test"}
        )
        out: dict[str, Any] = {"created": created}
        out["described"] = await pc.describe_index("aio-ctl")
        out["names"] = (await pc.list_indexes()).names()
        out["has"] = (await pc.has_index("aio-ctl"), await pc.has_index("aio-missing"))
        with pytest.raises(ConflictError):
            await pc.create_index(name="aio-ctl", dimension=DIM, spec=SPEC)
        await pc.configure_index("aio-ctl", deletion_protection="enabled", tags={"team": "search"})
        out["configured"] = await pc.describe_index("aio-ctl")
        with pytest.raises(ForbiddenError):
            await pc.delete_index("aio-ctl")
        await pc.configure_index("aio-ctl", deletion_protection="disabled")
        await pc.delete_index("aio-ctl", timeout=-1)
        out["after"] = await pc.has_index("aio-ctl")
        with pytest.raises(NotFoundError):
            await pc.describe_index("aio-ctl")
        return out

    got = run(server, body)
    created, described, configured = got["created"], got["described"], got["configured"]
    assert created.name == "aio-ctl" and created.host.startswith("http://127.0.0.1:")
    assert created.host != server.url  # the index's own port
    assert (described.dimension, described.metric, described.vector_type) == (DIM, "dotproduct", "dense")
    assert described.host == created.host and described.status.ready is True
    assert described.deployment.cloud == "aws" and dict(described.tags) == {"env": "test"}
    assert "aio-ctl" in got["names"] and got["has"] == (True, False)
    assert configured.deletion_protection == "enabled"
    assert dict(configured.tags) == {"env": "test", "team": "search"}
    assert got["after"] is False and not sync_pc.has_index("aio-ctl")


def test_upsert_query_fetch_update(server: ServerProcess, sync_pc: Pinecone) -> None:
    sync_pc.create_index(name="aio-data", dimension=DIM, metric="cosine", spec=SPEC)
    records = _records(250, seed=1)
    target = records[42]

    async def body(pc: PineconeAsyncio) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with await pc.index(name="aio-data") as idx:
            out["upserted"] = await idx.upsert(vectors=records, namespace="q", batch_size=100)
            out["tuples"] = await idx.upsert(vectors=[("t1", [1.0] * DIM, {"kind": "tuple"})], namespace="t")
            # concurrent queries on one client: the asyncio client's point
            out["queries"] = await asyncio.gather(
                *(
                    idx.query(vector=r["values"], top_k=3, namespace="q", include_metadata=True)
                    for r in records[:10]
                )
            )
            out["filtered"] = await idx.query(
                vector=target["values"], top_k=100, namespace="q", filter={"genre": "documentary"}
            )
            out["by_id"] = await idx.query(id=target["id"], top_k=2, namespace="q", include_values=True)
            out["fetched"] = await idx.fetch(ids=[target["id"], "missing"], namespace="q")
            out["by_meta"] = await idx.fetch_by_metadata(filter={"year": {"$eq": 2001}}, namespace="q")
            out["updated"] = await idx.update(
                id=target["id"], set_metadata={"genre": "noir"}, values=[0.5] * DIM, namespace="q"
            )
            out["by_filter"] = await idx.update(
                filter={"genre": "comedy"}, set_metadata={"seen": True}, namespace="q"
            )
            out["dry"] = await idx.update(filter={"year": {"$gte": 2020}}, dry_run=True, namespace="q")
            with pytest.raises(PineconeValueError):
                await idx.query(top_k=1, namespace="q")  # neither vector nor id: refused client-side
        return out

    got = run(server, body)
    assert got["upserted"].upserted_count == 250 and got["tuples"].upserted_count == 1
    sync = sync_pc.Index(name="aio-data")
    for r, res in zip(records[:10], got["queries"], strict=True):
        expected = sync.query(vector=r["values"], top_k=3, namespace="q")
        assert [m.id for m in res.matches] == [m.id for m in expected.matches]
        assert res.matches[0].id == r["id"] and res.matches[0].score == pytest.approx(1.0, abs=1e-5)
    documentaries = sorted(r["id"] for r in records if r["metadata"]["genre"] == "documentary")
    assert sorted(m.id for m in got["filtered"].matches) == documentaries
    sync_filtered = sync.query(
        vector=target["values"], top_k=100, namespace="q", filter={"genre": "documentary"}
    )
    assert [m.id for m in got["filtered"].matches] == [m.id for m in sync_filtered.matches]
    assert got["by_id"].matches[0].id == target["id"]
    assert got["by_id"].matches[0].values == pytest.approx(target["values"], rel=1e-6)
    assert set(got["fetched"].vectors) == {target["id"]}
    assert got["fetched"].vectors[target["id"]].metadata == _plain(target["metadata"])
    assert sorted(got["by_meta"].vectors) == [r["id"] for r in records if r["metadata"]["year"] == 2001]
    assert got["updated"].matched_records == 1
    now = sync.fetch(ids=[target["id"]], namespace="q").vectors[target["id"]]
    assert now.values == [0.5] * DIM and now.metadata["genre"] == "noir"
    comedies = [r["id"] for r in records if r["metadata"]["genre"] == "comedy"]
    assert got["by_filter"].matched_records == len(comedies)
    assert all(
        v.metadata["seen"] is True for v in sync.fetch(ids=comedies[:50], namespace="q").vectors.values()
    )
    assert got["dry"].matched_records == len([r for r in records if r["metadata"]["year"] >= 2020])
    assert sync.fetch(ids=["t1"], namespace="t").vectors["t1"].metadata == {"kind": "tuple"}


def test_list_delete_and_stats(server: ServerProcess, sync_pc: Pinecone) -> None:
    sync_pc.create_index(name="aio-del", dimension=DIM, metric="euclidean", spec=SPEC)
    records = _records(230, prefix="doc1#chunk", seed=2) + _records(5, prefix="doc2#chunk", seed=3)
    sync_pc.Index(name="aio-del").upsert(vectors=records, namespace="d", batch_size=100)

    async def body(pc: PineconeAsyncio) -> dict[str, Any]:
        out: dict[str, Any] = {}
        idx = pc.IndexAsyncio(host=(await pc.describe_index("aio-del")).host)
        try:
            first = await idx.list_paginated(prefix="doc1#", namespace="d", limit=100)
            second = await idx.list_paginated(
                prefix="doc1#", namespace="d", limit=100, pagination_token=first.pagination.next
            )
            out["pages"] = [[v.id for v in first.vectors], [v.id for v in second.vectors]]
            out["listed"] = [
                v.id async for page in idx.list(prefix="doc1#", namespace="d") for v in page.vectors
            ]
            out["stats0"] = await idx.describe_index_stats()
            await idx.delete(ids=out["listed"][:100], namespace="d")  # a page of ids, as a prefix delete does
            await idx.delete(filter={"genre": "drama"}, namespace="d")
            out["stats1"] = await idx.describe_index_stats()
            await idx.delete(delete_all=True, namespace="d")
            out["stats2"] = await idx.describe_index_stats()
        finally:
            await idx.close()
        return out

    got = run(server, body)
    doc1 = sorted(r["id"] for r in records if r["id"].startswith("doc1#"))
    assert got["pages"][0] == doc1[:100] and got["pages"][1] == doc1[100:200]
    assert got["listed"] == doc1
    assert got["stats0"].namespaces["d"].vector_count == 235 and got["stats0"].dimension == DIM
    left = [r for r in records if r["id"] not in set(doc1[:100]) and r["metadata"]["genre"] != "drama"]
    assert got["stats1"].namespaces["d"].vector_count == len(left)
    sync = sync_pc.Index(name="aio-del")
    assert got["stats2"].namespaces.get("d") is None and sync.describe_index_stats().total_vector_count == 0


def test_namespaces(server: ServerProcess, sync_pc: Pinecone) -> None:
    sync_pc.create_index(name="aio-ns", dimension=2, spec=SPEC)

    async def body(pc: PineconeAsyncio) -> dict[str, Any]:
        out: dict[str, Any] = {}
        async with await pc.index(name="aio-ns") as idx:
            for i in range(3):
                await idx.create_namespace(name=f"nsx-{i}")
            with pytest.raises(ConflictError):
                await idx.create_namespace(name="nsx-0")
            await idx.upsert(vectors=[("a", [1.0, 1.0]), ("b", [1.0, 2.0])], namespace="nsx-1")
            out["described"] = await idx.describe_namespace(name="nsx-1")
            out["names"] = [
                (n.name, n.record_count) async for p in idx.list_namespaces(limit=2) for n in p.namespaces
            ]
            await idx.delete_namespace(name="nsx-2")
            with pytest.raises(NotFoundError):
                await idx.describe_namespace(name="nsx-2")
        return out

    got = run(server, body)
    assert got["described"].record_count == 2
    assert got["names"] == [("nsx-0", 0), ("nsx-1", 2), ("nsx-2", 0)]
    sync = sync_pc.Index(name="aio-ns")
    assert [n.name for p in sync.list_namespaces() for n in p.namespaces] == ["nsx-0", "nsx-1"]


def test_sparse_index(server: ServerProcess, sync_pc: Pinecone) -> None:
    """A sparse index created, written and queried through the asyncio client alone."""
    records = [
        {"id": f"s{i:02d}", "sparse_values": {"indices": [i, 100 + i % 3], "values": [1.0 + i, 0.5]}}
        for i in range(12)
    ]
    query = {5: 2.0, 101: 1.0}

    async def body(pc: PineconeAsyncio) -> Any:
        await pc.create_index(name="aio-sparse", vector_type="sparse", metric="dotproduct", spec=SPEC)
        async with await pc.index(name="aio-sparse") as idx:
            await idx.upsert(vectors=records)
            return await idx.query(
                top_k=3, sparse_vector={"indices": list(query), "values": list(query.values())}
            )

    res = run(server, body)

    def score(r: dict[str, Any]) -> float:
        sv = r["sparse_values"]
        return sum(query.get(j, 0.0) * v for j, v in zip(sv["indices"], sv["values"], strict=True))

    expected = sorted(records, key=lambda r: (-score(r), r["id"]))[:3]
    assert [m.id for m in res.matches] == [r["id"] for r in expected]
    assert [m.score for m in res.matches] == pytest.approx([score(r) for r in expected])
    assert sync_pc.describe_index("aio-sparse").vector_type == "sparse"
