from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import spruce
from spruce.errors import AlreadyExistsError, InvalidArgumentError, NotFoundError


def test_upsert_replaces_whole_record_and_fetch_skips_missing(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2)
    idx = client.Index("ix")
    r1 = idx.upsert([("a", [1, 0], {"g": "x", "n": 1})])
    r2 = idx.upsert([("a", [0, 1], {"h": True})])
    assert r1.upserted_count == 1 and r2.lsn == r1.lsn + 1
    got = idx.fetch(["a", "missing"])
    assert list(got.vectors) == ["a"]
    assert got.vectors["a"].values == [0.0, 1.0]
    assert got.vectors["a"].metadata == {"h": True}


def test_bad_record_rejects_the_whole_batch(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2)
    idx = client.Index("ix")
    with pytest.raises(InvalidArgumentError, match=r"vectors\[2\].metadata.bad"):
        idx.upsert([("a", [1, 0]), ("b", [0, 1]), ("c", [1, 1], {"bad": {"nested": 1}})])
    assert idx.describe_index_stats().total_vector_count == 0
    assert idx.fetch(["a", "b"]).vectors == {}


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("cosine", {"a": 1.0, "b": 0.0, "c": 1 / math.sqrt(2)}),
        ("dotproduct", {"a": 2.0, "b": 0.0, "c": 2.0}),
        ("euclidean", {"a": 1.0, "b": 5.0, "c": 2.0}),
    ],
)
def test_scores_per_metric(client: spruce.Client, metric: str, expected: dict[str, float]) -> None:
    client.create_index("ix", dimension=2, metric=metric)
    idx = client.Index("ix")
    idx.upsert([("a", [1, 0]), ("b", [0, 1]), ("c", [1, 1])])
    res = idx.query(vector=[2, 0], top_k=3)
    assert {m.id: round(m.score, 6) for m in res.matches} == {k: round(v, 6) for k, v in expected.items()}
    scores = [m.score for m in res.matches]
    assert scores == sorted(scores, reverse=metric != "euclidean")


def test_ties_are_broken_by_id_and_include_flags(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2, metric="dotproduct")
    idx = client.Index("ix")
    idx.upsert([(i, [1, 1], {"i": i}) for i in ["d", "b", "a", "c"]])
    idx.upsert([("e", [1, 1])])  # memtable and segments mixed (flush_rows=5)
    res = idx.query(vector=[1, 1], top_k=3)
    assert [m.id for m in res.matches] == ["a", "b", "c"]
    assert res.matches[0].values == [] and res.matches[0].metadata is None
    full = idx.query(vector=[1, 1], top_k=1, include_values=True, include_metadata=True)
    assert full.matches[0].values == [1.0, 1.0] and full.matches[0].metadata == {"i": "a"}
    assert full["matches"][0]["id"] == "a"


def test_query_by_id_filter_and_validation(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2, metric="cosine")
    idx = client.Index("ix")
    idx.upsert([("a", [1, 0], {"g": "x"}), ("b", [0.9, 0.1], {"g": "y"}), ("c", [0, 1], {"g": "x"})])
    assert [m.id for m in idx.query(id="a", top_k=2).matches] == ["a", "b"]
    assert [m.id for m in idx.query(id="a", top_k=2, filter={"g": "x"}).matches] == ["a", "c"]
    assert idx.query(id="zzz", top_k=2).matches == []
    assert idx.query(vector=[1, 0], top_k=2, namespace="empty").matches == []
    with pytest.raises(InvalidArgumentError, match="exactly one of vector or id"):
        idx.query(top_k=1)
    with pytest.raises(InvalidArgumentError, match="top_k must be from 1 to 10000"):
        idx.query(vector=[1, 0], top_k=0)
    with pytest.raises(InvalidArgumentError, match="dimension"):
        idx.query(vector=[1, 0, 0], top_k=1)


