"""Segments stored in cluster order (rows flushed without a graph, ``index.clusters``): the permutation must
be invisible. Every id still fetches its own values and metadata, deletes and updates hit the right rows,
a reopened store reads the clusters back, and a merge into a graph keeps every record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spruce.engine import Database, maintenance
from spruce.engine import block as block_module
from spruce.index.hnsw import MAX_EF
from spruce.storage.segment import read_segment

DIM, N, FLUSH = 8, 3000, 1000


@pytest.fixture
def clustered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Cluster every graph-less flush, probe clusters above 50 allowed rows, and merge nothing."""
    monkeypatch.setattr(maintenance, "CLUSTER_MIN_WORK", 0)
    monkeypatch.setattr(block_module, "EXACT_MAX_WORK", 50 * DIM)
    monkeypatch.setattr(maintenance.Maintainer, "_plan_namespace", lambda self, ns, capped=True: None)
    yield


def _vectors() -> np.ndarray:
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(20, DIM))
    return (centres[rng.integers(0, 20, N)] + 0.3 * rng.normal(size=(N, DIM))).astype(np.float32)


def _load(tmp_path: Path, metric: str) -> tuple[Database, np.ndarray]:
    db = Database.open(tmp_path, flush_rows=FLUSH, ann_min_rows=10 * N)
    db.create_index("ix", dimension=DIM, metric=metric)
    vecs = _vectors()
    idx = db.index("ix")
    for start in range(0, N, 500):
        idx.upsert([(f"r{i:04d}", vecs[i], {"i": i, "odd": i % 2 == 1}) for i in range(start, start + 500)])
    idx.flush()
    return db, vecs


def _fetch_all(db: Database) -> dict[str, object]:
    out: dict[str, object] = {}
    for start in range(0, N, 1000):
        out.update(db.index("ix").fetch([f"r{i:04d}" for i in range(start, start + 1000)]).vectors)
    return out


def _exact_ids(vecs: np.ndarray, q: np.ndarray, metric: str, keep: np.ndarray, k: int) -> list[str]:
    v = vecs.astype(np.float64)
    if metric == "cosine":
        key = -(v @ q) / np.linalg.norm(v, axis=1) / np.linalg.norm(q)
    else:
        key = ((v - q) ** 2).sum(axis=1)
    rows = [r for r in np.argsort(key, kind="stable") if keep[r]]
    return [f"r{r:04d}" for r in rows[:k]]


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_clustered_segments_keep_every_record_in_place(tmp_path: Path, clustered: None, metric: str) -> None:
    db, vecs = _load(tmp_path, metric)
    idx = db.index("ix")
    segments = idx._st.namespaces[""].segments
    assert len(segments) == N // FLUSH and all(b.clusters is not None for b in segments)
    first = segments[0]
    assert first.ids != sorted(first.ids), "rows were not reordered: this test would prove nothing"
    got: dict[str, Any] = _fetch_all(db)
    for i in range(N):
        rec = got[f"r{i:04d}"]
        np.testing.assert_array_equal(np.asarray(rec.values, dtype=np.float32), vecs[i])
        assert rec.metadata == {"i": i, "odd": i % 2 == 1}

    # deletes and updates find their rows in a permuted segment
    idx.delete(ids=[f"r{i:04d}" for i in range(0, N, 3)])
    idx.update(id="r0001", set_metadata={"i": -1})
    idx.update(id="r0002", values=(-vecs[2]).tolist())
    vecs[2] = -vecs[2]
    keep = np.ones(N, dtype=bool)
    keep[0::3] = False
    assert idx.describe_index_stats().total_vector_count == int(keep.sum())
    assert idx.fetch(["r0001"]).vectors["r0001"].metadata == {"i": -1, "odd": True}
    rng = np.random.default_rng(9)
    queries = vecs[rng.integers(0, N, 20)] + 0.1 * rng.normal(size=(20, DIM)).astype(np.float32)

    def answers(database: Database) -> list[list[str]]:
        out = []
        for q in queries:
            for flt in (None, {"odd": True}):
                res = database.index("ix").query(vector=q.tolist(), top_k=10, filter=flt, ef=MAX_EF)
                out.append([m.id for m in res.matches])
        return out

    before = answers(db)
    odd = np.arange(N) % 2 == 1
    for j, q in enumerate(queries):  # the largest ef reads every cluster: exactly the exact answer
        assert before[2 * j] == _exact_ids(vecs, q.astype(np.float64), metric, keep, 10)
        assert before[2 * j + 1] == _exact_ids(vecs, q.astype(np.float64), metric, keep & odd, 10)
    idx.flush()
    db.close()

    db = Database.open(tmp_path, flush_rows=FLUSH, ann_min_rows=10 * N)
    reopened = db.index("ix")._st.namespaces[""].segments
    clustered_keys = [b.segment_key for b in reopened if b.clusters is not None]
    assert len(clustered_keys) >= N // FLUSH
    assert read_segment(db.index("ix")._st.store, clustered_keys[0]).clusters is not None
    assert answers(db) == before
    db.close()


def test_merge_into_a_graph_keeps_clustered_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A graph first; flushes next to it are clustered; then the merge moves them into the graph."""
    monkeypatch.setattr(maintenance, "CLUSTER_MIN_WORK", 0)
    monkeypatch.setattr(maintenance, "MAX_TAIL", 0)  # no exact tail beside the graph: they all join it
    held = {"on": True}
    real_plan = maintenance.Maintainer._plan_namespace
    monkeypatch.setattr(
        maintenance.Maintainer,
        "_plan_namespace",
        lambda self, ns, capped=True: None if held["on"] else real_plan(self, ns, capped=capped),
    )
    db = Database.open(tmp_path, flush_rows=FLUSH, ann_min_rows=FLUSH)
    db.create_index("ix", dimension=DIM, metric="euclidean")
    vecs = _vectors()
    idx = db.index("ix")
    for start in range(0, N, 500):
        idx.upsert([(f"r{i:04d}", vecs[i], {"i": i}) for i in range(start, start + 500)])
        if start + 500 == FLUSH:
            idx.flush()  # the first flush is clustered too, and compaction gives it a graph ...
            assert all(b.clusters is not None for b in idx._st.namespaces[""].segments)
            held["on"] = False
            idx.compact()
            held["on"] = True  # ... beside which the later flushes are clustered
    idx.flush()
    segments = idx._st.namespaces[""].segments
    assert segments[0].ann is not None and all(b.clusters is not None and b.ann is None for b in segments[1:])
    held["on"] = False
    idx.compact()
    segments = idx._st.namespaces[""].segments
    assert len(segments) == 1 and segments[0].ann is not None and segments[0].clusters is None
    got: dict[str, Any] = _fetch_all(db)
    assert len(got) == N
    for i in range(0, N, 7):
        np.testing.assert_array_equal(np.asarray(got[f"r{i:04d}"].values, dtype=np.float32), vecs[i])
        assert got[f"r{i:04d}"].metadata == {"i": i}
    db.close()
