"""The data plane through the official SDK 10.2.0: every record and namespace operation, the delete story."""

from __future__ import annotations

import numpy as np
import pytest
from pinecone import Pinecone, ServerlessSpec
from pinecone.errors import ApiError, ConflictError, NotFoundError

SPEC = ServerlessSpec(cloud="aws", region="us-east-1")
DIM = 8


def _vectors(n: int, prefix: str = "v", seed: int = 0) -> list[dict[str, object]]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        meta = {
            "genre": ["drama", "comedy", "documentary"][i % 3],
            "year": 2000 + i % 25,
            "tags": [f"t{i % 4}"],
        }
        out.append({"id": f"{prefix}{i:05d}", "values": rng.normal(size=DIM).tolist(), "metadata": meta})
    return out


def _ids(idx, namespace: str = "", prefix: str | None = None) -> list[str]:  # type: ignore[no-untyped-def]
    return [item.id for page in idx.list(namespace=namespace, prefix=prefix) for item in page.vectors]


@pytest.fixture(scope="module")
def idx(pc: Pinecone):  # type: ignore[no-untyped-def]
    pc.create_index(name="data", dimension=DIM, metric="cosine", spec=SPEC)
    return pc.Index(name="data")


def test_upsert_query_fetch(idx) -> None:  # type: ignore[no-untyped-def]
    vecs = _vectors(300, seed=1)
    assert idx.upsert(vectors=vecs, namespace="q", batch_size=100).upserted_count == 300
    target = vecs[42]
    res = idx.query(
        vector=target["values"], top_k=5, namespace="q", include_values=True, include_metadata=True
    )
    assert res.matches[0].id == target["id"]
    assert res.matches[0].score == pytest.approx(1.0, abs=1e-5)
    assert [m.score for m in res.matches] == sorted((m.score for m in res.matches), reverse=True)
    assert res.matches[0].metadata["genre"] == target["metadata"]["genre"]
    assert res.matches[0].values == pytest.approx(target["values"], rel=1e-6)
    assert res.namespace == "q"
    bare = idx.query(vector=target["values"], top_k=3, namespace="q")
    assert not bare.matches[0].values and bare.matches[0].metadata is None
    by_id = idx.query(id=target["id"], top_k=1, namespace="q")
    assert by_id.matches[0].id == target["id"]
    fetched = idx.fetch(ids=[target["id"], "missing"], namespace="q")
    assert set(fetched.vectors) == {target["id"]}
    assert fetched.vectors[target["id"]].metadata["year"] == target["metadata"]["year"]


def test_query_with_filter(idx) -> None:  # type: ignore[no-untyped-def]
    idx.upsert(vectors=_vectors(90, seed=2), namespace="f")
    flt = {"genre": {"$eq": "documentary"}, "year": {"$gte": 2010}}
    res = idx.query(vector=[0.1] * DIM, top_k=50, namespace="f", filter=flt, include_metadata=True)
    assert res.matches
    assert all(m.metadata["genre"] == "documentary" and m.metadata["year"] >= 2010 for m in res.matches)
    tagged = idx.query(vector=[0.1] * DIM, top_k=100, namespace="f", filter={"tags": {"$in": ["t1"]}})
    assert len(tagged.matches) == 90 // 4 + 1


def test_query_empty_namespace(idx) -> None:  # type: ignore[no-untyped-def]
    res = idx.query(vector=[0.5] * DIM, top_k=10, namespace="nothing-here")
    assert res.matches == []


def test_tuple_upsert_default_namespace_and_overwrite(idx) -> None:  # type: ignore[no-untyped-def]
    idx.upsert(vectors=[("t1", [1.0] * DIM, {"k": "old"}), ("t2", [2.0] * DIM)])
    idx.upsert(vectors=[("t1", [3.0] * DIM, {"k": "new"})])
    got = idx.fetch(ids=["t1", "t2"])
    assert got.vectors["t1"].metadata == {"k": "new"}
    assert got.vectors["t1"].values == [3.0] * DIM
    assert got.namespace == ""


def test_update_by_id_and_filter(idx) -> None:  # type: ignore[no-untyped-def]
    idx.upsert(vectors=_vectors(30, seed=3), namespace="u")
    idx.update(id="v00000", values=[0.5] * DIM, set_metadata={"seen": True}, namespace="u")
    rec = idx.fetch(ids=["v00000"], namespace="u").vectors["v00000"]
    assert rec.values == [0.5] * DIM
    assert rec.metadata["seen"] is True and rec.metadata["genre"] == "drama"
    dry = idx.update(filter={"genre": "comedy"}, set_metadata={"x": 1}, namespace="u", dry_run=True)
    assert dry.matched_records == 10
    assert "x" not in idx.fetch(ids=["v00001"], namespace="u").vectors["v00001"].metadata
    done = idx.update(filter={"genre": "comedy"}, set_metadata={"x": 1}, namespace="u")
    assert done.matched_records == 10
    assert idx.fetch(ids=["v00001"], namespace="u").vectors["v00001"].metadata["x"] == 1


def test_fetch_by_metadata_pagination(idx) -> None:  # type: ignore[no-untyped-def]
    idx.upsert(vectors=_vectors(60, seed=4), namespace="fm")
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        page = idx.fetch_by_metadata(
            filter={"genre": "drama"}, namespace="fm", limit=7, pagination_token=token
        )
        seen.extend(page.vectors)
        pages += 1
        if page.pagination is None:
            break
        token = page.pagination.next
    assert sorted(seen) == [f"v{i:05d}" for i in range(0, 60, 3)]
    assert pages == 3


