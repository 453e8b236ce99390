"""Immutable segment objects: the flushed records of one namespace, and their deletion bitmaps.

Segment object ``indexes/<uid>/seg/<number:012d>.seg``, little-endian::

    offset  size  field
    0       8     magic b"SPRSEG\\x00\\x01"
    8       4     H = header length
    12      4     CRC-32 of the header
    16      H     header JSON: {"rows": n, "dim": d,
                                "sections": {"vectors": [off, len, crc], "ids": [...], "metadata": [...],
                                             "metadata_offsets": [...], "columns": [...],
                                             "clusters": [...]}}
    ...           sections at their absolute offsets, each 64-byte aligned (so they can be memory-mapped):
                  ``vectors``: n x d float32, row-major. ``ids``: JSON array of the n ids. ``metadata``
                  and ``metadata_offsets``: the n metadata objects (numbers already float64, nulls
                  dropped) packed one per row as described in ``storage.packedmeta``; segments written
                  before that have no ``metadata_offsets`` and a JSON array of the n objects instead.
                  ``columns`` (optional; absent in segments written before it existed, which then build
                  their columns from ``metadata`` on open): the metadata columns and their values in the
                  persisted form of ``spruce.filter.columns``. ``clusters`` (optional; only in a large
                  segment written without a graph, whose rows are then stored in cluster order): the
                  centroids and row ranges in the persisted form of ``spruce.index.clusters``.
                  ``sparse_indptr``, ``sparse_indices``, ``sparse_values`` (only when some row has
                  sparse values): the rows' sparse parts in compressed-row form (``types.SparseRows``),
                  int64 x (n + 1), uint32 x nnz, float32 x nnz. ``sparse_postings`` (with them): their
                  inverted index in the persisted form of ``spruce.index.sparse``. ``text:<field>``
                  (one per full-text field of a document index): the field's full-text postings in the
                  persisted form of ``spruce.text.index``.

Every section is checked against its CRC-32 on load. A failing *primary* section (vectors, ids, metadata,
sparse rows) is data loss and raises ``DataCorruptionError``; a failing *derived* one (``DERIVED``: columns,
clusters, postings, each rebuilt from the primary sections) is left out and named in
``SegmentContents.damaged``, so the caller rebuilds it. Records in a segment are all live when it is written;
later deletions go to a deletion bitmap object ``indexes/<uid>/del/<segment>.<manifest version>``: a
``framing`` frame (magic ``SPRD``, sequence = rows) whose payload is ``numpy.packbits`` of the deleted flags
(bit order big, row 0 first). The manifest names the bitmap that is current for each segment.
"""

from __future__ import annotations

import mmap
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from spruce.errors import DataCorruptionError, NotFoundError
from spruce.storage.checksum import crc32
from spruce.storage.framing import CorruptFrame, frame, unframe
from spruce.storage.objectstore import ObjectStore
from spruce.storage.packedmeta import PackedMetadata
from spruce.types import Metadata, SparseRows, Vector32, le_bytes

__all__ = ["SegmentContents", "decode_deleted", "encode_deleted", "encode_segment", "read_segment"]

MAGIC = b"SPRSEG\x00\x01"
DERIVED = ("columns", "clusters", "sparse_postings")  # and every ``text:<field>``
_PRE = struct.Struct("<8sII")
_ALIGN = 64
DEL_MAGIC = b"SPRD"


@dataclass(frozen=True, slots=True)
class SegmentContents:
    ids: list[str]
    vectors: Vector32
    metadata: Sequence[Metadata]  # a PackedMetadata, or a list for segments written before it
    columns: memoryview | None = None  # the persisted metadata columns, when the segment has them
    clusters: memoryview | None = None  # the persisted coarse clusters, when the segment has them
    sparse: SparseRows | None = None  # the rows' sparse values, when any row has some
    postings: memoryview | None = None  # their persisted inverted index
    text: dict[str, memoryview] = field(default_factory=dict)  # full-text postings, by field
    mapping: mmap.mmap | None = None  # the memory map the views above read, when there is one
    vectors_at: tuple[int, int] = (0, 0)  # offset and length of the vectors section
    damaged: list[str] = field(default_factory=list)  # derived sections left out: they failed their CRC

    def drop_vector_pages(self, first_row: int = 0, rows: int | None = None) -> None:
        """Unmap the vectors' pages (all, or those of ``rows`` rows from ``first_row``) from this process
        once they have been read or copied elsewhere (into a graph's storage). The map stays valid, since
        metadata and columns are read through it, but the touched vector pages would otherwise count in
        the RSS as long as the segment is open. They come back from the page cache if touched again."""
        if self.mapping is None or not hasattr(mmap, "MADV_DONTNEED"):
            return
        off, length = self.vectors_at
        row_bytes = self.vectors.shape[1] * 4
        end = off + length if rows is None else min(off + length, off + (first_row + rows) * row_bytes)
        begin = off + first_row * row_bytes
        start = begin - begin % mmap.PAGESIZE  # (a page shared with a neighbour just comes back if read)
        if end > start:
            self.mapping.madvise(mmap.MADV_DONTNEED, start, end - start)


