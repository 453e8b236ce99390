"""Flush, compaction and concurrency: background work never changes what reads return."""

from __future__ import annotations

import gc
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import spruce
from spruce.engine import Database, maintenance
from spruce.storage.objectstore import LocalStore
from spruce.storage.segment import SegmentContents, encode_segment, read_segment


def _segments(db: Database, index: str, ns: str) -> int:
    return len(db.index(index)._st.namespaces[ns].segments)


def test_flush_merge_and_purge(tmp_path: Path) -> None:
    db = Database.open(tmp_path, flush_rows=10)
    db.create_index("ix", dimension=3, metric="euclidean")
    idx = db.index("ix")
    rng = np.random.default_rng(7)
    vecs = rng.normal(size=(100, 3)).astype(np.float32)
    for start in range(0, 100, 10):
        idx.upsert([(f"r{i:03d}", vecs[i], {"i": i}) for i in range(start, start + 10)])
        idx.flush()
    before = idx.query(vector=[0, 0, 0], top_k=20, include_metadata=True)
    idx.compact()
    assert _segments(db, "ix", "") == 1
    idx.delete(filter={"i": {"$lt": 60}})
    idx.flush()
    assert idx.describe_index_stats().pending_deletions > 0
    idx.compact()
    stats = idx.describe_index_stats()
    assert stats.pending_deletions == 0
    assert stats.total_vector_count == 40
    after = idx.query(vector=[0, 0, 0], top_k=20, include_metadata=True)
    assert after.matches == [m for m in before.matches if m.metadata["i"] >= 60][:20] or all(  # type: ignore[index]
        m.metadata["i"] >= 60
        for m in after.matches  # type: ignore[index]
    )
    expected = sorted(range(60, 100), key=lambda i: (float(np.dot(vecs[i], vecs[i])), f"r{i:03d}"))[:20]
    assert [m.id for m in after.matches] == [f"r{i:03d}" for i in expected]
    db.close()
    db2 = Database.open(tmp_path)
    again = db2.index("ix").query(vector=[0, 0, 0], top_k=20, include_metadata=True)
    assert [m.id for m in again.matches] == [m.id for m in after.matches]
    assert db2.index("ix").describe_index_stats().total_vector_count == 40
    segs = list((tmp_path / "indexes").rglob("*.seg"))
    assert len(segs) == _segments(db2, "ix", "")  # superseded segments were deleted
    db2.close()


def test_a_purge_leaves_no_deleted_string_in_any_segment(tmp_path: Path) -> None:
    """Merged and purged segments take their metadata columns from their sources' columns
    (``MetadataColumns.gather``): the strings of deleted records must not ride along in the columns'
    vocabularies, and filters on the new segment still answer from them."""
    db = Database.open(tmp_path, flush_rows=20)
    db.create_index("ix", dimension=3, metric="cosine")
    idx = db.index("ix")
    rng = np.random.default_rng(3)
    vecs = rng.normal(size=(100, 3)).astype(np.float32)
    for start in range(0, 100, 20):
        idx.upsert(
            [
                (
                    f"r{i:03d}",
                    vecs[i],
                    {"kind": f"secret-{i:03d}" if i % 4 == 0 else "plain", "tags": [f"t{i % 3}"]},
                )
                for i in range(start, start + 20)
            ]
        )
        idx.flush()
    idx.compact()
    assert _segments(db, "ix", "") == 1
    doomed = [f"r{i:03d}" for i in range(0, 100, 4)]
    idx.delete(ids=doomed)
    idx.flush()
    idx.compact()
    assert idx.describe_index_stats().pending_deletions == 0
    for seg in (tmp_path / "indexes").rglob("*.seg"):
        assert b"secret-" not in seg.read_bytes(), seg
    hits = idx.query(vector=[1, 0, 0], top_k=100, filter={"tags": {"$in": ["t1"]}, "kind": "plain"})
    assert sorted(m.id for m in hits.matches) == [f"r{i:03d}" for i in range(100) if i % 4 and i % 3 == 1]
    assert idx.query(vector=[1, 0, 0], top_k=100, filter={"kind": {"$ne": "plain"}}).matches == []
    db.close()


