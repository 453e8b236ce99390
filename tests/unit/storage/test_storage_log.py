from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spruce.errors import DataCorruptionError
from spruce.storage.log import Log
from spruce.storage.objectstore import LocalStore
from spruce.storage.ops import (
    CreateNamespace,
    Delete,
    DropNamespace,
    Upsert,
    decode_ops,
    encode_ops,
)
from spruce.storage.quarantine import PREFIX
from spruce.types import SparseRows


def test_append_recover_in_order(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    log = Log(store, "ix/log/")
    assert [log.append(f"e{i}".encode()) for i in range(3)] == [1, 2, 3]
    again = Log(store, "ix/log/")
    assert list(again.recover(0)) == [(1, b"e0"), (2, b"e1"), (3, b"e2")]
    assert again.last_lsn == 3
    assert list(Log(store, "ix/log/").recover(2)) == [(3, b"e2")]
    store.close()


def _files(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "LOCK" and ".tmp" not in p.parts
    }


def test_bad_last_entry_is_cut_and_kept_aside(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    log = Log(store, "ix/log/")
    for i in range(4):
        log.append(f"e{i}".encode())
    path = tmp_path / "ix" / "log" / f"{4:020d}"
    torn = path.read_bytes()[:-1]
    path.write_bytes(torn)
    again = Log(store, "ix/log/")
    assert [lsn for lsn, _ in again.recover(0)] == [1, 2, 3]
    assert again.last_lsn == 3
    assert store.list("ix/log/") == [again.key(1), again.key(2), again.key(3)]
    assert store.get(f"{PREFIX}{again.key(4)}.1") == torn  # kept aside, byte for byte
    assert again.append(b"new") == 4  # the cut LSN is taken by the next write
    store.close()


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty", "missing"])
@pytest.mark.parametrize("lsn", [1, 3])
def test_damage_below_the_newest_entry_refuses_and_changes_nothing(
    tmp_path: Path, damage: str, lsn: int
) -> None:
    store = LocalStore(tmp_path)
    log = Log(store, "ix/log/")
    for i in range(5):
        log.append(f"entry {i}".encode())
    path = tmp_path / "ix" / "log" / f"{lsn:020d}"
    data = path.read_bytes()
    if damage == "missing":
        path.unlink()
    else:
        path.write_bytes({"truncate": data[:-1], "flip": data[:-1] + b"?", "empty": b""}[damage])
    before = _files(tmp_path)
    with pytest.raises(DataCorruptionError, match=f"{lsn:020d}") as err:
        list(Log(store, "ix/log/").recover(0))
    assert "spruce verify" in str(err.value)
    assert _files(tmp_path) == before
    store.close()


def test_entries_above_the_manifest_must_start_right_after_it(tmp_path: Path) -> None:
    """Entries 1-2 were covered by a flush and truncated; if entry 3 is gone too, 4-5 cannot be replayed."""
    store = LocalStore(tmp_path)
    log = Log(store, "ix/log/")
    for i in range(5):
        log.append(f"e{i}".encode())
    for key in log.keys_upto(3):
        store.delete(key)
    assert [lsn for lsn, _ in Log(store, "ix/log/").recover(3)] == [4, 5]
    with pytest.raises(DataCorruptionError, match=f"{3:020d} is missing"):
        list(Log(store, "ix/log/").recover(2))
    store.close()


def test_keys_upto(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    log = Log(store, "ix/log/")
    for i in range(5):
        log.append(f"e{i}".encode())
    assert log.keys_upto(3) == [log.key(1), log.key(2), log.key(3)]
    store.close()


def test_ops_roundtrip() -> None:
    vecs = np.arange(6, dtype=np.float32).reshape(2, 3)
    ops = [
        Upsert("ns", ["a", "b"], vecs, [{"g": "x"}, {}]),
        Delete("", ["a"]),
        DropNamespace("old"),
        CreateNamespace("new"),
        Upsert("", ["c"], vecs[:1] * 2, [{"k": 2.5, "l": ["p", "q"], "t": True}]),
    ]
    back = decode_ops(encode_ops(ops))
    assert len(back) == len(ops)
    for a, b in zip(ops, back, strict=True):
        assert type(a) is type(b)
        if isinstance(a, Upsert) and isinstance(b, Upsert):
            assert (a.ns, a.ids, a.metadata) == (b.ns, b.ids, b.metadata)
            np.testing.assert_array_equal(a.vectors, b.vectors)
            assert b.vectors.dtype == np.float32
        else:
            assert a == b


def test_sparse_upserts_roundtrip() -> None:
    """Sparse rows ride after the vectors (an empty row, a sparse index's n x 0 vectors, and an upsert
    without sparse values in between)."""
    sparse = SparseRows.from_rows(
        [
            (np.array([7, 2**32 - 1], dtype=np.uint32), np.array([0.5, -1.25], dtype=np.float32)),
            None,
            (np.array([3], dtype=np.uint32), np.array([2.0], dtype=np.float32)),
        ]
    )
    ops = [
        Upsert("h", ["a", "b", "c"], np.ones((3, 2), dtype=np.float32), [{}, {}, {}], sparse),
        Upsert("", ["d"], np.ones((1, 2), dtype=np.float32), [{}]),
        Upsert("s", ["e", "f", "g"], np.empty((3, 0), dtype=np.float32), [{"g": 1.0}, {}, {}], sparse),
    ]
    back = decode_ops(encode_ops(ops))
    for a, b in zip(ops, back, strict=True):
        assert isinstance(a, Upsert) and isinstance(b, Upsert)
        np.testing.assert_array_equal(a.vectors, b.vectors)
        assert b.vectors.shape == a.vectors.shape
        if a.sparse is None:
            assert b.sparse is None
            continue
        assert b.sparse is not None
        np.testing.assert_array_equal(b.sparse.indptr, a.sparse.indptr)
        np.testing.assert_array_equal(b.sparse.indices, a.sparse.indices)
        np.testing.assert_array_equal(b.sparse.values, a.sparse.values)
        assert b.sparse.indices.dtype == np.uint32 and b.sparse.values.dtype == np.float32