def _pad(n: int) -> int:
    return (-n) % _ALIGN


def encode_segment(
    ids: Sequence[str],
    vectors: Vector32,
    metadata: Sequence[Metadata],
    columns: list[bytes | memoryview] | None = None,
    clusters: list[bytes | memoryview] | None = None,
    sparse: SparseRows | None = None,
    postings: list[bytes | memoryview] | None = None,
    text: dict[str, list[bytes | memoryview]] | None = None,
) -> list[bytes | memoryview]:
    """The segment object as parts to be written in order (``ObjectStore.put_if_absent`` takes them):
    the vectors and columns are views of their arrays, so a large segment is never assembled in memory.
    ``columns``: the parts of ``MetadataColumns.to_parts()`` for these rows, if any; ``clusters``: those of
    ``Clusters.to_parts()``, if the rows are stored in cluster order; ``sparse`` and ``postings`` (the
    parts of ``Postings.to_parts()``), if the rows have sparse values; ``text``: the parts of each
    full-text field's ``TextPostings.to_parts()``, by field name."""
    rows, dim = vectors.shape
    vec = le_bytes(vectors, "<f4")  # a view: no copy of the vectors
    packed = (
        metadata
        if isinstance(metadata, PackedMetadata)
        else PackedMetadata.gather([(metadata, range(len(metadata)))])
    )
    offsets_b, metadata_b = packed.parts()
    blobs: list[tuple[str, list[bytes | memoryview]]] = [
        ("vectors", [vec]),
        ("ids", [orjson.dumps(ids)]),
        ("metadata", [metadata_b]),
        ("metadata_offsets", [offsets_b]),
    ]
    if columns is not None:
        blobs.append(("columns", columns))
    if clusters is not None:
        blobs.append(("clusters", clusters))
    if sparse is not None:
        blobs.append(("sparse_indptr", [le_bytes(sparse.indptr, "<i8")]))
        blobs.append(("sparse_indices", [le_bytes(sparse.indices[: sparse.nnz], "<u4")]))
        blobs.append(("sparse_values", [le_bytes(sparse.values[: sparse.nnz], "<f4")]))
        if postings is not None:
            blobs.append(("sparse_postings", postings))
    for name, parts in (text or {}).items():
        blobs.append((f"text:{name}", parts))
    sizes = {name: sum(len(p) for p in parts) for name, parts in blobs}
    crcs = {}
    for name, parts in blobs:
        crc = 0
        for part in parts:
            crc = crc32(part, crc)
        crcs[name] = crc
    # The header's length decides where the sections start, and the header names those offsets: repeat
    # until it stops changing (offsets only grow, so this settles within a few rounds).
    sections: dict[str, list[int]] = {}
    header = b""
    while True:
        pos = _PRE.size + len(header)
        pos += _pad(pos)
        sections = {}
        for name, _ in blobs:
            sections[name] = [pos, sizes[name], crcs[name]]
            pos += sizes[name]
            pos += _pad(pos)
        new_header = orjson.dumps({"rows": rows, "dim": dim, "sections": sections})
        if new_header == header:
            break
        header = new_header
    out: list[bytes | memoryview] = [_PRE.pack(MAGIC, len(header), crc32(header)) + header]
    size = len(out[0])
    for name, parts in blobs:
        out.append(b"\x00" * _pad(size))
        size += _pad(size) + sizes[name]
        out += parts
    return out


def _section(buf: Any, sec: list[int], name: str, key: str) -> memoryview:
    off, length, crc = sec
    view = memoryview(buf)[off : off + length]
    if len(view) != length or crc32(view) != crc:
        raise DataCorruptionError(f"segment {key}: section {name} is corrupt")
    return view


