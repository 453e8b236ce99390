"""One namespace's records: blocks (segments, then the memtable), an id -> row map, and a sorted id list.

Every method here is pure in-memory work; the index layer decides what is logged and holds the locks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sortedcontainers import SortedList

from spruce.engine.block import Block
from spruce.filter import Filter
from spruce.index import exact_scores, higher_is_better, top_candidates
from spruce.types import Metadata, Vector32

__all__ = ["Hit", "Namespace"]


@dataclass(frozen=True, slots=True)
class Hit:
    score: float
    id: str
    block: Block
    row: int


class Namespace:
    def __init__(self, name: str, dim: int) -> None:
        self.name = name
        self.dim = dim
        self.segments: list[Block] = []
        self.memtable = Block(dim)
        self.loc: dict[str, tuple[Block, int]] = {}
        self.sorted_ids: SortedList = SortedList()

    @property
    def blocks(self) -> list[Block]:
        return [*self.segments, self.memtable]

    @property
    def count(self) -> int:
        return len(self.loc)

    # ------------------------------------------------------------ loading

    def add_segment(self, block: Block, *, new_ids: bool = True) -> None:
        """Attach a segment: one loaded from disk (``new_ids``) or the flushed memtable's live rows (whose
        ids are already known, so only their locations move)."""
        self.segments.append(block)
        ids = block.ids
        live = [ids[row] for row in block.live_rows().tolist()]
        for row in block.live_rows().tolist():
            self.loc[ids[row]] = (block, row)
        if new_ids:
            self.sorted_ids.update(live)

    # ------------------------------------------------------------ writes (already logged)

    def _kill(self, rid: str) -> bool:
        old = self.loc.pop(rid, None)
        if old is None:
            return False
        old[0].kill((old[1],))
        return True

    def upsert(self, ids: list[str], vectors: Vector32, metadata: list[Metadata]) -> None:
        for rid in ids:
            if not self._kill(rid):
                self.sorted_ids.add(rid)
        start = self.memtable.append(ids, vectors, metadata)
        mem = self.memtable
        for i, rid in enumerate(ids):
            self.loc[rid] = (mem, start + i)

    def delete(self, ids: list[str]) -> None:
        for rid in ids:
            if self._kill(rid):
                self.sorted_ids.remove(rid)

    def set_metadata(self, ids: list[str], patch: Metadata) -> None:
        """Merge ``patch`` into each record's metadata (copy-on-write: new rows, old ones die)."""
        present = [rid for rid in ids if rid in self.loc]
        if not present:
            return
        vectors = np.stack([self.values_of(rid) for rid in present]).astype(np.float32)
        metas = [{**self.loc[rid][0].metadata[self.loc[rid][1]], **patch} for rid in present]
        self.upsert(present, vectors, metas)

    # ------------------------------------------------------------ reads

    def values_of(self, rid: str) -> Vector32:
        block, row = self.loc[rid]
        row_values: Vector32 = block.vectors[row]
        return row_values

    def metadata_of(self, rid: str) -> Metadata:
        block, row = self.loc[rid]
        return block.metadata[row]

    def matching_ids(self, flt: Filter | None) -> list[str]:
        out: list[str] = []
        for block in self.blocks:
            ids = block.ids
            out.extend(ids[r] for r in np.flatnonzero(block.matching(flt)).tolist())
        return out

    def count_matching(self, flt: Filter | None) -> int:
        if flt is None or flt.is_empty:
            return self.count
        return sum(int(block.matching(flt).sum()) for block in self.blocks)

    def search(self, q: Vector32, k: int, metric: str, flt: Filter | None) -> list[Hit]:
        """Exact top-k over every block, best first, ties broken by ascending id."""
        hits: list[Hit] = []
        for block in self.blocks:
            if block.n_alive == 0:
                continue
            mask = block.matching(flt)
            rows: np.ndarray[Any, np.dtype[np.int64]] | None
            if mask.all():
                rows = None
            else:
                rows = np.flatnonzero(mask).astype(np.int64)
                if len(rows) == 0:
                    continue
            scores = exact_scores(block.vectors, block.sq_norms, q, metric, rows)
            for pos in top_candidates(scores, k, metric).tolist():
                row = pos if rows is None else int(rows[pos])
                hits.append(Hit(float(scores[pos]), block.ids[row], block, row))
        sign = -1.0 if higher_is_better(metric) else 1.0
        hits.sort(key=lambda h: (sign * h.score, h.id))
        return hits[:k]

    def list_ids(self, prefix: str, after: str | None, limit: int) -> tuple[list[str], bool]:
        """Up to ``limit`` ids with ``prefix`` strictly after ``after``, ascending, and whether more follow."""
        lo = prefix if after is None or after < prefix else after
        out: list[str] = []
        for rid in self.sorted_ids.irange(minimum=lo, inclusive=(after is None or after < prefix, True)):
            if not rid.startswith(prefix):
                break
            if after is not None and rid <= after:
                continue
            if len(out) == limit:
                return out, True
            out.append(rid)
        return out, False
