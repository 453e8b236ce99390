"""One data directory, one process: a second open is refused with StoreLockedError, and the lock dies
with its holder (kill -9 included), so the store opens again afterwards with what the holder wrote."""

from __future__ import annotations

from pathlib import Path

import pytest

import spruce
from spruce.engine import Database
from spruce.errors import StoreLockedError

from .harness import Child
from .writer import INDEX


def test_second_process_is_refused_and_sigkill_frees_the_lock(tmp_path: Path) -> None:
    store = tmp_path / "store"
    holder = Child(tmp_path, "holder", "hold", store)
    try:
        holder.wait_for("ready")
        for opener in (lambda: spruce.Client(path=store), lambda: Database.open(store)):
            with pytest.raises(StoreLockedError) as err:
                opener()
            assert str(store) in str(err.value), "the error should name the directory"
        assert holder.alive(), "a refused open must not disturb the holder"
        with pytest.raises(StoreLockedError):  # a refused attempt leaves nothing half-held behind
            spruce.Client(path=store)
    finally:
        status = holder.kill()
    assert status == -9
    db = spruce.Client(path=store)  # the kernel dropped the flock with the process
    try:
        idx = db.Index(INDEX)
        assert set(idx.fetch(["held"]).vectors) == {"held"}, "the holder's acknowledged write is there"
        assert idx.upsert([("after", [1.0] * 8, {})]).lsn == 2
    finally:
        db.close()


def test_same_process_second_open_is_refused_until_close(tmp_path: Path) -> None:
    store = tmp_path / "store"
    first = spruce.Client(path=store)
    try:
        with pytest.raises(StoreLockedError):
            spruce.Client(path=store)
    finally:
        first.close()
    spruce.Client(path=store).close()
