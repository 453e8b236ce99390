from __future__ import annotations

from pathlib import Path

import numpy as np

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


def test_corrupt_entry_cuts_it_and_all_later(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    log = Log(store, "ix/log/")
    for i in range(4):
        log.append(f"e{i}".encode())
    path = tmp_path / "ix" / "log" / f"{3:020d}"
    path.write_bytes(path.read_bytes()[:-1])
    again = Log(store, "ix/log/")
    assert [lsn for lsn, _ in again.recover(0)] == [1, 2]
    assert again.last_lsn == 2
    assert store.list("ix/log/") == [again.key(1), again.key(2)]
    assert again.append(b"new") == 3  # the cut LSN is reused by the next write
    store.close()


def test_gap_stops_recovery(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    log = Log(store, "ix/log/")
    for i in range(3):
        log.append(f"e{i}".encode())
    store.delete(log.key(2))
    assert [lsn for lsn, _ in Log(store, "ix/log/").recover(0)] == [1]
    store.close()


def test_truncate_upto(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    log = Log(store, "ix/log/")
    for i in range(5):
        log.append(f"e{i}".encode())
    log.truncate_upto(3)
    assert store.list("ix/log/") == [log.key(4), log.key(5)]
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
