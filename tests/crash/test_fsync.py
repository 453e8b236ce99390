"""A failed fsync makes the store refuse writes until restart; it is never retried or ignored.

A real EIO from fsync cannot be provoked portably, so ``os.fsync`` as the object store module sees it is
replaced by one that fails once, at a chosen call, and passes the rest through (counting them). Cases:
the fsync of a log entry's temporary file, the directory fsync after the entry is linked in (the entry
then exists on disk although the write failed), and an fsync inside an explicit flush (after earlier
writes were acknowledged). In each:

- the failing call raises ``StoreReadOnlyError``;
- every later write raises it too, without calling fsync again (no retry), and so does a flush;
- reads keep working and show exactly the acknowledged writes;
- close does not raise and releases the lock; reopened with a working fsync (a restart), the store holds
  every acknowledged write, and the failed write entirely or not at all (it was never acknowledged); it
  takes writes again.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import spruce
from spruce.errors import StoreReadOnlyError
from spruce.storage import objectstore

DIM = 4
REAL_FSYNC = os.fsync


class FailOnce:
    """``os.fsync`` that raises EIO on its ``fail_at``-th call after arming, and counts later calls."""

    def __init__(self) -> None:
        self.armed_at: int | None = None
        self.calls = 0
        self.failed = False
        self.after_failure = 0

    def __call__(self, fd: int) -> None:
        self.calls += 1
        if self.failed:
            self.after_failure += 1
        elif self.armed_at is not None and self.calls == self.armed_at:
            self.failed = True
            raise OSError(errno.EIO, "injected EIO")
        REAL_FSYNC(fd)

    def arm(self, nth: int) -> None:
        self.armed_at = self.calls + nth


def _rec(rid: str, x: float) -> tuple[str, list[float], dict[str, Any]]:
    return (rid, [x, 1.0, 2.0, 3.0], {"rid": rid})


def _batch(tag: str) -> list[tuple[str, list[float], dict[str, Any]]]:
    return [_rec(f"{tag}-{i}", float(i + 1)) for i in range(3)]


def _fail_upsert_log_file(idx: Any, engine: Any, fake: FailOnce) -> None:
    fake.arm(1)  # the entry's temporary file: never linked in
    idx.upsert(_batch("failed"))


def _fail_upsert_log_dir(idx: Any, engine: Any, fake: FailOnce) -> None:
    fake.arm(2)  # the log directory, after the entry was linked in: the entry is on disk
    idx.upsert(_batch("failed"))


def _fail_flush(idx: Any, engine: Any, fake: FailOnce) -> None:
    fake.arm(1)  # the segment's temporary file
    engine.flush()


CASES: dict[str, Callable[[Any, Any, FailOnce], None]] = {
    "log-entry-file": _fail_upsert_log_file,
    "log-directory": _fail_upsert_log_dir,
    "flush": _fail_flush,
}


@pytest.mark.parametrize("case", list(CASES))
def test_failed_fsync_refuses_writes_until_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    store = tmp_path / "store"
    fake = FailOnce()
    db = spruce.Client(path=store, flush_rows=1_000_000)
    db.create_index("x", dimension=DIM, metric="euclidean")
    idx = db.Index("x")
    engine = db.database.index("x")
    acked = [*_batch("a"), *_batch("b")]
    idx.upsert(acked[:3])
    engine.flush()  # a segment exists, so reads after the failure span segment and memtable
    idx.upsert(acked[3:])
    all_ids = [r[0] for r in acked] + [r[0] for r in _batch("failed")] + ["later"]

    with monkeypatch.context() as m:
        m.setattr(objectstore.os, "fsync", fake)
        with pytest.raises(StoreReadOnlyError):
            CASES[case](idx, engine, fake)
        failed = _batch("failed") if case != "flush" else []
        assert fake.failed
        assert fake.after_failure == 0

        # writes are refused from now on, without touching fsync again
        for write in (
            lambda: idx.upsert([_rec("later", 9.0)]),
            lambda: idx.delete(ids=["a-0"]),
            lambda: idx.update(id="a-1", set_metadata={"x": 1}),
            lambda: idx.update(filter={"rid": "a-2"}, set_metadata={"x": 1}),
            lambda: idx.delete(delete_all=True),
            engine.flush,
        ):
            with pytest.raises(StoreReadOnlyError):
                write()
        assert fake.after_failure == 0, "fsync was retried after it failed"

        # reads still work, and show exactly what was acknowledged
        got = idx.fetch(all_ids).vectors
        assert sorted(got) == sorted(r[0] for r in acked)
        assert idx.describe_index_stats().total_vector_count == len(acked)
        top = idx.query(vector=acked[0][1], top_k=1, include_metadata=True).matches
        assert top[0].id == acked[0][0]

        db.close()  # must not raise (its flush is refused) and must release the lock
        assert fake.after_failure == 0

    # restart, with a working fsync
    db = spruce.Client(path=store)
    try:
        idx = db.Index("x")
        got = idx.fetch(all_ids).vectors
        for rid, values, meta in acked:
            assert rid in got and got[rid].values == values and got[rid].metadata == meta, rid
        present = [rid for rid, _, _ in failed if rid in got]
        assert present in ([], [r[0] for r in failed]), f"the failed batch is half there: {present}"
        if case == "log-entry-file":
            assert present == [], "the entry's temp file failed its fsync, so it was never linked in"
        if failed:
            print(f"\n{case}: the failed batch is {'present' if present else 'absent'} after the restart")
        assert "later" not in got
        assert idx.describe_index_stats().total_vector_count == len(acked) + len(present)
        lsn = idx.upsert([_rec("later", 9.0)]).lsn  # writable again
        assert lsn == db.database.index("x").lsn
    finally:
        db.close()
    db = spruce.Client(path=store)
    try:
        assert "later" in db.Index("x").fetch(["later"]).vectors
    finally:
        db.close()
