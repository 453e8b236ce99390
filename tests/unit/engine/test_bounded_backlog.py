"""Background work in bounded units: the unflushed log has a size cap (a stream of deletes, which adds
no memtable rows, still gets flushed), and a large backlog is given its graph in steps that each commit."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import spruce
from spruce.engine import maintenance


def _wait(what: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_a_stream_of_deletes_is_flushed_by_log_size(tmp_path: Path) -> None:
    db = spruce.Client(path=tmp_path, flush_rows=10**6, flush_log_bytes=8192)
    db.create_index("ix", dimension=4)
    idx = db.Index("ix")
    idx.upsert([(f"v{i}", [1.0, float(i), 0.0, 1.0]) for i in range(600)])
    idx.flush()
    for i in range(0, 600, 2):
        idx.delete(ids=[f"v{i}"])
    log_dir = next((tmp_path / "indexes").iterdir()) / "log"
    st = db.index("ix")._st
    _wait(lambda: st.unflushed_bytes < 8192)
    assert len(list(log_dir.iterdir())) < 300, "the log kept every delete"
    assert int(st.manifest_doc["lsn"]) > 1
    db.close()
    db = spruce.Client(path=tmp_path)
    assert db.Index("ix").describe_index_stats().total_vector_count == 300
    db.close()


def test_a_log_of_many_small_deletes_is_flushed_by_its_record_count(tmp_path: Path) -> None:
    """Deletes are small in bytes but cost a replay per id: the record cap flushes them where the byte
    cap (left large here) would not."""
    db = spruce.Client(path=tmp_path, flush_rows=10**6, flush_log_bytes=1 << 30, flush_log_records=200)
    db.create_index("ix", dimension=4)
    idx = db.Index("ix")
    idx.upsert([(f"v{i}", [1.0, float(i), 0.0, 1.0]) for i in range(150)])
    idx.flush()
    st = db.index("ix")._st
    assert st.unflushed_records == 0
    for i in range(0, 150, 10):
        idx.delete(ids=[f"v{j}" for j in range(i, i + 5)])  # 75 deleted: below the cap
    assert st.unflushed_records == 75
    time.sleep(0.3)
    assert int(st.manifest_doc["lsn"]) == 1 and not st.flush_requested
    idx.upsert([(f"w{i}", [0.0, 1.0, float(i), 1.0]) for i in range(130)])  # 205 records: past it
    _wait(lambda: st.unflushed_records < 200)
    assert int(st.manifest_doc["lsn"]) > 1
    db.close()
    db = spruce.Client(path=tmp_path)
    assert db.Index("ix").describe_index_stats().total_vector_count == 150 - 75 + 130
    db.close()


def test_a_log_replayed_past_its_cap_is_flushed_after_the_open(tmp_path: Path) -> None:
    """A crash just before the size-triggered flush leaves a log above the cap: the next open flushes it
    first thing, with no write needed to notice (deletes only: no idle flush of memtable rows either)."""
    db = spruce.Client(path=tmp_path, flush_rows=10**6, flush_log_bytes=8192)
    db.create_index("ix", dimension=4)
    idx = db.Index("ix")
    idx.upsert([(f"v{i}", [1.0, float(i), 0.0, 1.0]) for i in range(600)])
    idx.flush()
    db.index("ix")._maint.stop()  # as if it crashed before flushing
    for i in range(0, 600, 2):
        idx.delete(ids=[f"v{i}"])
    assert db.index("ix")._st.unflushed_bytes >= 8192
    db.index("ix").close(flush=False)
    db.close()
    db = spruce.Client(path=tmp_path, flush_rows=10**6, flush_log_bytes=8192)
    st = db.index("ix")._st
    _wait(lambda: st.unflushed_bytes < 8192)
    assert db.Index("ix").describe_index_stats().total_vector_count == 300
    db.close()


def test_a_large_backlog_gets_its_graph_in_committed_steps(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    commits: list[int] = []
    real = maintenance.Maintainer._finish

    def finish(self, lsn, touched):  # type: ignore[no-untyped-def]
        real(self, lsn, touched)
        seg = self.state.manifest_doc["namespaces"].get("", [])
        commits.append(sum(1 for s in seg if s.get("ann")))

    monkeypatch.setattr(maintenance.Maintainer, "_finish", finish)
    rng = np.random.default_rng(0)
    # steps of 1,000 rows (graph_step_work / dim, at least MIN_STEP_ROWS); 8,000 rows in flushes of 500
    db = spruce.Client(path=tmp_path, flush_rows=500, ann_min_rows=400, graph_step_work=1000 * 8)
    db.create_index("ix", dimension=8, metric="euclidean")
    idx = db.Index("ix")
    engine = db.index("ix")
    engine._maint.stop()  # drive the steps by hand
    vecs = rng.normal(size=(8000, 8)).astype(np.float32)
    for start in range(0, 8000, 500):
        idx.upsert([(f"v{i}", vecs[i]) for i in range(start, start + 500)])
    engine.flush()
    before = len(commits)
    engine.compact()
    steps = commits[before:]
    assert len(steps) >= 4, f"the backlog was indexed in {len(steps)} commits"
    assert idx.describe_index_stats().unindexed_records == 0
    segs = engine._st.manifest_doc["namespaces"][""]
    graphs = [s for s in segs if s.get("ann")]
    assert len(graphs) == 1 and graphs[0]["rows"] >= 4000, segs  # (beside it at most a small exact tail)
    got = idx.query(vector=vecs[7].tolist(), top_k=1).matches[0]
    assert got.id == "v7"
    db.close()


def test_graph_steps_follow_the_measured_insertion_rate() -> None:
    from spruce.engine.tuning import Tuning

    t = Tuning(graph_step_work=100_000 * 128, graph_step_seconds=10.0)
    assert t.graph_step_rows(64) == 20_833  # no measure yet: the random-data rate guessed, 10 s of it
    assert t.graph_step_rows(64, rate=2_100.0) == 21_000  # as measured
    assert t.graph_step_rows(64, rate=50_000.0) == 200_000  # fast data: bounded by rows x dimensions
    assert t.graph_step_rows(384, rate=50.0) == 1_000  # never below MIN_STEP_ROWS


def test_a_graph_build_measures_the_insertion_rate(tmp_path: Path) -> None:
    db = spruce.Client(path=tmp_path, flush_rows=1000, ann_min_rows=1000)
    db.create_index("ix", dimension=8, metric="euclidean")
    idx = db.Index("ix")
    engine = db.index("ix")
    engine._maint.stop()
    assert engine._maint.insert_rate is None
    vecs = np.random.default_rng(0).normal(size=(3000, 8)).astype(np.float32)
    idx.upsert([(f"v{i}", vecs[i]) for i in range(3000)], batch_size=1000)
    engine.flush()
    engine.compact()
    rate = engine._maint.insert_rate
    assert rate is not None and rate > 0
    db.close()


def _check(idx: Any, model: dict[str, np.ndarray]) -> None:
    stats = idx.describe_index_stats()
    assert stats.total_vector_count == len(model)
    ids = sorted(model)
    for start in range(0, len(ids), 1000):
        got = idx.fetch(ids=ids[start : start + 1000]).vectors
        assert sorted(got) == ids[start : start + 1000]
        for rid in ids[start : start + 1000 : 97]:
            np.testing.assert_array_equal(np.asarray(got[rid].values, dtype=np.float32), model[rid])
    listed = [item.id for page in idx.list(limit=100) for item in page]
    assert listed == ids
    for rid in ids[::701]:
        assert idx.query(vector=model[rid].tolist(), top_k=1).matches[0].id == rid


def test_a_segment_larger_than_a_step_is_moved_into_the_graph_in_steps(tmp_path: Path) -> None:
    """One flushed segment of 6,000 rows beside a 1,000-row graph, steps of 1,000: it joins the graph a
    step at a time, staying with its moved rows dead; deletes and overwrites of moved and unmoved rows
    between the steps land where the rows are, and a reopen in the middle sees the same records."""
    rng = np.random.default_rng(3)
    db = spruce.Client(path=tmp_path, flush_rows=10**6, ann_min_rows=1000, graph_step_work=1000 * 8)
    db.create_index("ix", dimension=8, metric="euclidean")
    idx = db.Index("ix")
    engine = db.index("ix")
    engine._maint.stop()
    model: dict[str, np.ndarray] = {}

    def upsert(ids: list[str]) -> None:
        vecs = rng.normal(size=(len(ids), 8)).astype(np.float32)
        for start in range(0, len(ids), 1000):
            idx.upsert([(rid, vecs[i]) for i, rid in enumerate(ids) if start <= i < start + 1000])
        model.update(zip(ids, vecs, strict=True))

    upsert([f"g{i}" for i in range(1000)])
    engine.flush()
    engine.compact()  # the graph
    upsert([f"b{i}" for i in range(6000)])
    engine.flush()  # one 6,000-row segment beside it
    segments = engine._st.namespaces[""].segments
    assert [b.n for b in segments] == [1000, 6000] and segments[0].ann is not None
    source = segments[1]
    steps = 0

    def source_left() -> bool:
        return any(b.segment_key == source.segment_key for b in engine._st.namespaces[""].segments)

    while source_left():
        assert engine._maint._compact_step()
        steps += 1
        # the step moved the source's first live rows: touch moved and unmoved ones
        idx.delete(ids=[f"b{steps * 7}", f"b{5999 - steps}"])
        model.pop(f"b{steps * 7}")
        model.pop(f"b{5999 - steps}")
        upsert([f"b{steps * 11}", f"b{5000 + steps}", f"new{steps}"])
        engine.flush()
        _check(idx, model)
        # moved rows are dead in their source but are no deletions: neither counted nor purged
        assert idx.describe_index_stats().pending_deletions <= 5 * steps
        if steps == 2:
            db.close()
            db = spruce.Client(path=tmp_path, flush_rows=10**6, ann_min_rows=1000, graph_step_work=1000 * 8)
            idx = db.Index("ix")
            engine = db.index("ix")
            engine._maint.stop()
            _check(idx, model)
        assert steps < 40, "no end to the steps"
    assert steps >= 5, f"{steps} steps"
    engine.compact()
    segs = engine._st.namespaces[""].segments
    graphs = [b for b in segs if b.ann is not None]
    assert len(graphs) == 1 and graphs[0].n_alive >= 6000
    assert idx.describe_index_stats().unindexed_records == 0
    _check(idx, model)
    db.close()
    db = spruce.Client(path=tmp_path)
    _check(db.Index("ix"), model)
    db.close()


def test_segments_too_small_for_a_graph_are_merged_once_not_rewritten_for_ever(tmp_path: Path) -> None:
    """The largest segment without a graph is below ann_min_rows and no other fits the step beside it: the
    step takes the others anyway, so it ends (it used to rewrite that segment, unchanged, for ever)."""
    db = spruce.Client(path=tmp_path, flush_rows=10**6, ann_min_rows=1000, graph_step_work=1000 * 8)
    db.create_index("ix", dimension=8, metric="euclidean")
    idx = db.Index("ix")
    engine = db.index("ix")
    engine._maint.stop()
    vecs = np.random.default_rng(5).normal(size=(1050, 8)).astype(np.float32)
    for lo, hi in ((0, 990), (990, 1050)):
        for start in range(lo, hi, 500):
            idx.upsert([(f"v{i}", vecs[i]) for i in range(start, min(hi, start + 500))])
        engine.flush()
    assert sorted(b.n for b in engine._st.namespaces[""].segments) == [60, 990]
    for _ in range(10):
        if not engine._maint._compact_step():
            break
    else:
        raise AssertionError("compaction never settles")
    (only,) = engine._st.namespaces[""].segments
    assert only.ann is not None and only.n_alive == 1050
    assert idx.describe_index_stats().unindexed_records == 0
    db.close()
