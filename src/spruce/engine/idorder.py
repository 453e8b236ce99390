"""The ids of a namespace's live records in ascending order, for ``list``, kept up to date lazily.

Why lazily: keeping a sorted list current costs a bisect and an insert per written record, and building
it from a loaded segment costs a sort of every id. At open both are pure overhead (about 2 s of a
256 MiB log replay over 1M records went into ``SortedList.add``), and most processes list rarely. So
writes only note what changed, and the order is settled when a list asks for it, or by the maintainer
in the background right after an open (``Maintainer._warm``).

Invariant (checked by the callers, ``Namespace``): an id is added only when it is not live and removed
only when it is. The settled set is ``(sorted | bulk | adds) - removes``, where the adds are disjoint
from ``sorted | bulk`` and the removes are a subset of it.

Threads: writers call ``add``/``remove``/``add_bulk`` under the index's write lock; readers call
``irange`` under its read lock, so several readers may settle at once: ``_mu`` serializes them.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from itertools import chain

from sortedcontainers import SortedList

__all__ = ["IdOrder"]

# settle by rebuilding the whole list (one sort) rather than change by change when the changes are at
# least this fraction of it: a sort of n ids costs about as much as n/8 single inserts
REBUILD_FRACTION = 8


class IdOrder:
    def __init__(self) -> None:
        self._sorted: SortedList = SortedList()
        self._bulk: list[list[str]] = []  # whole id lists (loaded segments), not yet merged in
        self._pending: dict[str, bool] = {}  # id -> True added, False removed, since the last settle
        self._mu = threading.Lock()

    def add_bulk(self, ids: list[str]) -> None:
        """Ids none of which is live (a segment's live rows at open)."""
        if ids:
            self._bulk.append(ids)

    def add(self, rid: str) -> None:
        if self._pending.get(rid) is False:
            del self._pending[rid]  # removed since the last settle and back: as it was
        else:
            self._pending[rid] = True

    def remove(self, rid: str) -> None:
        if self._pending.get(rid) is True:
            del self._pending[rid]  # added since the last settle: never in the list
        else:
            self._pending[rid] = False

    def irange(self, minimum: str, inclusive: tuple[bool, bool]) -> Iterator[str]:
        """Ids from ``minimum`` on, ascending (``SortedList.irange``); settles first."""
        self.settle()
        return self._sorted.irange(minimum=minimum, inclusive=inclusive)  # type: ignore[no-any-return]

    def __len__(self) -> int:
        self.settle()
        return len(self._sorted)

    def settle(self) -> None:
        """Merge every noted change into the sorted list."""
        with self._mu:
            if not self._bulk and not self._pending:
                return
            adds = [rid for rid, added in self._pending.items() if added]
            removes = [rid for rid, added in self._pending.items() if not added]
            if self._bulk or (len(adds) + len(removes)) * REBUILD_FRACTION >= len(self._sorted):
                items = list(chain(self._sorted, *self._bulk, adds))
                if removes:
                    gone = set(removes)
                    items = [rid for rid in items if rid not in gone]
                items.sort()
                fresh = SortedList()
                fresh.update(items)  # (already sorted: the sort inside is one linear pass)
                self._sorted = fresh
            else:
                for rid in removes:
                    self._sorted.remove(rid)
                self._sorted.update(adds)
            self._bulk.clear()
            self._pending.clear()
