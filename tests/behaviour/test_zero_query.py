"""A query vector of zeros, on every face: Pinecone answers it (cosine included) with the records the filter
matches, each scoring 0, and llama-index's ``PineconeVectorStore.get_nodes(filters=...)`` depends on that
(it sends ``[0.0] * dimension``). spruce used to refuse it on a cosine index with a 400. Every score ties at
0, so spruce's tie-break decides which records come back: ascending id, across memtable and segments.
A stored record of zeros stays refused on cosine (Pinecone refuses one on every metric)."""

from __future__ import annotations

from typing import Any

import pytest
from faces import FLUSH_ROWS, Face

DIM = 4
N = FLUSH_ROWS * 2 + 17  # two flushed segments and a memtable


def _load(face: Face, metric: str) -> tuple[Any, list[tuple[str, list[float], dict[str, Any]]]]:
    idx = face.create_index(DIM, metric)
    records = [
        (f"r{i:03d}", [1.0 + i, -0.5 * i, 0.25, float(i % 5)], {"kind": ["odd", "even"][i % 2 == 0], "i": i})
        for i in range(N)
    ]
    for start in range(0, N, 40):  # upserted newest id first, so storage order is not id order
        idx.upsert(vectors=records[::-1][start : start + 40])
    return idx, records


@pytest.mark.parametrize("metric", ["cosine", "dotproduct"])
def test_a_zero_query_vector_returns_the_filter_matches_at_score_zero(face: Face, metric: str) -> None:
    idx, records = _load(face, metric)
    odd = sorted(rid for rid, _, meta in records if meta["kind"] == "odd")
    res = idx.query(vector=[0.0] * DIM, top_k=10, filter={"kind": "odd"}, include_metadata=True)
    assert [m.id for m in res.matches] == odd[:10]
    assert [m.score for m in res.matches] == [0.0] * 10
    assert all(m.metadata["kind"] == "odd" for m in res.matches)
    # more room than matches: every match, and nothing else
    wide = idx.query(vector=[0, 0, 0, 0], top_k=1000, filter={"i": {"$gte": N - 6}}, include_values=True)
    assert [m.id for m in wide.matches] == [f"r{i:03d}" for i in range(N - 6, N)]
    stored = {rid: values for rid, values, _ in records}
    for m in wide.matches:
        assert m.values == pytest.approx(stored[m.id])
    # no filter: the first ids of the namespace
    assert [m.id for m in idx.query(vector=[0.0] * DIM, top_k=3).matches] == ["r000", "r001", "r002"]
    # a filter that matches nothing: no matches, not an error
    assert idx.query(vector=[0.0] * DIM, top_k=3, filter={"kind": "none"}).matches == []


def test_a_zero_record_is_still_refused_on_cosine(face: Face) -> None:
    idx = face.create_index(DIM, "cosine")
    with face.rejects(400, "non-zero"):
        idx.upsert(vectors=[("z", [0.0] * DIM)])
    # the query's other checks still hold (JSON carries NaN as null: "only numbers" over REST)
    with face.rejects(400, "finite|only numbers"):
        idx.query(vector=[0.0, float("nan"), 0.0, 0.0], top_k=1)
    with face.rejects(400, "dimension"):
        idx.query(vector=[0.0] * (DIM + 1), top_k=1)
