"""A memtable that freezes while a merge builds its graph is flushed between the merge's chunks, not
after the merge: until it is a segment, every query scans its rows exactly, and a large merge takes tens of
seconds. Interleaving must change nothing that reads, counts or a reopen see."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from spruce.engine import Database, maintenance
from spruce.index.hnsw import HnswIndex

DIM = 4


def test_a_memtable_frozen_during_a_merge_is_flushed_before_the_merge_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "EXACT_MAX_WORK", DIM * 20)  # 150 unmerged rows are worth a merge
    monkeypatch.setattr(maintenance, "CHUNK_ROWS", 50)  # the merge adds its rows in three chunks
    db = Database.open(tmp_path, flush_rows=200, ann_min_rows=100)
    db.create_index("ix", dimension=DIM, metric="euclidean")
    idx = db.index("ix")
    vecs = np.random.default_rng(5).normal(size=(550, DIM)).astype(np.float32)

    def upsert(lo: int, hi: int) -> None:
        idx.upsert([(f"r{i}", vecs[i], {"i": i}) for i in range(lo, hi)])

    upsert(0, 200)  # a full memtable: frozen, flushed, then given a graph by compaction
    idx.flush()
    idx.compact()
    ns = idx._st.namespaces[""]
    (main,) = ns.segments
    assert main.ann is not None
    upsert(200, 350)
    idx.flush()  # flushed beside the graph, without one: the merge extends the graph with these rows
    assert len(ns.segments) == 2

    seen: list[tuple[int, int]] = []  # (frozen blocks, segments) at each chunk of the merge
    real_add = HnswIndex.add

    def add(self: HnswIndex, vectors: Any) -> None:
        real_add(self, vectors)
        seen.append((len(ns.frozen), len(ns.segments)))
        if len(seen) == 1:
            upsert(350, 550)  # fills the memtable while the merge runs: it freezes now
            assert len(ns.frozen) == 1

    monkeypatch.setattr(HnswIndex, "add", add)
    idx.compact()
    monkeypatch.setattr(HnswIndex, "add", real_add)
    assert len(seen) >= 3, seen
    # after the chunk that froze it, the next chunk finds the frozen block flushed into a third segment
    assert seen[1] == (0, 3), seen
    assert not ns.frozen
    stats = idx.describe_index_stats()
    assert stats.total_vector_count == 550
    q = vecs[400]
    expected = sorted(range(550), key=lambda i: (float(((vecs[i] - q) ** 2).sum()), f"r{i}"))[:10]
    assert [m.id for m in idx.query(vector=q, top_k=10).matches] == [f"r{i}" for i in expected]
    hits = idx.query(vector=q, top_k=550, filter={"i": {"$gte": 300}})
    assert sorted(int(m.id[1:]) for m in hits.matches) == list(range(300, 550))
    idx.compact()
    assert len(ns.segments) == 1 and ns.segments[0].ann is not None
    db.close()
    again = Database.open(tmp_path)
    reopened = again.index("ix")
    assert reopened.describe_index_stats().total_vector_count == 550
    assert [m.id for m in reopened.query(vector=q, top_k=10).matches] == [f"r{i}" for i in expected]
    again.close()
