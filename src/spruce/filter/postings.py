"""Inverted postings per metadata field: for each value, the rows that hold it, kept current by appending.

What is indexed
---------------
A :class:`FieldIndex` covers one field and holds three :class:`Postings`, one per value kind, plus the
field's *presence*:

============ ======================= ==================================================================
postings     key                     entries
============ ======================= ==================================================================
``codes``    int32 dictionary code   one per (string, row): scalar strings and list elements together,
                                     a string repeated inside one list counted once
``bools``    uint8 (0 or 1)          one per bool value
``numbers``  float64                 one per number (NaN, which no condition matches, is left out)
``present``  (none: a row array)     every row that has the field, whatever its type, sorted
============ ======================= ==================================================================

A :class:`Postings` is a short list of :class:`Run`\\ s. A run is two aligned arrays, ``keys`` sorted and
``rows`` (int32) sorted within equal keys, so the rows holding value ``v`` are ``rows[lo:hi]`` with
``lo, hi = searchsorted(keys, v, "left"/"right")``: equality, ``$in`` (the operands searched at once, as an
array) and ranges (one ``searchsorted`` per bound) are all a few binary searches per run, and the result is
a set of index spans, never a scan. For numbers the same sorted keys serve equality and ranges alike.

Appending: the logarithmic method
----------------------------------
Rows only ever get appended, so the values appended since the last update form a new run whose rows all
come after every older run's. :meth:`Postings.add` pushes it and then merges the two newest runs while
the older is less than :data:`MERGE_FACTOR` times the newer, so run sizes fall geometrically: at most
``log2(entries) + 1`` runs, and every entry is merged O(log n) times over its life (amortised O(log n) per
appended value). A merge is linear: the two runs are concatenated and stably sorted by key, which numpy's
timsort does in one pass over two sorted runs (radix sort for the uint8 bool keys). A segment, filled in
one call, ends up with exactly one run; the memtable, filled in small batches, with a handful.

Because runs hold disjoint, increasing row ranges, the rows a condition selects come out sorted simply by
concatenating the runs' pieces in order whenever each piece is a single key's span; otherwise (several keys,
or a range over several distinct values) a sort of just the selected rows (or a bool scatter, when they are
many) puts them in order. See :class:`Hits`.

Memory: 8 bytes per string/bool entry (key + row), 12 per number, 4 per present row: about the size of the
columns they index, with no per-value Python objects however many distinct values a field has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

__all__ = [
    "MERGE_FACTOR",
    "SORT_RATIO",
    "FieldIndex",
    "Growable",
    "Hits",
    "Postings",
    "Run",
    "dedupe_sorted",
    "sorted_union",
]

MERGE_FACTOR = 2
"""Merge the two newest runs while the older holds fewer than ``MERGE_FACTOR`` times the newer's entries."""

SORT_RATIO = 4
"""Selected rows are put in order by sorting them when ``count * SORT_RATIO <= rows`` and by a bool
scatter plus ``flatnonzero`` otherwise: numpy's (SIMD) sort beats an O(rows) pass up to about that size."""

ROW_DTYPE = np.int32
RowArray = npt.NDArray[np.int32]
SpanArray = npt.NDArray[np.intp]
KeyArray = npt.NDArray[Any]  # int32 codes, uint8 bools or float64 numbers
Int64Array = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

_S = TypeVar("_S", bound=np.generic)


class Growable(Generic[_S]):
    """An append-only numpy array with doubling capacity, read through a view of its filled prefix."""

    __slots__ = ("_buf", "_len")

    def __init__(self, dtype: type[_S]) -> None:
        self._buf: npt.NDArray[_S] = np.empty(0, dtype=dtype)
        self._len = 0

    @classmethod
    def wrap(cls, array: npt.NDArray[_S]) -> Growable[_S]:
        """A full array over existing memory (e.g. a memory-mapped segment); appending copies it first."""
        out = cls.__new__(cls)
        out._buf, out._len = array, len(array)
        return out

    def __len__(self) -> int:
        return self._len

    def append(self, values: npt.ArrayLike) -> None:
        """Append ``values``; reallocate (to at least twice the capacity) only when full."""
        chunk = np.asarray(values, dtype=self._buf.dtype)
        if chunk.size == 0:
            return  # (a wrapped buffer may be read-only: never write into it, even nothing)
        need = self._len + chunk.size
        if need > self._buf.size:
            grown = np.empty(max(need, 2 * self._buf.size), dtype=self._buf.dtype)
            grown[: self._len] = self._buf[: self._len]
            self._buf = grown
        self._buf[self._len : need] = chunk
        self._len = need

    def view(self) -> npt.NDArray[_S]:
        """The filled prefix, read-only; it stays valid (and unchanged) across later appends."""
        filled = self._buf[: self._len]
        filled.flags.writeable = False
        return filled

    def last(self, default: int) -> int:
        """The last element as an int, or ``default`` when empty (used for CSR end offsets)."""
        return int(self._buf[self._len - 1]) if self._len else default

    @property
    def nbytes(self) -> int:
        """Bytes allocated (capacity, not just the filled prefix)."""
        return int(self._buf.nbytes)


