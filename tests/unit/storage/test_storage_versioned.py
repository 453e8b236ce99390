from __future__ import annotations

from pathlib import Path

import pytest

from spruce.errors import DataCorruptionError
from spruce.storage.objectstore import LocalStore
from spruce.storage.versioned import VersionedDoc


def test_commit_swaps_and_prunes(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    doc = VersionedDoc(store, "m/", b"SPRM")
    assert doc.load() is None
    assert doc.commit({"v": 1}) == 1
    assert doc.commit({"v": 2}) == 2
    assert store.list("m/") == [f"m/{2:020d}"]
    again = VersionedDoc(store, "m/", b"SPRM")
    assert again.load() == {"v": 2}
    assert again.version == 2
    store.close()


def test_corrupt_newest_version_refuses_to_open(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    doc = VersionedDoc(store, "m/", b"SPRM")
    doc.commit({"v": 1})
    path = tmp_path / "m" / f"{1:020d}"
    path.write_bytes(path.read_bytes()[:-2])
    with pytest.raises(DataCorruptionError, match="refusing"):
        VersionedDoc(store, "m/", b"SPRM").load()
    store.close()


def test_a_writer_two_versions_behind_is_refused_though_its_put_succeeds(tmp_path: Path) -> None:
    """Another writer committed two versions past this one, so the number this one writes next was deleted
    by the other's cleanup and its put succeeds: the listing after it must still refuse the commit, remove
    the stale version, and leave the other's newest in place (a fenced manifest commit, a stale catalog)."""
    from spruce.storage.versioned import VersionTaken

    store = LocalStore(tmp_path)
    stale = VersionedDoc(store, "m/", b"SPRM")
    stale.commit({"by": "stale", "n": 1})
    fresh = VersionedDoc(store, "m/", b"SPRM")
    assert fresh.load() == {"by": "stale", "n": 1}
    fresh.commit({"by": "fresh", "n": 2})
    fresh.commit({"by": "fresh", "n": 3})
    assert store.list("m/") == [f"m/{3:020d}"]  # version 2, the one the stale writer takes next, is gone
    with pytest.raises(VersionTaken, match="committed before"):
        stale.commit({"by": "stale", "n": 2})
    assert store.list("m/") == [f"m/{3:020d}"]
    assert stale.version == 1
    assert stale.load() == {"by": "fresh", "n": 3}
    assert stale.commit({"by": "stale", "n": 4}) == 4  # once it has the newest, it commits as usual
    store.close()
