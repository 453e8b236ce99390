"""Record operations with Pinecone's semantics, on every face (``conftest.Face``): upsert, fetch, query,
update and delete by every route, list pagination, namespaces, stats, errors and limits."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from faces import FLUSH_ROWS, Face

DIM = 8


def _records(n: int, prefix: str = "v", seed: int = 0, dim: int = DIM) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "id": f"{prefix}{i:05d}",
            "values": rng.normal(size=dim).tolist(),
            "metadata": {
                "genre": ["drama", "comedy", "documentary"][i % 3],
                "year": 2000 + i % 25,
                "tags": [f"t{i % 4}"],
            },
        }
        for i in range(n)
    ]


def _ids(idx: Any, namespace: str = "", prefix: str | None = None) -> list[str]:
    return [item.id for page in idx.list(namespace=namespace, prefix=prefix) for item in page.vectors]


# ---------------------------------------------------------------- upsert, fetch, query


def test_upsert_query_fetch(face: Face) -> None:
    idx = face.create_index(DIM)
    vecs = _records(300, seed=1)
    assert idx.upsert(vectors=vecs, namespace="q", batch_size=100).upserted_count == 300
    target = vecs[42]
    res = idx.query(
        vector=target["values"], top_k=5, namespace="q", include_values=True, include_metadata=True
    )
    assert res.matches[0].id == target["id"] and res.namespace == "q"
    assert res.matches[0].score == pytest.approx(1.0, abs=1e-5)
    assert [m.score for m in res.matches] == sorted((m.score for m in res.matches), reverse=True)
    assert res.matches[0].metadata == {**target["metadata"], "year": float(target["metadata"]["year"])}
    assert res.matches[0].values == pytest.approx(target["values"], rel=1e-6)
    bare = idx.query(vector=target["values"], top_k=3, namespace="q")
    assert bare.matches[0].values == [] and bare.matches[0].metadata is None
    assert idx.query(id=target["id"], top_k=1, namespace="q").matches[0].id == target["id"]
    fetched = idx.fetch(ids=[target["id"], "missing"], namespace="q")
    assert set(fetched.vectors) == {target["id"]} and fetched.namespace == "q"
    assert fetched.vectors[target["id"]].values == pytest.approx(target["values"], rel=1e-6)


def test_upsert_replaces_the_whole_record(face: Face) -> None:
    idx = face.create_index(2)
    idx.upsert(vectors=[("a", [1.0, 0.0], {"g": "x", "n": 1}), ("b", [2.0, 2.0])])
    idx.upsert(vectors=[("a", [0.0, 1.0], {"h": True})])
    got = idx.fetch(ids=["a", "b"])
    assert got.vectors["a"].values == [0.0, 1.0]
    assert got.vectors["a"].metadata == {"h": True}
    assert got.vectors["b"].metadata is None  # a record stored without metadata
    assert got.namespace == ""


def test_a_bad_record_rejects_the_whole_batch(face: Face) -> None:
    idx = face.create_index(2)
    with face.rejects(400, r"vectors\[2\]\.values.*dimension"):
        idx.upsert(vectors=[("a", [1.0, 0.0]), ("b", [0.0, 1.0]), ("c", [1.0, 1.0, 1.0])])
    assert idx.describe_index_stats().total_vector_count == 0
    assert idx.fetch(ids=["a", "b"]).vectors == {}


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("cosine", {"a": 1.0, "b": 0.0, "c": 1 / math.sqrt(2)}),
        ("dotproduct", {"a": 2.0, "b": 0.0, "c": 2.0}),
        ("euclidean", {"a": 1.0, "b": 5.0, "c": 2.0}),
    ],
)
def test_scores_per_metric(face: Face, metric: str, expected: dict[str, float]) -> None:
    idx = face.create_index(2, metric)
    idx.upsert(vectors=[("a", [1.0, 0.0]), ("b", [0.0, 1.0]), ("c", [1.0, 1.0])])
    res = idx.query(vector=[2.0, 0.0], top_k=3)
    assert {m.id: round(m.score, 5) for m in res.matches} == {k: round(v, 5) for k, v in expected.items()}
    scores = [m.score for m in res.matches]
    assert scores == sorted(scores, reverse=metric != "euclidean")


def test_ties_are_broken_by_id_across_memtable_and_segments(face: Face) -> None:
    idx = face.create_index(2, "dotproduct")
    idx.upsert(vectors=[(f"r{i:03d}", [1.0, 1.0], {"i": i}) for i in range(FLUSH_ROWS + 7)][::-1])
    res = idx.query(vector=[1.0, 1.0], top_k=3, include_metadata=True)
    assert [m.id for m in res.matches] == ["r000", "r001", "r002"]
    assert res.matches[0].metadata == {"i": 0.0}
    assert res["matches"][0]["id"] == "r000"  # results read like dicts too, as the SDK's do


def test_query_by_id_filter_and_empty_namespace(face: Face) -> None:
    idx = face.create_index(2)
    idx.upsert(
        vectors=[("a", [1.0, 0.0], {"g": "x"}), ("b", [0.9, 0.1], {"g": "y"}), ("c", [0.0, 1.0], {"g": "x"})]
    )
    assert [m.id for m in idx.query(id="a", top_k=2).matches] == ["a", "b"]
    assert [m.id for m in idx.query(id="a", top_k=2, filter={"g": "x"}).matches] == ["a", "c"]
    assert idx.query(id="zzz", top_k=2).matches == []
    assert idx.query(vector=[1.0, 0.0], top_k=2, namespace="nothing-here").matches == []


def test_query_with_filters(face: Face) -> None:
    idx = face.create_index(DIM)
    idx.upsert(vectors=_records(90, seed=2), namespace="f")
    flt = {"genre": {"$eq": "documentary"}, "year": {"$gte": 2010}}
    res = idx.query(vector=[0.1] * DIM, top_k=50, namespace="f", filter=flt, include_metadata=True)
    assert res.matches
    assert all(m.metadata["genre"] == "documentary" and m.metadata["year"] >= 2010 for m in res.matches)
    tagged = idx.query(vector=[0.1] * DIM, top_k=100, namespace="f", filter={"tags": {"$in": ["t1"]}})
    assert len(tagged.matches) == 90 // 4 + 1


def test_query_search_breadth_knobs(face: Face) -> None:
    idx = face.create_index(3)
    idx.upsert(vectors=[("k1", [1.0, 0.0, 0.0])])
    for knobs in ({"max_candidates": 200}, {"scan_factor": 2.0}, {}):
        assert idx.query(vector=[1.0, 0.0, 0.0], top_k=1, **knobs).matches[0].id == "k1"
    with face.rejects(400, "scan_factor"):
        idx.query(vector=[1.0, 0.0, 0.0], top_k=1, scan_factor=9.0)


def test_query_validation(face: Face) -> None:
    idx = face.create_index(2)
    with face.rejects(400, "top_k"):
        idx.query(vector=[1.0, 0.0], top_k=0)
    with face.rejects(400, "10000"):
        idx.query(vector=[1.0, 0.0], top_k=10_001)
    with face.rejects(400, "dimension"):
        idx.query(vector=[1.0, 0.0, 0.0], top_k=1)
    with face.rejects(400):
        idx.query(vector=[1.0, 0.0], top_k=3, filter={"year": {"$gt": "x"}})


# ---------------------------------------------------------------- update


def test_update_by_id(face: Face) -> None:
    idx = face.create_index(2)
    idx.upsert(vectors=[("a", [1.0, 0.0], {"g": "x", "n": 1})])
    assert idx.update(id="a", set_metadata={"n": 2, "new": "v"}).matched_records == 1
    assert idx.fetch(ids=["a"]).vectors["a"].metadata == {"g": "x", "n": 2.0, "new": "v"}
    idx.update(id="a", values=[0.5, 0.5])
    got = idx.fetch(ids=["a"]).vectors["a"]
    assert got.values == [0.5, 0.5] and got.metadata == {"g": "x", "n": 2.0, "new": "v"}
    assert idx.update(id="missing", values=[1.0, 1.0]).matched_records == 0


def test_update_by_filter_and_dry_run(face: Face) -> None:
    idx = face.create_index(DIM)
    idx.upsert(vectors=_records(30, seed=3), namespace="u")
    dry = idx.update(filter={"genre": "comedy"}, set_metadata={"x": 1}, namespace="u", dry_run=True)
    assert dry.matched_records == 10
    assert "x" not in idx.fetch(ids=["v00001"], namespace="u").vectors["v00001"].metadata
    assert idx.update(filter={"genre": "comedy"}, set_metadata={"x": 1}, namespace="u").matched_records == 10
    assert idx.fetch(ids=["v00001"], namespace="u").vectors["v00001"].metadata["x"] == 1
    assert "x" not in idx.fetch(ids=["v00000"], namespace="u").vectors["v00000"].metadata
    with face.rejects(400, "empty metadata filter"):
        idx.update(filter={}, set_metadata={"a": 1}, namespace="u")
    with face.rejects(400, "metadata only|values"):
        idx.update(filter={"genre": "comedy"}, values=[1.0] * DIM, namespace="u")
    with face.rejects(400, "exactly one of id or filter|id or filter"):
        idx.update(set_metadata={"a": 1}, namespace="u")


# ---------------------------------------------------------------- the delete story


def test_delete_by_ids_default_and_named_namespace(face: Face) -> None:
    idx = face.create_index(DIM)
    idx.upsert(vectors=_records(10, prefix="d", seed=8))
    idx.upsert(vectors=_records(10, prefix="d", seed=8), namespace="del-ns")
    idx.delete(ids=["d00000", "d00001", "never-existed"])
    idx.delete(ids=["d00002"], namespace="del-ns")
    assert set(idx.fetch(ids=["d00000", "d00002"]).vectors) == {"d00002"}
    assert set(idx.fetch(ids=["d00000", "d00002"], namespace="del-ns").vectors) == {"d00000"}


def test_delete_by_prefix_via_list_pagination(face: Face) -> None:
    idx = face.create_index(DIM)
    idx.upsert(vectors=_records(230, prefix="doc9#", seed=9), namespace="pfx", batch_size=115)
    idx.upsert(vectors=_records(3, prefix="keep#", seed=10), namespace="pfx")
    for page in list(idx.list(prefix="doc9#", namespace="pfx", limit=100)):
        idx.delete(ids=[item.id for item in page.vectors], namespace="pfx")
    assert _ids(idx, namespace="pfx", prefix="doc9#") == []
    assert _ids(idx, namespace="pfx") == ["keep#00000", "keep#00001", "keep#00002"]


def test_delete_page_by_page_following_the_token(face: Face) -> None:
    idx = face.create_index(2)
    ids = [f"doc1#{i:03d}" for i in range(23)] + ["doc2#000", "doc10#1"]
    idx.upsert(vectors=[(i, [1.0, 1.0]) for i in ids])
    token = None
    pages = 0
    while True:
        page = idx.list_paginated(prefix="doc1#", limit=4, pagination_token=token)
        idx.delete(ids=[v.id for v in page.vectors])
        pages += 1
        if page.pagination is None:
            break
        token = page.pagination.next
    assert pages == 6
    assert _ids(idx) == ["doc10#1", "doc2#000"]


def test_delete_by_metadata_filter(face: Face) -> None:
    idx = face.create_index(DIM)
    idx.upsert(vectors=_records(30, seed=11), namespace="films")
    idx.delete(filter={"genre": "documentary", "year": {"$gte": 2010}}, namespace="films")
    left = idx.fetch_by_metadata(filter={"genre": "documentary"}, namespace="films", limit=100).vectors
    assert left and all(v.metadata["year"] < 2010 for v in left.values())
    assert idx.describe_index_stats().namespaces["films"].vector_count == 30 - 5
    with face.rejects(400, "empty metadata filter"):
        idx.delete(filter={}, namespace="films")


def test_delete_all(face: Face) -> None:
    idx = face.create_index(DIM)
    idx.upsert(vectors=_records(20, seed=12), namespace="wipe")
    idx.upsert(vectors=_records(2, prefix="other", seed=12))
    idx.delete(delete_all=True, namespace="wipe")
    assert _ids(idx, namespace="wipe") == []
    stats = idx.describe_index_stats()
    assert "wipe" not in stats.namespaces and stats.total_vector_count == 2


def test_delete_batches_of_1000_ids(face: Face) -> None:
    idx = face.create_index(DIM)
    vecs = _records(2500, prefix="big", seed=13)
    idx.upsert(vectors=vecs, namespace="big", batch_size=1000)
    ids = [str(v["id"]) for v in vecs]
    for start in range(0, len(ids), 1000):
        idx.delete(ids=ids[start : start + 1000], namespace="big")
    assert _ids(idx, namespace="big") == []
    with face.rejects(400, "1000"):
        idx.delete(ids=[f"x{i}" for i in range(1001)], namespace="big")


# ---------------------------------------------------------------- list, fetch by metadata, stats


def test_list_pagination(face: Face) -> None:
    idx = face.create_index(DIM)
    idx.upsert(vectors=_records(250, prefix="doc1#chunk", seed=5), namespace="l", batch_size=100)
    idx.upsert(vectors=_records(5, prefix="doc2#chunk", seed=6), namespace="l")
    first = idx.list_paginated(prefix="doc1#", namespace="l")
    assert len(first.vectors) == 100 and first.pagination is not None
    ids = _ids(idx, namespace="l", prefix="doc1#")
    assert ids == sorted(ids) and len(ids) == 250
    last = idx.list_paginated(prefix="doc2#", namespace="l", limit=10)
    assert len(last.vectors) == 5 and last.pagination is None
    with face.rejects(400, "limit must be .*1 .*100"):
        idx.list_paginated(limit=101, namespace="l")
    with face.rejects(400, "not a token"):
        idx.list_paginated(pagination_token="garbage!", namespace="l")


def test_fetch_by_metadata_pages(face: Face) -> None:
    idx = face.create_index(DIM)
    idx.upsert(vectors=_records(60, seed=4), namespace="fm")
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
    assert sorted(seen) == [f"v{i:05d}" for i in range(0, 60, 3)] and pages == 3
    with face.rejects(400, "Empty filter"):
        idx.fetch_by_metadata(filter={}, namespace="fm")


def test_stats_are_exact_and_filterable(face: Face) -> None:
    idx = face.create_index(2)
    idx.upsert(vectors=[(f"a{i}", [1.0, float(i)], {"x": i}) for i in range(7)])
    idx.upsert(vectors=[(f"b{i}", [1.0, float(i)], {"x": i}) for i in range(3)], namespace="__default__")
    idx.upsert(vectors=[(f"c{i}", [1.0, float(i)], {"x": i}) for i in range(4)], namespace="other")
    stats = idx.describe_index_stats()
    assert {k: v.vector_count for k, v in stats.namespaces.items()} == {"": 10, "other": 4}
    assert stats.total_vector_count == 14 and stats.dimension == 2 and stats.metric == "cosine"
    filtered = idx.describe_index_stats(filter={"x": {"$lt": 2}})
    assert {k: v.vector_count for k, v in filtered.namespaces.items()} == {"": 4, "other": 2}
    assert filtered.total_vector_count == 14


# ---------------------------------------------------------------- namespaces


def test_namespaces_crud(face: Face) -> None:
    idx = face.create_index(2)
    for i in range(5):
        assert idx.create_namespace(name=f"nsx-{i}").record_count == 0
    assert idx.describe_namespace(name="nsx-3").record_count == 0
    with face.rejects(409):
        idx.create_namespace(name="nsx-0")
    page = idx.list_namespaces_paginated(prefix="nsx-", limit=2)
    assert [n.name for n in page.namespaces] == ["nsx-0", "nsx-1"] and page.total_count == 5
    names = [n.name for p in idx.list_namespaces(prefix="nsx-", limit=2) for n in p.namespaces]
    assert names == [f"nsx-{i}" for i in range(5)]
    idx.delete_namespace(name="nsx-4")
    with face.rejects(404):
        idx.describe_namespace(name="nsx-4")
    with face.rejects(404):
        idx.delete_namespace(name="nsx-4")


def test_namespaces_list_the_default_one_and_count_records(face: Face) -> None:
    idx = face.create_index(2)
    idx.create_namespace(name="made")
    idx.upsert(vectors=[("a", [1.0, 1.0])])
    idx.upsert(vectors=[("a", [1.0, 1.0]), ("b", [1.0, 2.0])], namespace="x")
    listed = [(n.name, n.record_count) for p in idx.list_namespaces() for n in p.namespaces]
    assert listed == [("__default__", 1), ("made", 0), ("x", 2)]
    assert idx.describe_namespace(name="__default__").record_count == 1
    assert idx.describe_namespace(namespace="x").record_count == 2  # the SDK's legacy keyword
    with face.rejects(400, "__default__|default namespace"):
        idx.create_namespace(name="__default__")
    idx.delete_namespace(name="x")
    assert idx.fetch(ids=["a"], namespace="x").vectors == {}


@pytest.mark.sdk10  # 9.x puts the name into the path without percent-encoding it
def test_namespace_names_with_url_characters(face: Face) -> None:
    idx = face.create_index(2)
    idx.upsert(vectors=[("a", [1.0, 1.0])], namespace="slash/and space")
    assert idx.describe_namespace(name="slash/and space").record_count == 1
    idx.delete_namespace(name="slash/and space")
    assert idx.describe_index_stats().namespaces == {}


def test_each_face_speaks_its_own_transport(face: Face) -> None:
    idx = face.create_index(2)
    kind = {"embedded": "IndexEngine", "server": "Index", "grpc": "GrpcIndex"}[face.name]
    assert type(idx).__name__ == kind
