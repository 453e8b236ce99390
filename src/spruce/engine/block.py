"""A block of records of one namespace: the in-memory form of a segment, or the growing memtable.

Rows are append-only and never change in place: an upsert or update appends a new row and marks the old
one dead in ``alive``. Searching a block is a masked scan over its rows; the memtable is simply the one
block that still grows. When the memtable is flushed, its live rows become a segment and a new block.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from spruce.filter import Filter, MetadataColumns
from spruce.types import Metadata, Vector32

__all__ = ["Block"]

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]


class Block:
    """Rows ``0..n`` of ids, float32 vectors, squared norms, metadata, and a liveness mask."""

    def __init__(
        self,
        dim: int,
        *,
        ids: list[str] | None = None,
        vectors: Vector32 | None = None,
        metadata: list[Metadata] | None = None,
        segment_key: str | None = None,
        alive: BoolArray | None = None,
    ) -> None:
        self.dim = dim
        self.segment_key = segment_key
        self.deleted_key: str | None = None
        self.deleted_dirty = False
        self.ids: list[str] = ids if ids is not None else []
        self.metadata: list[Metadata] = metadata if metadata is not None else []
        self.n = len(self.ids)
        if vectors is None:
            vectors = np.empty((16, dim), dtype=np.float32)
        self._vectors = vectors
        self._sq = np.einsum("ij,ij->i", vectors[: self.n], vectors[: self.n], dtype=np.float64)
        self._sq.resize(max(self.n, 16), refcheck=False)
        self._alive = np.ones(max(self.n, 16), dtype=bool) if alive is None else alive.copy()
        self.n_alive = int(self._alive[: self.n].sum())
        self._columns = MetadataColumns()
        self._columns_rows = 0

    # ------------------------------------------------------------ views

    @property
    def vectors(self) -> Vector32:
        return self._vectors[: self.n]

    @property
    def sq_norms(self) -> np.ndarray[Any, np.dtype[np.float64]]:
        sq: np.ndarray[Any, np.dtype[np.float64]] = self._sq[: self.n]
        return sq

    @property
    def alive(self) -> BoolArray:
        return self._alive[: self.n]

    @property
    def columns(self) -> MetadataColumns:
        if self._columns_rows < self.n:
            self._columns.extend(self.metadata[self._columns_rows : self.n])
            self._columns_rows = self.n
        return self._columns

    def matching(self, flt: Filter | None) -> BoolArray:
        """Live rows that pass ``flt`` (all live rows when there is no filter)."""
        if flt is None or flt.is_empty:
            return self.alive
        return self.alive & self.columns.evaluate(flt)

    # ------------------------------------------------------------ mutation

    def _grow(self, need: int) -> None:
        cap = len(self._alive)
        if need <= cap:
            return
        new_cap = max(need, cap * 2)
        vec = np.empty((new_cap, self.dim), dtype=np.float32)
        vec[: self.n] = self._vectors[: self.n]
        self._vectors = vec
        sq = np.empty(new_cap, dtype=np.float64)
        sq[: self.n] = self._sq[: self.n]
        self._sq = sq
        alive = np.zeros(new_cap, dtype=bool)
        alive[: self.n] = self._alive[: self.n]
        self._alive = alive

    def append(self, ids: list[str], vectors: Vector32, metadata: list[Metadata]) -> int:
        """Append live rows; returns the first new row number."""
        start, m = self.n, len(ids)
        self._grow(start + m)
        self._vectors[start : start + m] = vectors
        v64 = vectors.astype(np.float64)
        self._sq[start : start + m] = np.einsum("ij,ij->i", v64, v64)
        self._alive[start : start + m] = True
        self.ids.extend(ids)
        self.metadata.extend(metadata)
        self.n += m
        self.n_alive += m
        return start

    def kill(self, rows: Iterable[int]) -> None:
        for r in rows:
            if self._alive[r]:
                self._alive[r] = False
                self.n_alive -= 1
                self.deleted_dirty = True

    def live_rows(self) -> np.ndarray[Any, np.dtype[np.int64]]:
        return np.flatnonzero(self.alive).astype(np.int64)
