"""``spruce compact``: every index ends fully indexed as the engine counts it (``storage()``), queries and
fetches answer as before, and the report says what was done."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from spruce.cli import main
from spruce.engine import Database

DIM = 8


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        rc = main(list(args))
    except SystemExit as exc:
        rc = int(exc.code or 0)
    out, err = capsys.readouterr()
    return rc, out, err


def _backlog(path: Path, rows: int, per_segment: int) -> np.ndarray:
    """A store left with work to do: many small segments, a fifth of one namespace's rows deleted (a
    purge), records in the memtable and the log only. Made with background work off, so that nothing
    is compacted before the command runs. Returns the vectors of namespace ``a``."""
    db = Database(path, flush_rows=per_segment, background=False)
    db.create_index("vec", dimension=DIM, metric="euclidean")
    db.create_index("other", dimension=2)
    idx = db.Index("vec")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(rows, DIM)).astype(np.float32)
    for start in range(0, rows, per_segment):
        stop = min(rows, start + per_segment)
        for s in range(start, stop, 1000):
            e = min(stop, s + 1000)
            idx.upsert([(f"a{i}", vectors[i].tolist(), {"i": i}) for i in range(s, e)], namespace="a")
        idx.flush()
    dead = [f"a{i}" for i in range(0, rows, 4)]
    for s in range(0, len(dead), 1000):
        idx.delete(ids=dead[s : s + 1000], namespace="a")
    idx.upsert([(f"b{i}", vectors[i].tolist()) for i in range(50)], namespace="b")
    db.Index("other").upsert([("x", [1.0, 0.0])])
    db.close(flush=False)
    return vectors


def _answers(db: Database, vectors: np.ndarray) -> tuple[list[list[str]], np.ndarray]:
    """The ids and scores of 20 queries (scores to compare within float32 rounding: a merged segment
    sums in another order)."""
    idx = db.index("vec")
    results = [idx.query(vector=v.tolist(), top_k=10, namespace="a").matches for v in vectors[:20]]
    return [[m.id for m in r] for r in results], np.array([[m.score for m in r] for r in results])


def test_compact_leaves_every_index_fully_indexed_with_the_same_answers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "db"
    vectors = _backlog(path, rows=2000, per_segment=200)
    db = Database(path, background=False)
    before = db.index("vec").storage()
    answers = _answers(db, vectors)
    stats = db.index("vec").describe_index_stats()
    db.close(flush=False)
    assert before.unindexed_records > 0 and before.unflushed_log_entries > 0
    assert before.namespaces["a"].segments == 10

    rc, out, err = _cli(capsys, "compact", "--data", str(path), "--json")
    assert rc == 0 and err == "", err
    report = {r["name"]: r for r in json.loads(out)}

    db = Database(path, background=False)
    try:
        after = db.index("vec").storage()
        assert after.unindexed_records == 0
        assert after.unflushed_log_entries == 0 and after.manifest_lsn == after.lsn
        assert all(ns.memtable_records == 0 for ns in after.namespaces.values())
        assert after.namespaces["a"].segments == 1 and after.namespaces["a"].pending_deletions == 0
        assert db.index("other").storage().unindexed_records == 0
        ids, scores = _answers(db, vectors)
        assert ids == answers[0] and np.allclose(scores, answers[1], atol=1e-4)
        assert db.index("vec").describe_index_stats().namespaces == stats.namespaces
        got = db.index("vec").fetch(ids=["a1", "a4", "b3"], namespace="a").vectors
        assert sorted(got) == ["a1"]  # (a4 deleted; b3 is in namespace b)
        assert np.allclose(got["a1"].values, vectors[1])
    finally:
        db.close(flush=False)
    vec = report["vec"]
    assert vec["unindexed_before"] == before.unindexed_records and vec["unindexed_after"] == 0
    assert vec["segments_before"] == sum(ns.segments for ns in before.namespaces.values())
    assert vec["segments_after"] == sum(ns.segments for ns in after.namespaces.values())
    assert vec["records"] == stats.total_vector_count == 1550
    assert vec["log_entries_flushed"] == before.unflushed_log_entries
    assert vec["flushes"] >= 1 and vec["compactions"] >= 1 and vec["bytes_written"] > 0
    assert vec["seconds"] >= 0


def test_compact_builds_the_graph_a_large_backlog_waits_for(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """12,000 live rows in segments of 4,000: past the engine's smallest graph (10,000 rows), so the
    backlog is a graph to build. Every record still finds itself first."""
    path = tmp_path / "db"
    vectors = _backlog(path, rows=16_000, per_segment=4000)
    rc, out, err = _cli(capsys, "compact", "--data", str(path), "--index", "vec")
    assert rc == 0 and err == "", err
    lines = out.splitlines()
    assert lines[0].split()[0] == "INDEX" and lines[1].split()[0] == "vec" and len(lines) == 3
    assert lines[-1] == "spruce compact: 1 index fully indexed"
    db = Database(path, background=False)
    try:
        storage = db.index("vec").storage()
        assert storage.unindexed_records == 0
        assert storage.namespaces["a"].segments_with_graph == 1
        idx = db.index("vec")
        for i in range(1, 400, 13):
            if i % 4:
                assert idx.query(vector=vectors[i].tolist(), top_k=1, namespace="a").matches[0].id == f"a{i}"
        assert db.index("other").storage().unflushed_log_entries == 1  # not named: left alone
    finally:
        db.close(flush=False)


def test_compact_on_a_compacted_store_does_nothing_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "db"
    _backlog(path, rows=300, per_segment=100)
    assert _cli(capsys, "compact", "--data", str(path))[0] == 0
    rc, out, _ = _cli(capsys, "compact", "--data", str(path), "--json")
    assert rc == 0
    for r in json.loads(out):
        assert r["unindexed_before"] == r["unindexed_after"] == 0
        assert r["segments_before"] == r["segments_after"] and r["compactions"] == 0


def test_unknown_index_is_one_line_and_nothing_is_compacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "db"
    _backlog(path, rows=300, per_segment=100)
    rc, out, err = _cli(capsys, "compact", "--data", str(path), "--index", "vec", "--index", "nope")
    assert rc == 2 and out == ""
    assert err == "spruce compact: --index nope: no such index (the store has: other, vec)\n"
    db = Database(path, background=False)
    try:
        assert db.index("vec").storage().unindexed_records > 0
    finally:
        db.close(flush=False)