def read_segment(store: ObjectStore, key: str) -> SegmentContents:
    """Load a segment; its vectors are memory-mapped where the backend has a local file."""
    path = store.local_path(key)
    buf: Any
    try:
        if path is not None:
            with open(path, "rb") as f:
                empty = not os.fstat(f.fileno()).st_size  # (mmap refuses an empty file)
                buf = b"" if empty else mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
        else:
            buf = store.get(key)
    except (FileNotFoundError, NotFoundError):
        raise DataCorruptionError(f"segment {key} is missing") from None
    if len(buf) < _PRE.size:
        raise DataCorruptionError(f"segment {key} is truncated")
    magic, hlen, hcrc = _PRE.unpack_from(buf)
    header_b = bytes(buf[_PRE.size : _PRE.size + hlen])
    if magic != MAGIC or crc32(header_b) != hcrc:
        raise DataCorruptionError(f"segment {key} has a corrupt header")
    header = orjson.loads(header_b)
    rows, dim, secs = header["rows"], header["dim"], header["sections"]
    vec_view = _section(buf, secs["vectors"], "vectors", key)
    vectors = np.frombuffer(vec_view, dtype="<f4").reshape(rows, dim)
    ids = orjson.loads(_section(buf, secs["ids"], "ids", key))
    meta_view = _section(buf, secs["metadata"], "metadata", key)
    metadata: Sequence[Metadata]
    if "metadata_offsets" in secs:
        offsets = np.frombuffer(_section(buf, secs["metadata_offsets"], "metadata_offsets", key), dtype="<i8")
        if len(offsets) != rows + 1 or offsets[0] != 0 or offsets[-1] != len(meta_view):
            raise DataCorruptionError(f"segment {key}: metadata offsets do not fit the metadata")
        metadata = PackedMetadata(offsets.astype(np.int64, copy=False), meta_view)
    else:
        metadata = orjson.loads(meta_view)
    if len(ids) != rows or len(metadata) != rows:
        raise DataCorruptionError(f"segment {key}: row counts disagree")
    damaged: list[str] = []

    def derived(name: str) -> memoryview | None:
        if name not in secs:
            return None
        try:
            return _section(buf, secs[name], name, key)
        except DataCorruptionError:
            damaged.append(name)
            return None

    columns = derived("columns")
    clusters = derived("clusters")
    sparse = None
    if "sparse_indptr" in secs:
        indptr = np.frombuffer(_section(buf, secs["sparse_indptr"], "sparse_indptr", key), dtype="<i8")
        indices = np.frombuffer(_section(buf, secs["sparse_indices"], "sparse_indices", key), dtype="<u4")
        values = np.frombuffer(_section(buf, secs["sparse_values"], "sparse_values", key), dtype="<f4")
        if (
            len(indptr) != rows + 1
            or indptr[0] != 0
            or indptr[-1] != len(indices)
            or len(values) != len(indices)
            or np.any(np.diff(indptr) < 0)
        ):
            raise DataCorruptionError(f"segment {key}: sparse sections do not fit the rows")
        sparse = SparseRows(
            indptr.astype(np.int64, copy=False),
            indices.astype(np.uint32, copy=False),
            values.astype(np.float32, copy=False),
        )
    postings = derived("sparse_postings")
    text = {}
    for name in secs:
        if name.startswith("text:") and (view := derived(name)) is not None:
            text[name.removeprefix("text:")] = view
    return SegmentContents(
        ids=ids,
        vectors=vectors,
        metadata=metadata,
        columns=columns,
        clusters=clusters,
        sparse=sparse,
        postings=postings,
        text=text,
        mapping=buf if isinstance(buf, mmap.mmap) else None,
        vectors_at=(secs["vectors"][0], secs["vectors"][1]),
        damaged=damaged,
    )


def encode_deleted(deleted: np.ndarray[Any, np.dtype[np.bool_]]) -> bytes:
    return frame(DEL_MAGIC, len(deleted), np.packbits(deleted).tobytes())


def decode_deleted(data: bytes, rows: int, key: str) -> np.ndarray[Any, np.dtype[np.bool_]]:
    try:
        n, payload = unframe(data, DEL_MAGIC)
    except CorruptFrame as exc:
        raise DataCorruptionError(f"deletion bitmap {key} is corrupt: {exc}") from exc
    if n != rows:
        raise DataCorruptionError(f"deletion bitmap {key} has {n} rows, segment has {rows}")
    if len(payload) != (rows + 7) // 8:  # (np.unpackbits would make up the missing bits, not even zeros)
        raise DataCorruptionError(f"deletion bitmap {key} holds {len(payload)} bytes for {rows} rows")
    bits = np.unpackbits(np.frombuffer(payload, dtype=np.uint8), count=rows)
    return bits.astype(bool)