def test_concurrent_writers_readers_and_background_flushes(tmp_path: Path) -> None:
    client = spruce.Client(path=tmp_path, flush_rows=37)
    client.create_index("ix", dimension=4, metric="dotproduct")
    idx = client.Index("ix")
    errors: list[BaseException] = []
    expected: dict[str, list[float]] = {}
    lock = threading.Lock()

    def writer(w: int) -> None:
        rng = np.random.default_rng(w)
        try:
            for step in range(60):
                batch = [
                    (f"w{w}-{rng.integers(0, 80)}", rng.normal(size=4).astype(np.float32).tolist())
                    for _ in range(int(rng.integers(1, 9)))
                ]
                idx.upsert(batch)
                with lock:
                    for rid, v in batch:
                        expected[rid] = v
                if step % 7 == 3:
                    victims = [f"w{w}-{rng.integers(0, 80)}" for _ in range(3)]
                    idx.delete(ids=victims)
                    with lock:
                        for rid in victims:
                            expected.pop(rid, None)
                # read-your-writes: what this thread just wrote is visible at once
                got = idx.fetch([batch[-1][0]]).vectors
                if batch[-1][0] in expected:
                    assert batch[-1][0] in got
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    def reader() -> None:
        rng = np.random.default_rng(99)
        try:
            for _ in range(150):
                res = idx.query(vector=rng.normal(size=4).tolist(), top_k=5)
                assert len({m.id for m in res.matches}) == len(res.matches)
                stats = idx.describe_index_stats()
                assert stats.total_vector_count == sum(n.vector_count for n in stats.namespaces.values())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)] + [
        threading.Thread(target=reader)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors

    def check(index: spruce.Index) -> None:
        assert index.describe_index_stats().total_vector_count == len(expected)
        ids = sorted(expected)
        got = {}
        for i in range(0, len(ids), 1000):
            got.update(index.fetch(ids[i : i + 1000]).vectors)
        assert sorted(got) == ids
        for rid, v in expected.items():
            np.testing.assert_allclose(got[rid].values, v, rtol=1e-6)
        assert [item.id for page in index.list() for item in page.vectors] == ids

    check(idx)
    idx.compact()
    check(idx)
    client.close()
    reopened = spruce.Client(path=tmp_path)
    check(reopened.Index("ix"))
    reopened.close()


def _wait_for(cond, timeout: float = 20.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.05)
    return False


def test_idle_flush_brings_unindexed_to_zero(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance, "IDLE_FLUSH_S", 0.3)
    db = Database.open(tmp_path, flush_rows=1000)
    db.create_index("ix", dimension=3, metric="euclidean")
    idx = db.index("ix")
    idx.upsert([(f"r{i}", [float(i), 0.0, 1.0], {"i": i}) for i in range(50)])
    assert idx.describe_index_stats().unindexed_records == 50  # far below flush_rows: in the memtable
    assert _wait_for(lambda: idx.describe_index_stats().unindexed_records == 0)
    ns = idx._st.namespaces[""]
    assert ns.memtable.n == 0 and _segments(db, "ix", "") == 1
    # the manifest that names the new segment is committed just after: then nothing is left to replay
    assert _wait_for(lambda: idx._st.manifest_doc["lsn"] == idx._st.lsn)
    db.close()
    db2 = Database.open(tmp_path)
    assert db2.index("ix").describe_index_stats().total_vector_count == 50
    db2.close()


def test_small_tail_keeps_the_main_segment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(maintenance, "EXACT_MAX_WORK", 4 * 20)  # a tail of up to 20 rows at 4 dimensions
    db = Database.open(tmp_path, flush_rows=10_000, ann_min_rows=100)
    db.create_index("ix", dimension=4, metric="euclidean")
    idx = db.index("ix")
    vecs = np.random.default_rng(3).normal(size=(330, 4)).astype(np.float32)

    def add(lo: int, hi: int) -> None:
        idx.upsert([(f"r{i}", vecs[i], {"i": i}) for i in range(lo, hi)])
        idx.flush()
        idx.compact()

    add(0, 300)
    ns = idx._st.namespaces[""]
    (main,) = ns.segments
    assert main.ann is not None
    add(300, 305)
    add(305, 312)
    assert main in ns.segments and len(ns.segments) == 2  # the two small flushes merged into one tail
    assert idx.describe_index_stats().unindexed_records == 0
    q = vecs[301]
    expected = sorted(range(312), key=lambda i: float(((vecs[i] - q) ** 2).sum()))[:5]
    assert [m.id for m in idx.query(vector=q, top_k=5).matches] == [f"r{i}" for i in expected]
    add(312, 330)  # the tail outgrows 20 rows: merged into the main segment's graph
    assert len(ns.segments) == 1 and ns.segments[0] is not main and ns.segments[0].ann is not None
    assert ns.segments[0].n_alive == 330
    db.close()


def test_segments_carry_their_columns_and_old_segments_without_them_still_open(tmp_path: Path) -> None:
    db = Database.open(tmp_path, flush_rows=1000)
    db.create_index("ix", dimension=2, metric="euclidean")
    idx = db.index("ix")
    idx.upsert(
        [(f"r{i}", [float(i), 1.0], {"g": "ab"[i % 2], "n": i, "t": ["x"] * (i % 3)}) for i in range(40)]
    )
    idx.flush()
    (seg,) = idx._st.namespaces[""].segments
    assert seg.segment_key is not None
    key = seg.segment_key
    db.close()
    path = next(tmp_path.rglob(key.rsplit("/", 1)[1]))
    flt = {"$and": [{"g": "a"}, {"n": {"$gte": 10}}, {"t": {"$in": ["x"]}}]}
    expected = sorted(f"r{i}" for i in range(40) if i % 2 == 0 and i >= 10 and i % 3)

    def segment_copy() -> SegmentContents:
        store = LocalStore(tmp_path / "copy")
        store.delete("s")
        store.put_if_absent("s", path.read_bytes())
        contents = read_segment(store, "s")
        store.close()
        return contents

    def answer() -> list[str]:
        db2 = Database.open(tmp_path)
        got = sorted(v.id for v in db2.index("ix").fetch_by_metadata(filter=flt, limit=100).vectors.values())
        db2.close()
        return got

    old = segment_copy()
    assert old.columns is not None  # the flush wrote the columns into the segment
    assert answer() == expected
    # Rewrite the segment as older versions did (no ``columns`` section): it must open and filter alike.
    path.write_bytes(b"".join(bytes(p) for p in encode_segment(old.ids, np.array(old.vectors), old.metadata)))
    assert segment_copy().columns is None
    assert answer() == expected


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the RSS from /proc")
def test_closing_a_store_gives_its_memory_back(tmp_path: Path) -> None:
    rows, dim = 40_000, 128  # 20 MB of vectors in a graph segment
    db = Database.open(tmp_path, ann_min_rows=1_000)
    db.create_index("ix", dimension=dim, metric="euclidean")
    idx = db.index("ix")
    vecs = np.random.default_rng(5).normal(size=(rows, dim)).astype(np.float32)
    for start in range(0, rows, 1_000):
        idx.upsert([(str(i), vecs[i]) for i in range(start, start + 1_000)])
    idx.flush()
    idx.compact()
    assert idx._st.namespaces[""].segments[0].ann is not None
    db.close()
    del db, idx
    growth = []
    for _ in range(5):
        before = _rss_kb()
        again = Database.open(tmp_path)
        again.index("ix").query(vector=vecs[0], top_k=3)
        again.close()
        del again
        maintenance.release_freed_memory()
        growth.append(_rss_kb() - before)
    # a leaked graph storage would add about 20,000 kB per cycle
    assert sum(growth[1:]) < 20_000, growth


def test_id_map_is_invisible_to_the_collector_and_drops_retired_blocks(tmp_path: Path) -> None:
    db = Database.open(tmp_path, flush_rows=50)
    db.create_index("ix", dimension=2, metric="euclidean")
    idx = db.index("ix")
    for start in range(0, 300, 30):
        idx.upsert([(f"r{i}", [float(i), 0.0]) for i in range(start, start + 30)])
        idx.delete(ids=[f"r{start}"])
    idx.flush()
    idx.compact()
    ns = idx._st.namespaces[""]
    # only live blocks keep a slot: retired ones are gone once their entries were re-pointed
    assert sorted(b.slot for b in ns._blocks.values()) == sorted(b.slot for b in ns.blocks)
    assert not gc.is_tracked(ns.loc)  # str -> int: nothing for a full collection to walk
    assert ns.count == 290 and [m.id for m in idx.query(vector=[31.0, 0.0], top_k=1).matches] == ["r31"]
    db.close()


def test_flushed_rows_without_a_graph_are_read_from_the_segment_map(tmp_path: Path) -> None:
    db = Database.open(tmp_path, flush_rows=10_000, ann_min_rows=100)
    db.create_index("ix", dimension=4, metric="euclidean")
    idx = db.index("ix")
    vecs = np.random.default_rng(9).normal(size=(400, 4)).astype(np.float32)
    idx.upsert([(f"r{i}", vecs[i]) for i in range(300)])
    idx.flush()
    idx.compact()
    idx.upsert([(f"r{i}", vecs[i]) for i in range(300, 400)])
    idx.flush()  # the namespace has a graph: these rows are flushed without one, to be merged later
    flushed = [b for b in idx._st.namespaces[""].segments if b.ann is None]
    assert len(flushed) == 1 and flushed[0]._mapped is not None
    np.testing.assert_array_equal(flushed[0].vectors, vecs[300:400])
    q = vecs[350]
    expected = [f"r{i}" for i in sorted(range(400), key=lambda i: float(((vecs[i] - q) ** 2).sum()))[:5]]
    assert [m.id for m in idx.query(vector=q, top_k=5).matches] == expected
    flushed[0].release_vector_pages(10, 50)  # pages leave the process; reads bring them back
    assert [m.id for m in idx.query(vector=q, top_k=5).matches] == expected
    np.testing.assert_array_equal(flushed[0].vectors, vecs[300:400])
    db.close()
