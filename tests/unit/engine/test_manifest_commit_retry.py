"""A manifest commit that fails after writing its bitmaps, then succeeds on retry, commits the bitmaps of
the retry, not the leftovers of the failed attempt (both use the same manifest version, so the same
bitmap keys). With the leftover kept, deaths between the two attempts were lost once the log was cut.
The failure is injected into the manifest's put: a full disk cannot be caused on cue here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spruce.engine import Database
from spruce.storage.segment import decode_deleted


def test_a_retried_commit_replaces_the_failed_attempts_bitmaps(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = Database.open(tmp_path, flush_rows=1000)
    db.create_index("ix", dimension=2)
    idx = db.index("ix")
    idx.upsert([(f"r{i}", [1.0, float(i)]) for i in range(10)])
    idx.flush()
    st = idx._st
    (block,) = st.namespaces[""].segments
    idx.delete(ids=["r0"])

    real = st.manifest.commit

    def full_disk(doc: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(st.manifest, "commit", full_disk)
    with pytest.raises(OSError):
        st.commit_manifest(st.lsn)
    monkeypatch.setattr(st.manifest, "commit", real)
    idx.delete(ids=["r1"])  # a death between the failed attempt and the retry
    st.commit_manifest(st.lsn)

    (entry,) = st.manifest_doc["namespaces"][""]
    key = entry["deleted"]
    dead = np.flatnonzero(decode_deleted(st.store.get(key), block.n, key))
    rows = {block.ids[i] for i in dead}
    assert rows == {"r0", "r1"}
    db.close()
