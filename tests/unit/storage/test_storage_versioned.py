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
