"""One namespace's records: blocks (segments, frozen memtables, the memtable), an id -> (block, row) map,
and a sorted id list for listing.

The map stores each location as one int, ``slot << 32 | row``, where ``slot`` names a block in ``_blocks``
(slots are never reused). A dict of str -> int holds no object the garbage collector must walk, so CPython
stops tracking it; with (Block, row) tuples, a full collection walked a tuple per record, a pause of about
150 ms per million records that landed on whatever request was running.

Every method here is in-memory work; the index layer decides what is logged and holds the locks. Rows
move between blocks only through ``install`` (flush and compaction), which retires the old blocks and
leaves forwarding arrays behind; ``loc`` entries naming a retired block are re-pointed in small steps
(``repoint``) so that no lock is held for long, and ``resolve`` follows the forwarding meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import repeat
from typing import Any

import numpy as np

from spruce import deadline
from spruce.engine.block import Block, Snapshot, pick_rows
from spruce.engine.idorder import IdOrder
from spruce.filter import Filter
from spruce.index import higher_is_better
from spruce.index.sparse import SparseQuery
from spruce.text.analysis import Analyzer
from spruce.text.index import Analyzed
from spruce.types import Metadata, SparseRows, Vector32

__all__ = ["Hit", "Namespace"]

IntArray = np.ndarray[Any, np.dtype[np.int64]]
_ROW_BITS = 32
_ROW_MASK = (1 << _ROW_BITS) - 1


@dataclass(frozen=True, slots=True)
class Hit:
    score: float
    id: str
    block: Block
    row: int


class Namespace:
    def __init__(self, name: str, dim: int, text_fields: Mapping[str, Analyzer] | None = None) -> None:
        self.name = name
        self.dim = dim
        self.text_fields: Mapping[str, Analyzer] = text_fields or {}
        self.segments: list[Block] = []
        self.frozen: list[Block] = []
        self._blocks: dict[int, Block] = {}  # slot -> block, for every block a ``loc`` entry may name
        self._next_slot = 0
        self.memtable = self._register(Block(dim, text_fields=self.text_fields))
        self.loc: dict[str, int] = {}  # id -> slot << 32 | row (see the module docstring)
        self.sorted_ids = IdOrder()
        self._repoint: list[tuple[Block, IntArray]] = []
        self._repointed: list[Block] = []  # retired blocks all re-pointed, awaiting ``drop_retired``

    @property
    def blocks(self) -> list[Block]:
        return [*self.segments, *self.frozen, self.memtable]

    @property
    def count(self) -> int:
        return len(self.loc)

    @property
    def pending_deletions(self) -> int:
        """Dead rows still stored in segments (purged by compaction); not rows a move took elsewhere."""
        return sum(b.n - b.n_alive - b.moved for b in self.segments)

    # ------------------------------------------------------------ loading and moving rows

    def _register(self, block: Block) -> Block:
        """Give ``block`` a slot, so that ``loc`` entries can name it."""
        block.slot = self._next_slot
        self._blocks[block.slot] = block
        self._next_slot += 1
        return block

    def add_segment(self, block: Block) -> None:
        """Attach a segment loaded from disk; its live rows become visible."""
        self.segments.append(self._register(block))
        live = block.live_rows()
        ids = block.ids
        live_ids = [ids[row] for row in live.tolist()]
        self.loc.update(zip(live_ids, ((live + (block.slot << _ROW_BITS)).tolist()), strict=True))
        self.sorted_ids.add_bulk(live_ids)

    def freeze(self, lsn: int) -> Block | None:
        """Retire the memtable into the frozen list (to be flushed) and start a new one."""
        mem = self.memtable
        if mem.n == 0:
            return None
        mem.freeze_lsn = lsn
        self.frozen.append(mem)
        self.memtable = self._register(Block(self.dim, text_fields=self.text_fields))
        return mem

    def install(
        self, old: list[Block], sources: list[IntArray], new: Block, *, moved_from: Block | None = None
    ) -> None:
        """Replace ``old`` blocks by ``new``, built from rows ``sources[i]`` of ``old[i]`` in order.

        Rows that died since ``new`` was built are dead in it too; the old blocks forward to it.
        ``moved_from`` (one of ``old``) gave only part of its rows: it stays, those rows dead in it (a
        *move*: neither the count nor the id list changes) and forwarded to ``new`` until re-pointed.
        A forwarding entry of -1 means "not moved, still here": only rows with an id-map entry are ever
        followed, and in a retired block those are exactly the rows carried over.
        """
        self._register(new)
        offset = 0
        alive_parts = []
        for block, rows in zip(old, sources, strict=True):
            mapping = np.full(block.n, -1, dtype=np.int64)
            mapping[rows] = np.arange(offset, offset + len(rows), dtype=np.int64)
            offset += len(rows)
            block.forward = (new, mapping)
            alive_parts.append(block.alive[rows])
            self._repoint.append((block, rows))
        if offset:
            new.set_alive(np.concatenate(alive_parts))
        if moved_from is not None:
            alive_before = moved_from.n_alive
            moved_from.kill(sources[next(i for i, b in enumerate(old) if b is moved_from)].tolist())
            moved_from.moved += alive_before - moved_from.n_alive
        kept = [moved_from] if moved_from is not None else []
        self.segments = [b for b in self.segments if all(b is not o for o in old) or b in kept]
        self.frozen = [b for b in self.frozen if all(b is not o for o in old)]
        if new.n_alive:
            self.segments.append(new)

    def repoint(self, budget: int) -> bool:
        """Re-point up to ``budget`` loc entries away from retired blocks; True while work remains.

        Needs ``rw`` exclusively, not ``write_mu``: writers only read ``loc`` before taking ``rw``, and an
        entry is valid before and after it is re-pointed. A retired block whose entries are all re-pointed
        keeps its slot until ``drop_retired`` (under ``write_mu``), since a writer may still hold a code
        naming it."""
        while self._repoint and budget > 0:
            block, rows = self._repoint[-1]
            take, rest = rows[:budget], rows[budget:]
            # One step is vectorised but for the dict itself (``map``/``update`` iterate in C): it runs with
            # ``rw`` held exclusively, and a Python loop per entry held it 4-7 ms per 4,096 entries.
            ids = pick_rows(block.ids, take)
            to, moved = self._follow_rows(block, take)
            now = np.fromiter(map(self.loc.get, ids, repeat(-1)), dtype=np.int64, count=len(ids))
            here = np.flatnonzero(now == take + (block.slot << _ROW_BITS))  # not deleted or replaced since
            codes = (moved[here] + (to.slot << _ROW_BITS)).tolist()
            self.loc.update(zip(pick_rows(ids, here), codes, strict=True))
            budget -= len(take)
            if len(rest):
                self._repoint[-1] = (block, rest)
            else:
                self._repoint.pop()
                if any(block is b for b in self.segments):
                    block.forward = None  # a move's source: it stays, its moved rows all re-pointed
                else:
                    self._repointed.append(block)
        return bool(self._repoint)

    def drop_retired(self) -> None:
        """Free the slots of retired blocks that no entry names any more (none can: rows that were not
        carried over were dead, and dead rows have no entry). Caller holds ``write_mu`` and ``rw``."""
        for block in self._repointed:
            self._blocks.pop(block.slot, None)
        self._repointed.clear()

    @staticmethod
    def _follow(block: Block, row: int) -> tuple[Block, int]:
        while block.forward is not None:
            nxt, mapping = block.forward
            to = int(mapping[row])
            if to < 0:  # a row a move left where it was (``install``)
                break
            block, row = nxt, to
        return block, row

    @staticmethod
    def _follow_rows(block: Block, rows: IntArray) -> tuple[Block, IntArray]:
        """``_follow`` for many rows of one block (all carried over, so they forward alike)."""
        while block.forward is not None:
            nxt, mapping = block.forward
            rows = mapping[rows]
            block = nxt
        return block, rows

    def resolve(self, rid: str) -> tuple[Block, int] | None:
        code = self.loc.get(rid)
        if code is None:
            return None
        block, row = self._blocks[code >> _ROW_BITS], code & _ROW_MASK
        return self._follow(block, row) if block.forward is not None else (block, row)

    # ------------------------------------------------------------ writes (already logged)

    def _kill(self, ids: list[str]) -> list[bool]:
        """Kill the live records among ``ids``; for each id, whether it was live. One ``Block.kill`` (a
        copy of its liveness) per block touched, not per record. (Written out, not through ``resolve``:
        replay at open runs this once per replayed record.)"""
        was_live: list[bool] = []
        rows: dict[int, tuple[Block, list[int]]] = {}
        pop, blocks = self.loc.pop, self._blocks
        for rid in ids:
            code = pop(rid, None)
            if code is None:
                was_live.append(False)
                continue
            was_live.append(True)
            block, row = blocks[code >> _ROW_BITS], code & _ROW_MASK
            if block.forward is not None:
                block, row = self._follow(block, row)
            entry = rows.get(id(block))
            if entry is None:
                rows[id(block)] = (block, [row])
            else:
                entry[1].append(row)
        for block, dead in rows.values():
            block.kill(dead)
        return was_live

    def upsert(
        self,
        ids: list[str],
        vectors: Vector32,
        metadata: list[Metadata],
        sparse: SparseRows | None = None,
        analyzed: Mapping[str, list[Analyzed | None]] | None = None,
    ) -> None:
        add = self.sorted_ids.add
        for rid, was_live in zip(ids, self._kill(ids), strict=True):
            if not was_live:
                add(rid)
        start = self.memtable.append(ids, vectors, metadata, sparse, analyzed)
        base = (self.memtable.slot << _ROW_BITS) + start
        self.loc.update(zip(ids, range(base, base + len(ids)), strict=True))

    def delete(self, ids: list[str]) -> None:
        remove = self.sorted_ids.remove
        for rid, was_live in zip(ids, self._kill(ids), strict=True):
            if was_live:
                remove(rid)

    def patched(
        self, ids: list[str], patch: Metadata
    ) -> tuple[list[str], Vector32, list[Metadata], SparseRows | None]:
        """The live records among ``ids`` with ``patch`` merged into their metadata (to log as an upsert,
        whole: values and sparse values too)."""
        present = [rid for rid in ids if rid in self.loc]
        vectors = np.empty((len(present), self.dim), dtype=np.float32)
        sparse = []
        for i, rid in enumerate(present):
            vectors[i] = self.values_of(rid)
            sparse.append(self.sparse_of(rid))
        has_sparse = any(len(sp[0]) for sp in sparse)
        return (
            present,
            vectors,
            [{**self.metadata_of(rid), **patch} for rid in present],
            SparseRows.from_rows(sparse) if has_sparse else None,
        )

    # ------------------------------------------------------------ reads

    def locate(self, rid: str) -> tuple[Block, int]:
        cur = self.resolve(rid)
        if cur is None:
            raise KeyError(rid)
        return cur

    def values_of(self, rid: str) -> Vector32:
        block, row = self.locate(rid)
        row_values: Vector32 = block.vectors[row]
        return row_values

    def sparse_of(self, rid: str) -> tuple[Any, Any]:
        """The record's sparse indices and values (empty arrays when it has none)."""
        block, row = self.locate(rid)
        return block.sparse_rows().row(row)

    def metadata_of(self, rid: str) -> Metadata:
        block, row = self.locate(rid)
        return block.metadata[row]

    def matching_ids(self, flt: Filter | None) -> list[str]:
        out: list[str] = []
        for block in self.blocks:
            deadline.check()
            ids = block.ids
            out.extend(ids[r] for r in np.flatnonzero(block.matching(flt)).tolist())
        return out

    def page_matching(self, flt: Filter | None, after: str | None, limit: int) -> tuple[list[str], bool]:
        """Up to ``limit`` ids of live records passing ``flt``, after ``after``, ascending, and whether
        more follow (a fetch by filter's page)."""
        ids = sorted(rid for rid in self.matching_ids(flt) if after is None or rid > after)
        return ids[:limit], len(ids) > limit

    def count_matching(self, flt: Filter | None) -> int:
        if flt is None or flt.is_empty:
            return self.count
        return sum(int(block.matching(flt).sum()) for block in self.blocks)

    def snapshot(self) -> list[tuple[Block, Snapshot]]:
        """Every block as it is now (caller holds ``rw``), for ``search`` to read after releasing it: so a
        query holds the index lock for microseconds, and writers never wait for a slow search."""
        return [(block, block.snapshot()) for block in self.blocks]

    def search(
        self,
        q: Vector32 | None,
        k: int,
        metric: str,
        flt: Filter | None,
        ef: int,
        at: list[tuple[Block, Snapshot]] | None = None,
        sparse: SparseQuery | None = None,
    ) -> list[Hit]:
        """Top-k over every block (as of the snapshot ``at``, default now), best first, ties broken by
        ascending id. ``q`` ``None``: by ``sparse`` alone (a sparse index); both: hybrid."""
        hits: list[Hit] = []
        for block, state in self.snapshot() if at is None else at:
            deadline.check()
            if state.n_alive == 0:
                continue
            rows, scores = block.search(q, k, metric, flt, ef, state, sparse)
            hits.extend(
                Hit(s, block.ids[r], block, r) for r, s in zip(rows.tolist(), scores.tolist(), strict=True)
            )
        sign = -1.0 if higher_is_better(metric) else 1.0
        hits.sort(key=lambda h: (sign * h.score, h.id))
        return hits[:k]

    def list_ids(self, prefix: str, after: str | None, limit: int) -> tuple[list[str], bool]:
        """Up to ``limit`` ids with ``prefix`` after ``after``, ascending, and whether more follow."""
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
