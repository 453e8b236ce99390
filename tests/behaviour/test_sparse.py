"""Sparse indexes and hybrid (dense + sparse) records, on every face (``conftest.Face``): every record
operation on a sparse index, hybrid scoring on a dense dotproduct index, client-side alpha weighting,
and the validation of sparse values (a 400 naming the field, nothing written). Scores are checked against
a brute-force dot product over the records the test wrote."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from faces import FLUSH_ROWS, Face

VOCAB = 60


def _sparse(rng: np.random.Generator, nnz: int = 6) -> dict[str, list[Any]]:
    idx = rng.choice(VOCAB, size=nnz, replace=False)
    return {"indices": [int(i) for i in idx], "values": rng.random(nnz).round(4).tolist()}


def _sparse_records(n: int, seed: int = 0, prefix: str = "s") -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "id": f"{prefix}{i:04d}",
            "sparse_values": _sparse(rng, int(rng.integers(1, 9))),
            "metadata": {"genre": ["drama", "comedy", "documentary"][i % 3], "year": 2000 + i % 10},
        }
        for i in range(n)
    ]


def _sdot(a: dict[str, list[Any]], b: dict[str, list[Any]]) -> float:
    weights = dict(zip(a["indices"], a["values"], strict=True))
    return sum(weights.get(i, 0.0) * v for i, v in zip(b["indices"], b["values"], strict=True))


def _expected(records: list[dict[str, Any]], q: dict[str, list[Any]], k: int, keep: Any = None) -> list[str]:
    """The ids of the top ``k`` non-zero sparse scores, ties by id (the oracle)."""
    scored = [
        (-_sdot(q, r["sparse_values"]), r["id"]) for r in records if keep is None or keep(r["metadata"])
    ]
    return [rid for s, rid in sorted(scored) if s != 0][:k]


def _sparse_of(v: Any) -> tuple[list[int], list[float]]:
    return list(v.sparse_values.indices), list(v.sparse_values.values)


# ---------------------------------------------------------------- sparse indexes


def test_sparse_index_is_described_as_sparse(face: Face) -> None:
    idx = face.create_sparse_index()
    desc = [d for d in face.client.list_indexes() if d.name.startswith("b")][-1]
    assert desc.vector_type == "sparse" and desc.metric == "dotproduct"
    stats = idx.describe_index_stats()
    assert stats.total_vector_count == 0 and stats.vector_type == "sparse"


def test_sparse_upsert_fetch_query_across_segments(face: Face) -> None:
    idx = face.create_sparse_index()
    records = _sparse_records(4 * FLUSH_ROWS + 7, seed=1)
    assert idx.upsert(vectors=records, batch_size=60).upserted_count == len(records)
    got = idx.fetch(ids=[records[3]["id"], "missing"]).vectors
    assert set(got) == {records[3]["id"]}
    indices, values = _sparse_of(got[records[3]["id"]])
    assert indices == records[3]["sparse_values"]["indices"]  # as given, not re-ordered
    assert values == pytest.approx(records[3]["sparse_values"]["values"], rel=1e-6)
    assert got[records[3]["id"]].metadata == {"genre": "drama", "year": 2000.0 + 3 % 10}
    rng = np.random.default_rng(7)
    for _ in range(5):
        q = _sparse(rng, 4)
        res = idx.query(sparse_vector=q, top_k=10, include_values=True)
        assert [m.id for m in res.matches] == _expected(records, q, 10)
        by_id = {r["id"]: r for r in records}
        for m in res.matches:
            assert m.score == pytest.approx(_sdot(q, by_id[m.id]["sparse_values"]), rel=1e-5)
            assert _sparse_of(m)[0] == by_id[m.id]["sparse_values"]["indices"]
    stats = idx.describe_index_stats()
    assert stats.total_vector_count == len(records) and stats.dimension in (0, None)


def test_sparse_query_filter_id_and_zero_scores(face: Face) -> None:
    idx = face.create_sparse_index()
    records = _sparse_records(3 * FLUSH_ROWS, seed=2)
    idx.upsert(vectors=records)
    q = {"indices": [1, 5, 9, 13], "values": [0.9, 0.4, 0.7, 0.2]}
    res = idx.query(sparse_vector=q, top_k=20, filter={"genre": "comedy"}, include_metadata=True)
    assert [m.id for m in res.matches] == _expected(records, q, 20, lambda m: m["genre"] == "comedy")
    assert all(m.metadata["genre"] == "comedy" for m in res.matches)
    # records sharing no index with the query score 0 and are not returned (Pinecone drops them)
    lonely = {"indices": [VOCAB + 5], "values": [1.0]}
    assert idx.query(sparse_vector=lonely, top_k=5).matches == []
    target = records[17]
    by_id = idx.query(id=target["id"], top_k=3)
    assert [m.id for m in by_id.matches] == _expected(records, target["sparse_values"], 3)


def test_sparse_update_delete_and_namespaces(face: Face) -> None:
    idx = face.create_sparse_index()
    records = _sparse_records(2 * FLUSH_ROWS + 5, seed=3)
    idx.upsert(vectors=records, namespace="n1")
    new = {"indices": [59, 58], "values": [5.0, 4.0]}
    idx.update(id=records[0]["id"], sparse_values=new, namespace="n1")
    idx.update(id=records[1]["id"], set_metadata={"genre": "thriller"}, namespace="n1")
    got = idx.fetch(ids=[records[0]["id"], records[1]["id"]], namespace="n1").vectors
    assert _sparse_of(got[records[0]["id"]]) == ([59, 58], [5.0, 4.0])
    assert _sparse_of(got[records[1]["id"]])[0] == records[1]["sparse_values"]["indices"]  # kept
    assert got[records[1]["id"]].metadata["genre"] == "thriller"
    top = idx.query(sparse_vector={"indices": [59], "values": [1.0]}, top_k=1, namespace="n1").matches
    assert top[0].id == records[0]["id"] and top[0].score == pytest.approx(5.0)
    # update by filter keeps the sparse values of every record it touches
    idx.update(filter={"genre": "comedy"}, set_metadata={"seen": True}, namespace="n1")
    comedy = [r for r in records[2:] if r["metadata"]["genre"] == "comedy"]  # (records[1] is a thriller now)
    again = idx.fetch(ids=[comedy[0]["id"]], namespace="n1").vectors[comedy[0]["id"]]
    assert _sparse_of(again)[0] == comedy[0]["sparse_values"]["indices"] and again.metadata["seen"] is True
    idx.delete(ids=[records[0]["id"]], namespace="n1")
    idx.delete(filter={"genre": "documentary"}, namespace="n1")
    left = [r for r in records[1:] if r["metadata"]["genre"] != "documentary"]
    assert idx.describe_index_stats().namespaces["n1"].vector_count == len(left)
    q = {"indices": [59, 3, 4], "values": [1.0, 1.0, 1.0]}
    assert [m.id for m in idx.query(sparse_vector=q, top_k=10, namespace="n1").matches] == _expected(
        [{**r, "metadata": {}} for r in left], q, 10
    )
    listed = [item.id for page in idx.list(namespace="n1", prefix="s000") for item in page.vectors]
    assert listed == sorted(r["id"] for r in left if r["id"].startswith("s000"))
    idx.delete(delete_all=True, namespace="n1")
    assert idx.query(sparse_vector=q, top_k=10, namespace="n1").matches == []


def test_sparse_validation_writes_nothing(face: Face) -> None:
    idx = face.create_sparse_index()
    ok = {"id": "ok", "sparse_values": {"indices": [1], "values": [1.0]}}
    bad: list[tuple[dict[str, Any], str]] = [
        ({"indices": [1, 2], "values": [1.0]}, "same length"),
        ({"indices": [3, 3], "values": [1.0, 2.0]}, "repeat"),
        ({"indices": [2**32], "values": [1.0]}, "4294967295"),
        ({"indices": [-1], "values": [1.0]}, "4294967295"),
        ({"indices": list(range(1001)), "values": [1.0] * 1001}, "1000"),
        ({"indices": [], "values": []}, "required|at least one"),
    ]
    for sparse, match in bad:
        if face.name == "grpc" and match == "4294967295":
            # indices are uint32 on the gRPC wire: the SDK cannot even encode these, and says so
            with pytest.raises((OverflowError, ValueError)):
                idx.upsert(vectors=[ok, {"id": "bad", "sparse_values": sparse}])
            continue
        with face.rejects(400, match):
            idx.upsert(vectors=[ok, {"id": "bad", "sparse_values": sparse}])
    with face.rejects(400, "dense|values"):
        idx.upsert(vectors=[ok, {"id": "dense", "values": [1.0, 2.0], "sparse_values": ok["sparse_values"]}])
    assert idx.describe_index_stats().total_vector_count == 0
    with face.rejects(400, "sparse_vector|vector"):
        idx.query(vector=[1.0, 2.0], top_k=1)
    with face.rejects(400, "top_k|1000"):
        idx.query(sparse_vector={"indices": [1], "values": [1.0]}, top_k=1001)
    with face.rejects(400, "same length"):
        idx.query(sparse_vector={"indices": [1, 2], "values": [1.0]}, top_k=1)


def test_sparse_index_creation_rules(face: Face) -> None:
    spec = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
    with face.rejects(400, "dimension"):
        face.client.create_index(name="bad-dim", dimension=4, vector_type="sparse", spec=spec)
    with face.rejects(400, "vector_type"):
        face.client.create_index(name="bad-kind", dimension=4, vector_type="fuzzy", spec=spec)
    names = face.client.list_indexes().names()
    assert "bad-dim" not in names and "bad-kind" not in names
    if face.name == "embedded":  # (SDK 10.x drops the metric of a sparse index before sending it)
        with face.rejects(400, "dotproduct"):
            face.client.create_index(name="bad-metric", vector_type="sparse", metric="cosine", spec=spec)


# ---------------------------------------------------------------- hybrid


def _hybrid_records(n: int, dim: int, seed: int) -> list[dict[str, Any]]:
    rng = np.random.default_rng(seed)
    return [
        {
            "id": f"h{i:04d}",
            "values": rng.normal(size=dim).round(4).tolist(),
            "sparse_values": _sparse(rng, int(rng.integers(1, 8))),
            "metadata": {"even": i % 2 == 0},
        }
        for i in range(n)
    ]


def _hybrid_expected(
    records: list[dict[str, Any]], dense: list[float], sparse: dict[str, list[Any]], k: int
) -> list[tuple[str, float]]:
    scored = [
        (float(np.dot(dense, r["values"])) + _sdot(sparse, r["sparse_values"]), r["id"]) for r in records
    ]
    return [(rid, s) for s, rid in sorted(scored, key=lambda t: (-t[0], t[1]))][:k]


def test_hybrid_scores_are_dense_plus_sparse(face: Face) -> None:
    dim = 8
    idx = face.create_index(dim, "dotproduct")
    records = _hybrid_records(3 * FLUSH_ROWS + 11, dim, seed=4)
    idx.upsert(vectors=records, batch_size=70)
    rng = np.random.default_rng(5)
    for _ in range(4):
        dense = rng.normal(size=dim).round(4).tolist()
        sparse = _sparse(rng, 5)
        res = idx.query(vector=dense, sparse_vector=sparse, top_k=10, include_values=True)
        want = _hybrid_expected(records, dense, sparse, 10)
        assert [m.id for m in res.matches] == [rid for rid, _ in want]
        assert [m.score for m in res.matches] == pytest.approx([s for _, s in want], rel=1e-4, abs=1e-4)
        assert res.matches[0].sparse_values is not None and res.matches[0].values
        # with only the dense vector, the sparse parts play no part (as before hybrid existed)
        plain = idx.query(vector=dense, top_k=5)
        by_dense = sorted(records, key=lambda r: (-float(np.dot(dense, r["values"])), r["id"]))[:5]
        assert [m.id for m in plain.matches] == [r["id"] for r in by_dense]
    fetched = idx.fetch(ids=[records[9]["id"]]).vectors[records[9]["id"]]
    assert _sparse_of(fetched)[0] == records[9]["sparse_values"]["indices"]
    # a hybrid record's sparse part is replaced by update, its dense part kept
    idx.update(id=records[9]["id"], sparse_values={"indices": [1], "values": [100.0]})
    top = idx.query(vector=[0.0] * dim, sparse_vector={"indices": [1], "values": [1.0]}, top_k=1)
    assert top.matches[0].id == records[9]["id"] and top.matches[0].score == pytest.approx(100.0)
    assert idx.fetch(ids=[records[9]["id"]]).vectors[records[9]["id"]].values == pytest.approx(
        records[9]["values"], rel=1e-6
    )


@pytest.mark.parametrize("alpha", [0.0, 0.3, 0.7, 1.0])
def test_hybrid_alpha_weighting(face: Face, alpha: float) -> None:
    """The usual client-side convex combination: dense scaled by alpha, sparse by 1 - alpha."""
    dim = 6
    idx = face.create_index(dim, "dotproduct")
    records = _hybrid_records(2 * FLUSH_ROWS + 3, dim, seed=6)
    idx.upsert(vectors=records)
    rng = np.random.default_rng(8)
    dense = rng.normal(size=dim).round(4)
    sparse = _sparse(rng, 6)
    weighted_dense = (dense * alpha).tolist()
    weighted_sparse = {"indices": sparse["indices"], "values": [v * (1 - alpha) for v in sparse["values"]]}
    res = idx.query(vector=weighted_dense, sparse_vector=weighted_sparse, top_k=8)
    oracle = sorted(
        records,
        key=lambda r: (
            -(alpha * float(np.dot(dense, r["values"])) + (1 - alpha) * _sdot(sparse, r["sparse_values"])),
            r["id"],
        ),
    )[:8]
    assert [m.id for m in res.matches] == [r["id"] for r in oracle]


def test_hybrid_validation(face: Face) -> None:
    cos = face.create_index(4, "cosine")
    rec = {"id": "a", "values": [1.0, 0.0, 0.0, 0.0], "sparse_values": {"indices": [1], "values": [1.0]}}
    with face.rejects(400, "dotproduct"):
        cos.upsert(vectors=[rec])
    with face.rejects(400, "dotproduct"):
        cos.query(vector=[1.0, 0.0, 0.0, 0.0], sparse_vector={"indices": [1], "values": [1.0]}, top_k=1)
    assert cos.describe_index_stats().total_vector_count == 0
    dot = face.create_index(4, "dotproduct")
    with face.rejects(400, "sparse_values.values.*(finite|numbers)"):  # (JSON has no infinity: null)
        dot.upsert(vectors=[{**rec, "sparse_values": {"indices": [1], "values": [float("inf")]}}])
    with face.rejects(400, "values"):
        dot.upsert(vectors=[{"id": "b", "sparse_values": {"indices": [1], "values": [1.0]}}])
    assert dot.describe_index_stats().total_vector_count == 0