def dedupe_sorted(values: npt.NDArray[_S]) -> npt.NDArray[_S]:
    """Drop repeats from a sorted array (``np.unique`` without its sort, or its hash table in numpy 2.3+)."""
    if values.size < 2:
        return values
    keep = np.empty(values.size, dtype=np.bool_)
    keep[0] = True
    np.not_equal(values[1:], values[:-1], out=keep[1:])
    return values if keep.all() else values[keep]


def sorted_union(
    parts: Sequence[npt.NDArray[np.integer[Any]]], n: int, *, count: int | None = None
) -> Int64Array:
    """The sorted distinct row numbers in ``parts`` (each in ``[0, n)``, any order, repeats allowed)."""
    total = sum(int(part.size) for part in parts) if count is None else count
    if total == 0:
        return np.empty(0, dtype=np.int64)
    if total * SORT_RATIO <= n:
        joined = np.concatenate(parts).astype(np.int64) if len(parts) > 1 else parts[0].astype(np.int64)
        joined.sort()
        return dedupe_sorted(joined)
    mask = np.zeros(n, dtype=np.bool_)
    for part in parts:
        mask[part] = True
    return np.flatnonzero(mask).astype(np.int64, copy=False)


def _spans_to_indices(starts: SpanArray, stops: SpanArray) -> SpanArray:
    """Every index in the half-open spans ``[starts[i], stops[i])``, concatenated in span order, no loop."""
    lengths = stops - starts
    nonempty = lengths > 0
    if not nonempty.all():
        starts, lengths = starts[nonempty], lengths[nonempty]
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths  # where each span starts in the output
    indices: SpanArray = np.arange(total, dtype=np.intp) + np.repeat(starts - offsets, lengths)
    return indices


class Run:
    """Entries sorted by key, then by row; all rows of a run lie after every row of older runs."""

    __slots__ = ("keys", "rows")

    def __init__(self, keys: KeyArray, rows: RowArray) -> None:
        keys.flags.writeable = False
        rows.flags.writeable = False
        self.keys = keys
        self.rows = rows

    @property
    def size(self) -> int:
        return int(self.keys.size)

    @property
    def nbytes(self) -> int:
        return int(self.keys.nbytes + self.rows.nbytes)


def _merge(older: Run, newer: Run) -> Run:
    """One run from two: a stable sort by key keeps the older (smaller) rows first among equal keys."""
    keys = np.concatenate((older.keys, newer.keys))
    order = np.argsort(keys, kind="stable")  # timsort: two sorted runs, merged in one linear pass
    return Run(keys[order], np.concatenate((older.rows, newer.rows))[order])


class Hits:
    """The entries one condition selects: per run, index spans ``[starts, stops)`` into the run's rows.

    ``count`` is the number of entries, an upper bound on the distinct rows (a list holding two of the
    operands counts twice) and exact when ``exact``. ``floor`` is a lower bound on the distinct rows (the
    largest single key's count when entries may repeat a row). ``ordered`` says that concatenating the
    pieces in order already yields strictly increasing rows (each piece is one key's span), so no sort is
    needed.
    """

    __slots__ = ("count", "exact", "floor", "ordered", "pieces")

    def __init__(self) -> None:
        self.pieces: list[tuple[RowArray, SpanArray, SpanArray]] = []
        self.count = 0
        self.floor = 0
        self.exact = True
        self.ordered = True

    def add(self, other: Hits) -> None:
        """Fold in the hits of another key kind (rows of different kinds of one field are disjoint)."""
        if other.count == 0:
            return
        self.ordered = self.count == 0 and other.ordered
        self.pieces.extend(other.pieces)
        self.count += other.count
        self.floor += other.floor
        self.exact = self.exact and other.exact

    def parts(self) -> list[RowArray]:
        """The selected rows, one array per piece (views where a piece is a single span)."""
        out: list[RowArray] = []
        for rows, starts, stops in self.pieces:
            if starts.size == 1:
                out.append(rows[int(starts[0]) : int(stops[0])])
            else:
                out.append(rows[_spans_to_indices(starts, stops)])
        return out

    def sorted_rows(self, n: int) -> Int64Array:
        """The distinct selected rows in increasing order, as int64."""
        if self.count == 0:
            return np.empty(0, dtype=np.int64)
        parts = self.parts()
        if self.ordered:
            return np.concatenate(parts).astype(np.int64) if len(parts) > 1 else parts[0].astype(np.int64)
        return sorted_union(parts, n, count=self.count)

    def scatter(self, mask: BoolArray, value: bool) -> None:
        """Set ``mask[row] = value`` for every selected row."""
        for part in self.parts():
            mask[part] = value


