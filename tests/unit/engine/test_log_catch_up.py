"""A write whose log LSN is already taken catches up and retries (issue 15's log race, in one process).

Another writer's entry is put straight into the store at the next LSN, as a second process on a shared
bucket would commit it (or as an earlier put of this process, whose outcome was unknown, would have
landed). The next write finds its LSN taken, applies the entry it missed, resolves its batch again
against that state, and commits at the LSN after: the foreign records are visible, a delete by filter
matches them too, and the log stays contiguous.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

import spruce
from spruce.storage.framing import frame
from spruce.storage.log import MAGIC
from spruce.storage.ops import Delete, Upsert, encode_ops


def _commit_foreign(db: spruce.Client, *ops: Upsert | Delete) -> int:
    st = db.index("ix")._st
    lsn = st.lsn + 1
    assert st.store.put_if_absent(st.log.key(lsn), frame(MAGIC, lsn, encode_ops(list(ops))))
    return lsn


def _foreign_upsert(ids: list[str], colour: str) -> Upsert:
    vecs = np.ones((len(ids), 2), dtype=np.float32)
    return Upsert("", ids, vecs, [{"colour": colour} for _ in ids])


def _log_lsns(tmp_path: Path) -> list[int]:
    log_dir = next((tmp_path / "indexes").iterdir()) / "log"
    return sorted(int(p.name) for p in log_dir.iterdir())


def _fresh(tmp_path: Path) -> tuple[spruce.Client, spruce.Index]:
    db = spruce.Client(path=tmp_path, flush_rows=10**6)  # (no flush: every write stays in the log)
    db.create_index("ix", dimension=2)
    return db, db.Index("ix")


def _count_after_reopen(tmp_path: Path) -> int:
    """The record count of a fresh open: the same state rebuilt from the log alone."""
    db = spruce.Client(path=tmp_path)
    try:
        return db.Index("ix").describe_index_stats().total_vector_count
    finally:
        db.close()


def test_an_upsert_catches_up_on_an_entry_it_missed(tmp_path: Path) -> None:
    db, idx = _fresh(tmp_path)
    idx.upsert([("mine1", [1.0, 0.0])])
    theirs = _commit_foreign(db, _foreign_upsert(["theirs1", "theirs2"], "red"))
    assert idx.describe_index_stats().total_vector_count == 1  # not seen yet
    idx.upsert([("mine2", [0.0, 1.0])])
    assert idx.describe_index_stats().total_vector_count == 4
    assert set(idx.fetch(ids=["theirs1", "theirs2", "mine2"]).vectors) == {"theirs1", "theirs2", "mine2"}
    assert db.index("ix")._st.lsn == theirs + 1
    assert _log_lsns(tmp_path) == [1, 2, 3]
    db.close()
    assert _count_after_reopen(tmp_path) == 4


def test_a_delete_by_filter_is_resolved_again_after_catching_up(tmp_path: Path) -> None:
    db, idx = _fresh(tmp_path)
    idx.upsert([("a", [1.0, 0.0], {"colour": "red"}), ("b", [0.0, 1.0], {"colour": "blue"})])
    _commit_foreign(db, _foreign_upsert(["c", "d"], "red"), Delete("", ["b"]))
    idx.delete(filter={"colour": {"$eq": "red"}})  # resolved before: only "a"; after catching up: a, c, d
    assert idx.describe_index_stats().total_vector_count == 0
    assert idx.fetch(ids=["a", "b", "c", "d"]).vectors == {}
    assert _log_lsns(tmp_path) == [1, 2, 3]
    db.close()
    assert _count_after_reopen(tmp_path) == 0


def test_several_missed_entries_are_applied_in_order(tmp_path: Path) -> None:
    db, idx = _fresh(tmp_path)
    idx.upsert([("x", [1.0, 0.0])])
    _commit_foreign(db, _foreign_upsert(["y"], "red"))
    st = db.index("ix")._st
    lsn = st.lsn + 2  # the second foreign entry, after the first
    st.store.put_if_absent(st.log.key(lsn), frame(MAGIC, lsn, encode_ops([_foreign_upsert(["y"], "blue")])))
    idx.delete(ids=["x"])
    assert idx.fetch(ids=["y"]).vectors["y"].metadata == {"colour": "blue"}
    assert _log_lsns(tmp_path) == [1, 2, 3, 4]
    db.close()


def test_the_embedded_read_barrier_is_the_same_as_the_wires(tmp_path: Path) -> None:
    """``Index.reading(min_lsn)``: what REST's ``x-spruce-min-lsn`` header and gRPC's metadata reach."""
    import pytest

    from spruce.errors import InvalidArgumentError

    db = spruce.Client(path=tmp_path)
    db.create_index("ix", dimension=2)
    idx = db.index("ix")
    lsn = idx.upsert([("a", [1.0, 0.0])]).lsn
    with idx.reading(lsn) as seen:
        assert seen == lsn and set(idx.fetch(ids=["a"]).vectors) == {"a"}
    refused = pytest.raises(InvalidArgumentError, match="x-spruce-min-lsn: the read must reflect LSN 9")
    with refused, idx.reading(9):
        pass
    db.close()
