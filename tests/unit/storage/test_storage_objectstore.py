from __future__ import annotations

import os
from pathlib import Path

import pytest

from spruce.errors import NotFoundError, StoreClosedError, StoreLockedError, StoreReadOnlyError
from spruce.storage.objectstore import LocalStore


def test_put_if_absent_is_conditional_and_atomic(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    assert store.put_if_absent("a/b/c", b"one")
    assert not store.put_if_absent("a/b/c", b"two")
    assert store.get("a/b/c") == b"one"
    assert list((tmp_path / ".tmp").iterdir()) == []  # no temporary left behind
    store.close()


def test_get_missing_raises_not_found(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(NotFoundError):
        store.get("nope")
    store.close()


def test_list_by_prefix_sorted_and_delete(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    for key in ["x/2", "x/1", "y/1", "x/10", "xa"]:
        store.put_if_absent(key, b".")
    assert store.list("x/") == ["x/1", "x/10", "x/2"]
    assert store.list("x") == ["x/1", "x/10", "x/2", "xa"]
    assert store.list("") == ["x/1", "x/10", "x/2", "xa", "y/1"]
    assert store.list("z/") == []
    store.delete("x/1")
    store.delete("x/1")  # idempotent
    assert store.list("x/") == ["x/10", "x/2"]
    store.close()


def test_second_open_is_refused_until_closed(tmp_path: Path) -> None:
    first = LocalStore(tmp_path)
    with pytest.raises(StoreLockedError, match="already open"):
        LocalStore(tmp_path)
    first.close()
    second = LocalStore(tmp_path)
    second.close()


def test_closed_store_refuses_writes(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    store.close()
    with pytest.raises(StoreClosedError):
        store.put_if_absent("k", b"v")


def test_leftover_temporaries_are_removed_on_open(tmp_path: Path) -> None:
    LocalStore(tmp_path).close()
    (tmp_path / ".tmp" / "123.0").write_bytes(b"partial")
    store = LocalStore(tmp_path)
    assert list((tmp_path / ".tmp").iterdir()) == []
    assert store.list("") == []
    store.close()


@pytest.mark.parametrize("key", ["", "/abs", "a/../b"])
def test_bad_keys_are_rejected(tmp_path: Path, key: str) -> None:
    store = LocalStore(tmp_path)
    with pytest.raises(ValueError):
        store.put_if_absent(key, b"")
    store.close()


def test_large_object_is_synced_as_it_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A put of many SYNC_EVERY-sized pieces syncs its data every SYNC_EVERY bytes (so that a log fsync
    issued meanwhile never waits for the whole object), and the object is still written whole and in order."""
    import spruce.storage.objectstore as objectstore

    synced: list[int] = []
    real = objectstore._fdatasync

    def counting(fd: int) -> None:
        synced.append(os.fstat(fd).st_size)
        real(fd)

    monkeypatch.setattr(objectstore, "SYNC_EVERY", 1 << 12)
    monkeypatch.setattr(objectstore, "_fdatasync", counting)
    # 38,000 bytes: small parts that straddle the sync points, and one part that must be split between syncs
    parts = [bytes([i]) * 3000 for i in range(6)] + [b"\xff" * 20_000]
    store = LocalStore(tmp_path)
    try:
        assert store.put_if_absent("big", parts)
        assert store.get("big") == b"".join(parts)
    finally:
        store.close()
    assert len(synced) >= 38_000 // (2 << 12)
    assert all(0 < b - a <= 2 * (1 << 12) for a, b in zip([0, *synced], synced, strict=False))
    assert synced[-1] >= 38_000 - (1 << 12)  # (the final fsync covers the rest)


def test_failed_data_sync_poisons_the_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import spruce.storage.objectstore as objectstore

    def failing(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(objectstore, "SYNC_EVERY", 1 << 12)
    monkeypatch.setattr(objectstore, "_fdatasync", failing)
    store = LocalStore(tmp_path)
    try:
        with pytest.raises(StoreReadOnlyError):
            store.put_if_absent("big", [b"x" * 10_000])
        assert store.list("") == []
        with pytest.raises(StoreReadOnlyError):
            store.put_if_absent("small", b"y")
    finally:
        store.close()
