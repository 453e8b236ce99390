from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spruce.errors import DataCorruptionError
from spruce.storage.objectstore import LocalStore
from spruce.storage.segment import decode_deleted, encode_deleted, encode_segment, read_segment


def test_segment_roundtrip_memory_mapped(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    rng = np.random.default_rng(1)
    vecs = rng.normal(size=(37, 5)).astype(np.float32)
    ids = [f"id{i}" for i in range(37)]
    metas = [{"i": float(i), "tag": ["a", "b"]} if i % 2 else {} for i in range(37)]
    data = encode_segment(ids, vecs, metas)
    assert store.put_if_absent("seg/1.seg", data)
    seg = read_segment(store, "seg/1.seg")
    assert seg.ids == ids
    assert seg.metadata == metas
    np.testing.assert_array_equal(seg.vectors, vecs)
    assert not seg.vectors.flags.writeable  # memory-mapped, read-only
    store.close()


def test_segment_corruption_is_detected(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    vecs = np.ones((4, 3), dtype=np.float32)
    data = bytearray(b"".join(encode_segment(["a", "b", "c", "d"], vecs, [{}, {}, {}, {}])))
    data[-3] ^= 0x10  # inside the metadata section
    store.put_if_absent("seg/1.seg", bytes(data))
    with pytest.raises(DataCorruptionError, match="metadata"):
        read_segment(store, "seg/1.seg")
    store.close()


def test_deletion_bitmap_roundtrip() -> None:
    deleted = np.array([True, False, False, True, True, False, False, False, True, False])
    back = decode_deleted(encode_deleted(deleted), len(deleted), "k")
    np.testing.assert_array_equal(back, deleted)
    with pytest.raises(DataCorruptionError):
        decode_deleted(encode_deleted(deleted), 11, "k")


def test_header_offsets_are_right_whatever_the_header_length(tmp_path: Path) -> None:
    """The header names section offsets that depend on its own length; every length must settle."""
    store = LocalStore(tmp_path)
    for n in range(1, 40):
        ids = ["x" * (n % 7 + 1) + str(i) for i in range(n)]
        vecs = np.full((n, 4), 25.880701065063477, dtype=np.float32)
        key = f"seg/{n}.seg"
        store.put_if_absent(key, encode_segment(ids, vecs, [{"k": "v" * n}] * n))
        seg = read_segment(store, key)
        assert seg.ids == ids
        np.testing.assert_array_equal(seg.vectors, vecs)
    store.close()