def test_update_by_id_and_by_filter(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2)
    idx = client.Index("ix")
    idx.upsert([("a", [1, 0], {"g": "x", "n": 1}), ("b", [0, 1], {"g": "x"}), ("c", [1, 1], {"g": "y"})])
    assert idx.update(id="a", set_metadata={"n": 2, "new": "v"}).matched_records == 1
    assert idx.fetch(["a"]).vectors["a"].metadata == {"g": "x", "n": 2.0, "new": "v"}
    idx.update(id="a", values=[0.5, 0.5])
    assert idx.fetch(["a"]).vectors["a"].values == [0.5, 0.5]
    assert idx.fetch(["a"]).vectors["a"].metadata == {"g": "x", "n": 2.0, "new": "v"}
    assert idx.update(id="missing", values=[1, 1]).matched_records == 0
    dry = idx.update(filter={"g": "x"}, set_metadata={"z": True}, dry_run=True)
    assert dry.matched_records == 2
    assert "z" not in idx.fetch(["b"]).vectors["b"].metadata  # type: ignore[operator]
    assert idx.update(filter={"g": "x"}, set_metadata={"z": True}).matched_records == 2
    assert idx.fetch(["a", "b", "c"]).vectors["b"].metadata == {"g": "x", "z": True}
    assert idx.fetch(["c"]).vectors["c"].metadata == {"g": "y"}
    with pytest.raises(InvalidArgumentError, match="empty metadata filter"):
        idx.update(filter={}, set_metadata={"a": 1})
    with pytest.raises(InvalidArgumentError, match="metadata only"):
        idx.update(filter={"g": "x"}, values=[1, 1])
    with pytest.raises(InvalidArgumentError, match="exactly one of id or filter"):
        idx.update(set_metadata={"a": 1})


def test_delete_by_ids_filter_and_all(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2)
    idx = client.Index("ix")
    idx.upsert([(f"r{i}", [1, i], {"even": i % 2 == 0}) for i in range(10)], namespace="ns")
    idx.upsert([("d", [1, 1])])
    lsn = idx.delete(ids=["r0", "nope"], namespace="ns").lsn
    assert idx.delete(ids=["nope"], namespace="ns").lsn == lsn  # nothing changed, nothing logged
    idx.delete(filter={"even": {"$eq": True}}, namespace="ns")
    assert sorted(idx.fetch([f"r{i}" for i in range(10)], namespace="ns").vectors) == [
        "r1",
        "r3",
        "r5",
        "r7",
        "r9",
    ]
    with pytest.raises(InvalidArgumentError, match="Delete with empty metadata filter"):
        idx.delete(filter={}, namespace="ns")
    with pytest.raises(InvalidArgumentError, match="at most 1000 ids"):
        idx.delete(ids=[str(i) for i in range(1001)], namespace="ns")
    idx.delete(ids=[str(i) for i in range(1000)], namespace="ns")  # exactly the limit is fine
    idx.delete(delete_all=True, namespace="ns")
    stats = idx.describe_index_stats()
    assert "ns" not in stats.namespaces and stats.total_vector_count == 1
    assert idx.fetch(["d"]).vectors["d"].id == "d"


def test_list_and_delete_by_prefix_loop(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2)
    idx = client.Index("ix")
    ids = [f"doc1#{i:03d}" for i in range(23)] + ["doc2#000", "doc10#1"]
    idx.upsert([(i, [1, 1]) for i in ids])
    assert [v.id for page in idx.list(prefix="doc1#", limit=5) for v in page.vectors] == sorted(ids[:23])
    # The documented loop: list a page, delete it, follow the token.
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
    assert [v.id for page in idx.list() for v in page.vectors] == ["doc10#1", "doc2#000"]
    with pytest.raises(InvalidArgumentError, match="limit must be from 1 to 100"):
        idx.list_paginated(limit=101)
    with pytest.raises(InvalidArgumentError, match="not a token"):
        idx.list_paginated(pagination_token="garbage!")


