"""The metadata of a segment's rows, kept as one JSON object per row in a single buffer.

Why: a Python dict per record is the largest part of a store's memory after its vectors (150,000 records
with three fields take about 60 MB as dicts, about 9 MB packed), parsing them all is most of the time to
open a store, and every dict is one more object for the garbage collector to walk, which it does in pauses
that land on unrelated requests. Filters never read these objects (they use the metadata columns), so a
row's metadata is decoded only when a caller asks for it (fetch, ``include_metadata``, updates).

Persisted form, in a segment (``storage.segment``): the ``metadata`` section is the rows' JSON objects,
each followed by one comma, and the ``metadata_offsets`` section is ``n + 1`` little-endian int64 offsets
into it: row ``r`` is ``metadata[offsets[r] : offsets[r + 1] - 1]`` (``offsets[0] == 0``). The commas make
any run of rows a JSON array once wrapped in brackets, so it decodes in one call.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, overload

import numpy as np
import orjson

from spruce.types import Metadata

__all__ = ["PackedMetadata"]

OffsetArray = np.ndarray[Any, np.dtype[np.int64]]


class PackedMetadata(Sequence[Metadata]):
    """Read-only rows of metadata; indexing decodes one row (a fresh dict, the caller's to keep)."""

    __slots__ = ("_blob", "_offsets")

    def __init__(self, offsets: OffsetArray, blob: bytes | memoryview) -> None:
        self._offsets = offsets
        self._blob: bytes | memoryview = blob if isinstance(blob, bytes) else memoryview(blob).cast("B")

    @classmethod
    def gather(
        cls, parts: Iterable[tuple[Sequence[Metadata], OffsetArray | Sequence[int]]]
    ) -> PackedMetadata:
        """The given rows of the given sources, in the order given: packed sources hand over their bytes
        as they are (each run of consecutive ascending rows as one slice, without a per-row loop: a merge
        carries a whole segment over), others (a memtable's dicts) are encoded."""
        pieces: list[bytes | memoryview] = []
        lengths: list[np.ndarray[Any, np.dtype[np.int64]]] = []
        for source, rows in parts:
            if not len(rows):
                continue
            if isinstance(source, PackedMetadata):
                # one slice per run of consecutive rows (a merge skips only the few dead ones)
                picked = np.asarray(rows, dtype=np.int64)
                cuts = np.flatnonzero(np.diff(picked) != 1) + 1
                offsets, blob = source._offsets, memoryview(source._blob)
                firsts, lasts = picked[np.r_[0, cuts]].tolist(), picked[np.r_[cuts - 1, -1]].tolist()
                for lo, last in zip(firsts, lasts, strict=True):
                    pieces.append(blob[int(offsets[lo]) : int(offsets[last + 1])])
                    lengths.append(np.diff(offsets[lo : last + 2]).astype(np.int64))
                continue
            run = [orjson.dumps(source[r]) + b"," for r in rows]
            pieces += run
            lengths.append(np.fromiter(map(len, run), dtype=np.int64, count=len(run)))
        sizes = np.concatenate(lengths) if lengths else np.zeros(0, dtype=np.int64)
        offsets = np.zeros(len(sizes) + 1, dtype=np.int64)
        np.cumsum(sizes, out=offsets[1:])
        return cls(offsets, b"".join(pieces))

    def __len__(self) -> int:
        return len(self._offsets) - 1

    @overload
    def __getitem__(self, row: int) -> Metadata: ...

    @overload
    def __getitem__(self, row: slice) -> list[Metadata]: ...

    def __getitem__(self, row: int | slice) -> Metadata | list[Metadata]:
        if isinstance(row, slice):
            rows = range(len(self))[row]
            if not rows:
                return []
            if rows.step != 1:
                return [self[r] for r in rows]
            lo, hi = int(self._offsets[rows.start]), int(self._offsets[rows.stop])
            decoded: list[Metadata] = orjson.loads(b"[" + self._blob[lo : hi - 1] + b"]")
            return decoded
        if row < 0:
            row += len(self)
        meta: Metadata = orjson.loads(self.raw(row))
        return meta

    def raw(self, row: int, *, comma: bool = False) -> memoryview:
        """Row ``row``'s JSON bytes (with the comma that follows it, if asked)."""
        end = int(self._offsets[row + 1]) - (0 if comma else 1)
        return memoryview(self._blob)[int(self._offsets[row]) : end]

    def parts(self) -> tuple[memoryview, memoryview]:
        """(offsets, blob) as the bytes of the ``metadata_offsets`` and ``metadata`` sections."""
        offsets = np.ascontiguousarray(self._offsets, dtype="<i8")
        return offsets.data.cast("B"), memoryview(self._blob).cast("B")
