"""A query vector of zeros where the search would otherwise go through an HNSW graph or the clusters of a
segment: every score is 0 under cosine and dotproduct, so the graph (or the probe) would rank arbitrary
rows among equals. ``Block._dense_search`` answers it with the ``k`` allowed rows of smallest id instead,
as the exact scan and the tie-break would (``types.validate_query_vector`` says why zeros are accepted).
The behaviour on every face is ``tests/behaviour/test_zero_query.py``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spruce.engine import Database, maintenance
from spruce.engine import block as block_module
from spruce.errors import InvalidArgumentError
from spruce.types import validate_query_vector, validate_values

DIM, N = 8, 1500


def _load(tmp_path: Path, metric: str, **tuning: int) -> tuple[Database, np.ndarray]:
    db = Database.open(tmp_path, flush_rows=500, **tuning)
    db.create_index("ix", dimension=DIM, metric=metric)
    idx = db.index("ix")
    rng = np.random.default_rng(11)
    vecs = rng.normal(size=(N, DIM)).astype(np.float32)
    order = rng.permutation(N).tolist()  # stored in an order unrelated to the ids
    for start in range(0, N, 250):
        idx.upsert([(f"r{i:04d}", vecs[i], {"third": i % 3 == 0}) for i in order[start : start + 250]])
    idx.flush()
    return db, vecs


def _expected(k: int, keep: object = None) -> list[str]:
    rows = [i for i in range(N) if keep is None or i % 3 == 0]
    return [f"r{i:04d}" for i in rows[:k]]


@pytest.mark.parametrize("metric", ["cosine", "dotproduct"])
def test_zero_query_through_a_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, metric: str) -> None:
    db, vecs = _load(tmp_path, metric, ann_min_rows=400)
    idx = db.index("ix")
    idx.compact()
    segments = idx._st.namespaces[""].segments
    assert segments and all(b.ann is not None for b in segments), "no graph: this test would prove nothing"
    monkeypatch.setattr(block_module, "EXACT_MAX_WORK", 0)  # every search goes through the graph
    res = idx.query(vector=[0.0] * DIM, top_k=25, filter={"third": True})
    assert [m.id for m in res.matches] == _expected(25, keep="third")
    assert {m.score for m in res.matches} == {0.0}
    assert [m.id for m in idx.query(vector=np.zeros(DIM), top_k=7).matches] == _expected(7)
    # a real query still goes through the graph and finds the best record
    q = vecs[42].astype(np.float64)
    scores = vecs.astype(np.float64) @ q
    if metric == "cosine":
        scores /= np.linalg.norm(vecs.astype(np.float64), axis=1)
    assert idx.query(vector=q.tolist(), top_k=1).matches[0].id == f"r{int(np.argmax(scores)):04d}"
    db.close()


def test_zero_query_through_clusters(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance, "CLUSTER_MIN_WORK", 0)
    monkeypatch.setattr(block_module, "EXACT_MAX_WORK", 50 * DIM)
    monkeypatch.setattr(maintenance.Maintainer, "_plan_namespace", lambda self, ns, capped=True: None)
    db, _ = _load(tmp_path, "cosine", ann_min_rows=10 * N)
    idx = db.index("ix")
    segments = idx._st.namespaces[""].segments
    assert segments and all(b.clusters is not None for b in segments), "no clusters: nothing proved"
    res = idx.query(vector=[0.0] * DIM, top_k=40, filter={"third": True}, include_metadata=True)
    assert [m.id for m in res.matches] == _expected(40, keep="third")
    assert all(m.score == 0.0 and m.metadata == {"third": True} for m in res.matches)
    db.close()


def test_validate_query_vector_accepts_zeros_that_records_may_not_hold() -> None:
    assert validate_query_vector([0, 0, 0], 3).tolist() == [0.0, 0.0, 0.0]
    with pytest.raises(InvalidArgumentError, match="non-zero"):
        validate_values([0, 0, 0], 3, "cosine")  # a stored record still needs a direction
    with pytest.raises(InvalidArgumentError, match="finite"):
        validate_query_vector([0, float("inf"), 0], 3)
    with pytest.raises(InvalidArgumentError, match="dimension 2, but the index has dimension 3"):
        validate_query_vector([0, 0], 3)
    with pytest.raises(InvalidArgumentError, match="only numbers"):
        validate_query_vector([True, 0, 0], 3)