def test_fetch_by_metadata_pages(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2)
    idx = client.Index("ix")
    idx.upsert([(f"r{i:02d}", [1, i], {"k": "a" if i < 12 else "b"}) for i in range(20)])
    seen: list[str] = []
    token = None
    while True:
        page = idx.fetch_by_metadata({"k": "a"}, limit=5, pagination_token=token)
        seen.extend(page.vectors)
        if page.pagination is None:
            break
        token = page.pagination.next
    assert seen == [f"r{i:02d}" for i in range(12)]
    with pytest.raises(InvalidArgumentError, match="Empty filter"):
        idx.fetch_by_metadata({})


def test_stats_exact_and_filtered(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2)
    idx = client.Index("ix")
    idx.upsert([(f"a{i}", [1, i], {"x": i}) for i in range(7)])
    idx.upsert([(f"b{i}", [1, i], {"x": i}) for i in range(3)], namespace="__default__")
    idx.upsert([(f"c{i}", [1, i], {"x": i}) for i in range(4)], namespace="other")
    stats = idx.describe_index_stats()
    assert {k: v.vector_count for k, v in stats.namespaces.items()} == {"": 10, "other": 4}
    assert stats.total_vector_count == 14 and stats.dimension == 2
    filtered = idx.describe_index_stats(filter={"x": {"$lt": 2}})
    assert {k: v.vector_count for k, v in filtered.namespaces.items()} == {"": 4, "other": 2}
    assert filtered.total_vector_count == 14


def test_namespace_api(client: spruce.Client) -> None:
    client.create_index("ix", dimension=2)
    idx = client.Index("ix")
    assert idx.create_namespace("made").record_count == 0
    with pytest.raises(AlreadyExistsError):
        idx.create_namespace("made")
    with pytest.raises(InvalidArgumentError, match="default namespace cannot be created"):
        idx.create_namespace("__default__")
    idx.upsert([("a", [1, 1])])
    idx.upsert([("a", [1, 1]), ("b", [1, 2])], namespace="x")
    assert [(n.name, n.record_count) for p in idx.list_namespaces() for n in p.namespaces] == [
        ("__default__", 1),
        ("made", 0),
        ("x", 2),
    ]
    names = [n.name for p in idx.list_namespaces(limit=1) for n in p.namespaces]
    assert names == ["__default__", "made", "x"]
    assert idx.describe_namespace("x").record_count == 2
    assert idx.describe_namespace("__default__").record_count == 1
    idx.delete_namespace("x")
    with pytest.raises(NotFoundError):
        idx.describe_namespace("x")
    with pytest.raises(NotFoundError):
        idx.delete_namespace("x")
    assert idx.fetch(["a"], namespace="x").vectors == {}


def test_everything_survives_reopen(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(40, 3)).astype(np.float32)
    c = spruce.Client(path=tmp_path, flush_rows=16)
    c.create_index("ix", dimension=3, metric="euclidean")
    idx = c.Index("ix")
    for start in range(0, 40, 7):
        idx.upsert([(f"v{i}", vecs[i], {"i": i}) for i in range(start, min(start + 7, 40))], namespace="n")
    idx.delete(ids=["v3", "v30"], namespace="n")
    idx.update(id="v5", set_metadata={"tag": "t"}, namespace="n")
    idx.create_namespace("empty")
    before = idx.query(vector=[0, 0, 0], top_k=10, namespace="n", include_metadata=True)
    # Reopen without a clean close: the log is the only copy of the newest writes.
    c.database.store.close()
    c2 = spruce.Client(path=tmp_path)
    idx2 = c2.Index("ix")
    assert idx2.query(vector=[0, 0, 0], top_k=10, namespace="n", include_metadata=True) == before
    assert idx2.describe_index_stats().namespaces["n"].vector_count == 38
    assert "empty" in idx2.describe_index_stats().namespaces
    assert idx2.fetch(["v5"], namespace="n").vectors["v5"].metadata == {"i": 5.0, "tag": "t"}
    c2.close()
    c3 = spruce.Client(path=tmp_path)
    assert c3.Index("ix").query(vector=[0, 0, 0], top_k=10, namespace="n", include_metadata=True) == before
    c3.close()
