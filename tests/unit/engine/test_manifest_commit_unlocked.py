"""The manifest commit writes deletion bitmaps and the manifest without holding off writes. A delete that
lands while a bitmap is being written must not be lost: its block stays dirty, the next commit writes the
bitmap again, and a reopen after the log is truncated still has the record deleted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import spruce.engine.state as state_module
from spruce.engine import Database


def test_a_delete_during_the_commit_survives_the_next_commit_and_a_reopen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database.open(tmp_path, flush_rows=1000)
    db.create_index("ix", dimension=2, metric="euclidean")
    idx = db.index("ix")
    idx.upsert([(f"r{i}", [float(i), 1.0]) for i in range(10)])
    idx.flush()
    (segment,) = idx._st.namespaces[""].segments
    idx.delete(ids=["r1"])
    assert segment.deleted_dirty

    real_encode = state_module.encode_deleted
    landed: list[str] = []

    def encode_while_a_delete_lands(dead: Any) -> bytes:
        if not landed:
            idx.delete(ids=["r2"])  # a write in the middle of the commit (it would deadlock on write_mu)
            landed.append("r2")
        return real_encode(dead)

    monkeypatch.setattr(state_module, "encode_deleted", encode_while_a_delete_lands)
    idx.flush()  # commits a manifest: the bitmap it writes has r1 dead, not r2
    monkeypatch.setattr(state_module, "encode_deleted", real_encode)
    assert landed == ["r2"]
    assert segment.deleted_dirty  # r2 died after the picture: still to be written

    idx.upsert([("r20", [20.0, 1.0])])
    idx.flush()  # the next commit writes the bitmap again (r1 and r2), and truncates the log past both
    assert not segment.deleted_dirty
    db.close()

    again = Database.open(tmp_path)
    reopened = again.index("ix")
    assert sorted(reopened.fetch(ids=[f"r{i}" for i in range(10)] + ["r20"]).vectors) == sorted(
        [f"r{i}" for i in range(10) if i not in (1, 2)] + ["r20"]
    )
    assert reopened.describe_index_stats().total_vector_count == 9
    again.close()