class Postings:
    """(key, row) entries of one kind for one field, as a few runs over increasing row ranges."""

    __slots__ = ("runs", "size")

    def __init__(self) -> None:
        self.runs: list[Run] = []
        self.size = 0

    @property
    def nbytes(self) -> int:
        return sum(run.nbytes for run in self.runs)

    def add(self, keys: KeyArray, rows: RowArray) -> None:
        """Append entries for rows after all current ones (sorted by key, then row), merging runs as due."""
        if keys.size == 0:
            return
        self.runs.append(Run(keys, rows))
        self.size += int(keys.size)
        runs = self.runs
        while len(runs) >= 2 and runs[-2].size < MERGE_FACTOR * runs[-1].size:
            newer = runs.pop()
            runs[-1] = _merge(runs[-1], newer)

    def lookup(self, wanted: KeyArray, *, exact: bool) -> Hits:
        """The entries whose key is one of ``wanted`` (sorted, distinct, of the keys' dtype).

        ``exact`` says entries of different keys never share a row, so ``count`` is a distinct-row count.
        """
        hits = Hits()
        if wanted.size == 0 or not self.runs:
            return hits
        if wanted.size == 1:  # the common equality: scalar searches, no per-key arrays
            key = wanted[0]
            for run in self.runs:
                start = int(run.keys.searchsorted(key, side="left"))
                stop = int(run.keys.searchsorted(key, side="right"))
                if stop > start:
                    hits.pieces.append((run.rows, np.array([start], np.intp), np.array([stop], np.intp)))
                    hits.count += stop - start
            hits.floor = hits.count
            return hits
        per_key = np.zeros(wanted.size, dtype=np.int64)
        for run in self.runs:
            starts = np.searchsorted(run.keys, wanted, side="left")
            stops = np.searchsorted(run.keys, wanted, side="right")
            lengths = stops - starts
            per_key += lengths
            found = lengths > 0
            nonempty = int(np.count_nonzero(found))
            if nonempty == 0:
                continue
            if nonempty < wanted.size:
                starts, stops = starts[found], stops[found]
            hits.pieces.append((run.rows, starts, stops))
            hits.ordered = hits.ordered and nonempty == 1  # runs hold increasing rows: one key each is enough
        hits.count = int(per_key.sum())
        hits.exact = exact or int(np.count_nonzero(per_key)) <= 1
        hits.floor = hits.count if hits.exact else int(per_key.max())
        return hits

    def between(self, low: float, low_inclusive: bool, high: float, high_inclusive: bool) -> Hits:
        """The entries whose (number) key lies between the bounds; one span per run."""
        hits = Hits()
        for run in self.runs:
            keys = run.keys
            start = int(np.searchsorted(keys, low, side="left" if low_inclusive else "right"))
            stop = int(np.searchsorted(keys, high, side="right" if high_inclusive else "left"))
            if stop <= start:
                continue
            hits.pieces.append((run.rows, np.array([start], np.intp), np.array([stop], np.intp)))
            hits.count += stop - start
            hits.ordered = hits.ordered and bool(keys[start] == keys[stop - 1])
        hits.floor = hits.count
        return hits


class Source(Protocol):
    """What :meth:`FieldIndex.sync` reads: one field's column arrays (``columns._FieldStore``)."""

    @property
    def num_rows(self) -> Growable[np.int32]: ...
    @property
    def num_vals(self) -> Growable[np.float64]: ...
    @property
    def str_rows(self) -> Growable[np.int32]: ...
    @property
    def str_codes(self) -> Growable[np.int32]: ...
    @property
    def bool_rows(self) -> Growable[np.int32]: ...
    @property
    def bool_vals(self) -> Growable[np.bool_]: ...
    @property
    def list_rows(self) -> Growable[np.int32]: ...
    @property
    def elem_rows(self) -> Growable[np.int32]: ...
    @property
    def elem_codes(self) -> Growable[np.int32]: ...


