from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import orjson
import pytest

from spruce.errors import DataCorruptionError
from spruce.index.sparse import Postings
from spruce.storage.objectstore import LocalStore
from spruce.storage.segment import decode_deleted, encode_deleted, encode_segment, read_segment
from spruce.types import SparseRows


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
    assert list(seg.metadata) == metas
    assert seg.metadata[3:11] == metas[3:11] and seg.metadata[-1] == metas[-1] and seg.metadata[5:5] == []
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


def test_segments_written_before_packed_metadata_still_read(tmp_path: Path) -> None:
    """The first segment format: ``metadata`` a JSON array, no ``metadata_offsets``, no ``columns``."""
    vecs = np.arange(6, dtype=np.float32).reshape(2, 3)
    metas = [{"g": "a", "n": 1.0}, {}]
    blobs = [vecs.tobytes(), orjson.dumps(["a", "b"]), orjson.dumps(metas)]
    start = 4096  # sections at fixed 64-byte aligned offsets, after a header that fits before them
    sections, pos = {}, start
    for name, blob in zip(("vectors", "ids", "metadata"), blobs, strict=True):
        sections[name] = [pos, len(blob), zlib.crc32(blob)]
        pos += len(blob) + (-len(blob)) % 64
    header = orjson.dumps({"rows": 2, "dim": 3, "sections": sections})
    out = bytearray(struct.pack("<8sII", b"SPRSEG\x00\x01", len(header), zlib.crc32(header)) + header)
    for (off, _, _), blob in zip(sections.values(), blobs, strict=True):
        out += bytes(off - len(out)) + blob
    store = LocalStore(tmp_path)
    store.put_if_absent("seg/old.seg", bytes(out))
    seg = read_segment(store, "seg/old.seg")
    assert seg.ids == ["a", "b"] and list(seg.metadata) == metas and seg.columns is None
    np.testing.assert_array_equal(seg.vectors, vecs)
    store.close()


def _sparse_rows() -> SparseRows:
    return SparseRows.from_rows(
        [
            (np.array([4, 1], dtype=np.uint32), np.array([0.5, 2.0], dtype=np.float32)),
            None,
            (np.array([1, 9, 3], dtype=np.uint32), np.array([1.0, -3.0, 0.25], dtype=np.float32)),
        ]
    )


@pytest.mark.parametrize("dim", [0, 2])
def test_sparse_sections_roundtrip(tmp_path: Path, dim: int) -> None:
    """A sparse index's segment (no dense values) and a hybrid one: rows and postings read back."""
    store = LocalStore(tmp_path)
    sparse = _sparse_rows()
    postings = Postings.build(sparse)
    vecs = np.ones((3, dim), dtype=np.float32)
    store.put_if_absent(
        "seg/1.seg", encode_segment(["a", "b", "c"], vecs, [{}] * 3, None, None, sparse, postings.to_parts())
    )
    seg = read_segment(store, "seg/1.seg")
    assert seg.vectors.shape == (3, dim)
    assert seg.sparse is not None and seg.postings is not None
    np.testing.assert_array_equal(seg.sparse.indptr, sparse.indptr)
    np.testing.assert_array_equal(seg.sparse.indices, sparse.indices)
    np.testing.assert_array_equal(seg.sparse.values, sparse.values)
    back = Postings.from_buffer(seg.postings, 3)
    np.testing.assert_array_equal(back.rows, postings.rows)
    plain = encode_segment(["a"], np.ones((1, 2), dtype=np.float32), [{}])
    store.put_if_absent("seg/2.seg", plain)
    assert read_segment(store, "seg/2.seg").sparse is None  # no sections without sparse values
    store.close()


def test_sparse_section_corruption_is_detected(tmp_path: Path) -> None:
    store = LocalStore(tmp_path)
    sparse = _sparse_rows()
    parts = encode_segment(["a", "b", "c"], np.ones((3, 2), dtype=np.float32), [{}] * 3, None, None, sparse)
    data = bytearray(b"".join(parts))
    header = orjson.loads(data[16 : 16 + struct.unpack_from("<I", data, 8)[0]])
    off = header["sections"]["sparse_values"][0]
    data[off] ^= 0x01
    store.put_if_absent("seg/1.seg", bytes(data))
    with pytest.raises(DataCorruptionError, match="sparse_values"):
        read_segment(store, "seg/1.seg")
    store.close()