def test_list_pagination(idx) -> None:  # type: ignore[no-untyped-def]
    idx.upsert(vectors=_vectors(250, prefix="doc1#chunk", seed=5), namespace="l", batch_size=100)
    idx.upsert(vectors=_vectors(5, prefix="doc2#chunk", seed=6), namespace="l")
    first = idx.list_paginated(prefix="doc1#", namespace="l")
    assert len(first.vectors) == 100 and first.pagination is not None
    ids = _ids(idx, namespace="l", prefix="doc1#")
    assert ids == sorted(ids) and len(ids) == 250
    last = idx.list_paginated(prefix="doc2#", namespace="l", limit=10)
    assert len(last.vectors) == 5 and last.pagination is None


def test_describe_index_stats(idx) -> None:  # type: ignore[no-untyped-def]
    idx.upsert(vectors=_vectors(9, seed=7), namespace="s")
    stats = idx.describe_index_stats()
    assert stats.dimension == DIM and stats.metric == "cosine"
    assert stats.namespaces["s"].vector_count == 9
    assert stats.total_vector_count == sum(ns.vector_count for ns in stats.namespaces.values())
    filtered = idx.describe_index_stats(filter={"genre": "drama"})
    assert filtered.namespaces["s"].vector_count == 3


def test_namespaces_crud(idx) -> None:  # type: ignore[no-untyped-def]
    for i in range(5):
        idx.create_namespace(name=f"nsx-{i}")
    assert idx.describe_namespace(name="nsx-3").record_count == 0
    with pytest.raises(ConflictError):
        idx.create_namespace(name="nsx-0")
    page = idx.list_namespaces_paginated(prefix="nsx-", limit=2)
    assert [n.name for n in page.namespaces] == ["nsx-0", "nsx-1"] and page.total_count == 5
    names = [n.name for p in idx.list_namespaces(prefix="nsx-", limit=2) for n in p.namespaces]
    assert names == [f"nsx-{i}" for i in range(5)]
    idx.delete_namespace(name="nsx-4")
    with pytest.raises(NotFoundError):
        idx.describe_namespace(name="nsx-4")
    with pytest.raises(NotFoundError):
        idx.delete_namespace(name="nsx-4")
    idx.upsert(vectors=[("a", [1.0] * DIM)], namespace="slash/and space")
    assert idx.describe_namespace(name="slash/and space").record_count == 1


def test_data_plane_errors_via_sdk(idx) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ApiError) as info:
        idx.upsert(vectors=[("bad", [1.0] * (DIM + 1))])
    assert info.value.status_code == 400 and "dimension" in str(info.value)
    with pytest.raises(ApiError) as info:
        idx.query(vector=[1.0] * DIM, top_k=3, filter={"year": {"$gt": "x"}})
    assert info.value.status_code == 400


# ---------------------------------------------------------------- the delete story


def test_delete_by_ids_default_and_named_namespace(idx) -> None:  # type: ignore[no-untyped-def]
    idx.upsert(vectors=_vectors(10, prefix="d", seed=8))
    idx.upsert(vectors=_vectors(10, prefix="d", seed=8), namespace="del-ns")
    idx.delete(ids=["d00000", "d00001", "never-existed"])
    idx.delete(ids=["d00002"], namespace="del-ns")
    assert "d00000" not in idx.fetch(ids=["d00000", "d00002"]).vectors
    assert "d00002" in idx.fetch(ids=["d00000", "d00002"]).vectors
    assert set(idx.fetch(ids=["d00000", "d00002"], namespace="del-ns").vectors) == {"d00000"}


def test_delete_by_prefix_via_list_pagination(idx) -> None:  # type: ignore[no-untyped-def]
    idx.upsert(vectors=_vectors(230, prefix="doc9#", seed=9), namespace="pfx", batch_size=115)
    idx.upsert(vectors=_vectors(3, prefix="keep#", seed=10), namespace="pfx")
    for page in idx.list(prefix="doc9#", namespace="pfx", limit=100):
        idx.delete(ids=[item.id for item in page.vectors], namespace="pfx")
    assert _ids(idx, namespace="pfx", prefix="doc9#") == []
    assert _ids(idx, namespace="pfx") == ["keep#00000", "keep#00001", "keep#00002"]


def test_delete_by_metadata_filter(idx) -> None:  # type: ignore[no-untyped-def]
    idx.upsert(vectors=_vectors(30, seed=11), namespace="films")
    idx.delete(filter={"genre": "documentary", "year": {"$gte": 2010}}, namespace="films")
    left = idx.fetch_by_metadata(filter={"genre": "documentary"}, namespace="films", limit=100).vectors
    assert left and all(v.metadata["year"] < 2010 for v in left.values())
    assert idx.describe_index_stats().namespaces["films"].vector_count == 30 - 5


def test_delete_all(idx) -> None:  # type: ignore[no-untyped-def]
    idx.upsert(vectors=_vectors(20, seed=12), namespace="wipe")
    idx.delete(delete_all=True, namespace="wipe")
    assert _ids(idx, namespace="wipe") == []
    assert "wipe" not in idx.describe_index_stats().namespaces


def test_delete_batches_of_1000_ids(idx) -> None:  # type: ignore[no-untyped-def]
    vecs = _vectors(2500, prefix="big", seed=13)
    idx.upsert(vectors=vecs, namespace="big", batch_size=1000)
    ids = [str(v["id"]) for v in vecs]
    for start in range(0, len(ids), 1000):
        idx.delete(ids=ids[start : start + 1000], namespace="big")
    assert _ids(idx, namespace="big") == []
    with pytest.raises(ApiError) as info:
        idx.delete(ids=[f"x{i}" for i in range(1001)], namespace="big")
    assert info.value.status_code == 400 and "1000" in str(info.value)