def _code_entries(codes: npt.NDArray[np.int32], rows: RowArray) -> tuple[KeyArray, RowArray]:
    """(code, row) pairs sorted by code then row, repeats dropped: one int64 sort of ``code << 32 | row``."""
    packed = (codes.astype(np.int64) << 32) | rows.astype(np.int64)
    packed.sort()
    packed = dedupe_sorted(packed)
    return (packed >> 32).astype(np.int32), (packed & 0xFFFFFFFF).astype(ROW_DTYPE)


def _number_entries(values: npt.NDArray[np.float64], rows: RowArray) -> tuple[KeyArray, RowArray]:
    """(value, row) pairs sorted by value then row, NaN dropped (it equals and orders with nothing).

    A stable float argsort is slow in numpy; instead an unstable one, then the rows of each run of equal
    values put back in order by one int64 sort of ``group << 32 | row`` (``rows`` arrive increasing).
    """
    if np.isnan(values).any():
        keep = ~np.isnan(values)
        values, rows = values[keep], rows[keep]
    order = np.argsort(values)
    keys = values[order]
    if keys.size < 2:
        return keys, rows[order]
    starts = np.empty(keys.size, dtype=np.bool_)
    starts[0] = False
    np.not_equal(keys[1:], keys[:-1], out=starts[1:])
    group = np.cumsum(starts, dtype=np.int64)
    packed = (group << 32) | rows[order].astype(np.int64)
    packed.sort()
    return keys, (packed & 0xFFFFFFFF).astype(ROW_DTYPE)


class FieldIndex:
    """The postings and presence of one field, brought up to date with its columns by :meth:`sync`.

    Positions record how many entries of each column array are already indexed; the columns only grow, so
    :meth:`sync` indexes exactly the new tail, as one new run per kind.
    """

    __slots__ = (
        "_bools",
        "_elems",
        "_lists",
        "_nums",
        "_strs",
        "bools",
        "codes",
        "has_lists",
        "numbers",
        "present",
    )

    def __init__(self) -> None:
        self.codes = Postings()
        self.bools = Postings()
        self.numbers = Postings()
        self.present = Growable(ROW_DTYPE)
        self.has_lists = False  # a row may then hold several codes, so code counts can repeat rows
        self._nums = self._strs = self._bools = self._lists = self._elems = 0

    @property
    def nbytes(self) -> int:
        return self.codes.nbytes + self.bools.nbytes + self.numbers.nbytes + self.present.nbytes

    def present_rows(self) -> RowArray:
        """Every row that has the field, sorted."""
        return self.present.view()

    def sync(self, source: Source) -> None:
        """Index the values appended to ``source`` since the last call (a no-op when there are none)."""
        nums, strs, bools = len(source.num_rows), len(source.str_rows), len(source.bool_rows)
        lists, elems = len(source.list_rows), len(source.elem_rows)
        if (nums, strs, bools, lists, elems) == (
            self._nums,
            self._strs,
            self._bools,
            self._lists,
            self._elems,
        ):
            return
        num_rows = source.num_rows.view()[self._nums :]
        str_rows = source.str_rows.view()[self._strs :]
        bool_rows = source.bool_rows.view()[self._bools :]
        list_rows = source.list_rows.view()[self._lists :]
        elem_rows = source.elem_rows.view()[self._elems :]

        fresh = [part for part in (num_rows, str_rows, bool_rows, list_rows) if part.size]
        if len(fresh) == 1:
            self.present.append(fresh[0])
        elif fresh:
            joined = np.concatenate(fresh)
            joined.sort()  # the four kinds hold disjoint rows, so no repeats
            self.present.append(joined)

        if str_rows.size or elem_rows.size:
            codes = np.concatenate(
                (source.str_codes.view()[self._strs :], source.elem_codes.view()[self._elems :])
            )
            self.codes.add(*_code_entries(codes, np.concatenate((str_rows, elem_rows))))
        if num_rows.size:
            self.numbers.add(*_number_entries(source.num_vals.view()[self._nums :], num_rows))
        if bool_rows.size:
            flags = source.bool_vals.view()[self._bools :].view(np.uint8)
            order = np.argsort(flags, kind="stable")  # radix sort on uint8
            self.bools.add(flags[order], bool_rows[order])
        self.has_lists = self.has_lists or elem_rows.size > 0
        self._nums, self._strs, self._bools, self._lists, self._elems = nums, strs, bools, lists, elems
