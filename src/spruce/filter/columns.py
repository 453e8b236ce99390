"""Columnar, append-only metadata for many records, and index-driven filter evaluation over it.

Layout
------
Rows are numbered ``0..len-1`` in the order they were appended. Each metadata field gets a
:class:`_FieldStore` holding one *sparse* sub-column per value type, because a field may hold different
types in different rows and many fields are present in only a few rows:

========== ============================================== =====================================
type       arrays                                         meaning
========== ============================================== =====================================
number     ``num_rows`` int32, ``num_vals`` float64        row ``num_rows[i]`` holds ``num_vals[i]``
string     ``str_rows`` int32, ``str_codes`` int32         code into the field's ``vocab``
bool       ``bool_rows`` int32, ``bool_vals`` bool
list[str]  ``list_rows`` int32, ``list_ends`` int64,       CSR: list ``j`` is
           ``elem_codes`` int32, ``elem_rows`` int32       ``elem_codes[list_ends[j-1]:list_ends[j]]``
========== ============================================== =====================================

``num_rows``, ``str_rows``, ``bool_rows`` and ``list_rows`` are strictly increasing (rows only ever get
appended) and disjoint; a row in none of them lacks the field (an empty list is present). Strings and list
elements share one dictionary per field, so ``$in`` with strings is one integer-membership test over codes
(``np.isin(..., kind="table")``) for scalars and list elements alike; numbers use a binary search in the
sorted operands. ``elem_rows`` (the owning row of each element) is the CSR offsets expanded, kept so that
"any element matches" is a single scatter, ``out[elem_rows[hit]] = True``.

Memory is proportional to the values present (12-16 bytes each), not to rows times fields. Row numbers are
int32, so one ``MetadataColumns`` holds at most 2**31 - 1 rows (far beyond a segment).

Appending
---------
:meth:`MetadataColumns.extend` walks the new rows once in Python (the only per-row loop), buffers values per
field and type, and then appends each buffer to a growable numpy array whose capacity doubles. Appending is
therefore amortised O(new values), and nothing is rebuilt or concatenated on evaluation: the arrays are
read through zero-copy views of the filled prefix. Segments, which are filled once, end up with exactly
sized buffers.

Postings
--------
Next to the columns, each field gets a :class:`~spruce.filter.postings.FieldIndex` (see ``postings``):
value -> sorted rows for strings (list elements included) and bools, numbers sorted with their rows, and
the sorted rows where the field is present. It is built on the first filter that reads the field and, after
that, extended with only the rows appended since (one new run, merged logarithmically), so ``extend`` itself
never pays for it and a field never filtered on costs nothing. ``MetadataColumns(indexed=False)`` never
builds postings and evaluates by scanning alone.

Evaluating
----------
A filter is first rewritten into an internal tree (``_Plan``): ranges become intervals, and the ranges an
``$and`` applies to one field are folded into one interval (a single span per postings run). A per-call
``_Planner`` then works each node out in one of two forms, chosen by the node's estimated match count
(:meth:`MetadataColumns.estimate`, from postings sizes only):

* a *row set* (sorted int64 rows) when the node is selective, ``estimate * ROWS_RATIO <= len``: a leaf
  gathers its postings spans (already sorted for a single value; sorted, or scattered into a mask when
  many, otherwise); ``$or`` unites its children's sets; ``$and`` takes its most selective child's set and
  keeps the rows that pass each other child;
* a *mask* (one bool per row) otherwise: a leaf scatters its postings spans (``$ne``/``$nin``: present rows
  minus the operands' rows; ``$exists``: the present rows); ``$and``/``$or`` combine children masks, most
  selective (``$and``) or least selective (``$or``) child first, and narrow as they go.

"Keeps the rows that pass" / "narrow" mean checking a child on a candidate set only: through a *view* of one
field restricted to the candidates (:class:`_SubsetView`, values gathered with ``np.searchsorted``, owners
are positions in the candidate array), or, when that would cost more, by building the child's mask and
reading it at the candidates. ``SUBSET_COST`` prices one such binary search against scattering postings
entries. The scan evaluator behind the view is also the whole-field evaluator of ``indexed=False``
(:class:`_FullView`, the stored arrays as they are, owners are row numbers): compute a boolean ``hit`` over
a sub-column's values, then scatter ``out[owner[hit]] = True``; there ``$and``/``$or`` narrow once fewer
than ``1/NARROW_RATIO`` of the rows are undecided. :meth:`MetadataColumns.evaluate_rows` is the subset view
alone (it never builds postings).

Every path gives the same answer; the property tests force each choice both ways.

Persisted form
--------------
:meth:`MetadataColumns.to_parts` / :meth:`MetadataColumns.from_buffer` (the ``columns`` section of a
segment, so that opening a store does not rebuild them from the metadata JSON), little-endian::

    offset  size  field
    0       4     H = header length
    4       H     header JSON: {"rows": n, "fields": [[name, [vocab strings in code order],
                                                       [[array name, offset, count], ...]], ...]}
    D             the arrays, each at its offset from D = 4 + H rounded up to a multiple of 8, each
                  padded to 8 bytes; dtypes as in the layout table (row numbers and codes int32,
                  numbers float64, bools 1 byte, ``list_ends`` int64)

Loaded columns are views of the buffer (no copy); postings are rebuilt from them (cheap, vectorised).

Concurrency: none inside. The caller serialises every call on one instance (the engine holds a per-block
lock around ``extend`` and every evaluation), so there is no internal locking; note that evaluating also
writes (postings catch up lazily), so even two concurrent evaluations would be unsafe. Rows are never
modified in place; a changed record is a new row.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt
import orjson

from spruce import deadline
from spruce.filter.postings import FieldIndex, Growable, Hits, dedupe_sorted, sorted_union
from spruce.filter.tree import Exists, Filter, In, Node, Or, Range, TextMatch

__all__ = ["NARROW_RATIO", "ROWS_RATIO", "SUBSET_COST", "MetadataColumns"]

NARROW_RATIO = 8
"""``$and``/``$or`` switch to evaluating the remaining children on the undecided rows only once
``undecided * NARROW_RATIO <= len``: below that, gathering beats a full pass over the column."""

ROWS_RATIO = 8
"""A condition estimated to match at most ``len / ROWS_RATIO`` rows is worked out as a sorted row set from
the postings (and, inside ``$and``, its rows are checked against the other children), rather than as a
mask over every row."""

SUBSET_COST = 16
"""With postings, one binary search of a candidate row in a column costs about as much as scattering
``SUBSET_COST`` postings entries into a mask: ``$and``/``$or`` check a child on their candidate/undecided
rows only when that is cheaper than building the child's mask (``NARROW_RATIO`` is then unused)."""

_ROW_DTYPE = np.int32  # row numbers; candidate rows are converted to it so searches never upcast a column
_MAX_ROWS = int(np.iinfo(_ROW_DTYPE).max)
_Growable = Growable

BoolArray = npt.NDArray[np.bool_]
IndexArray = npt.NDArray[np.integer[Any]]
FloatArray = npt.NDArray[np.float64]


class _Pending:
    """Python-list buffers for one field during one :meth:`MetadataColumns.extend` call."""

    __slots__ = (
        "bool_rows",
        "bool_vals",
        "elem_codes",
        "elem_rows",
        "list_lens",
        "list_rows",
        "num_rows",
        "num_vals",
        "str_codes",
        "str_rows",
    )

    def __init__(self) -> None:
        self.num_rows: list[int] = []
        self.num_vals: list[float] = []
        self.str_rows: list[int] = []
        self.str_codes: list[int] = []
        self.bool_rows: list[int] = []
        self.bool_vals: list[bool] = []
        self.list_rows: list[int] = []
        self.list_lens: list[int] = []
        self.elem_rows: list[int] = []
        self.elem_codes: list[int] = []


class _FieldStore:
    """All values of one field, as sparse typed sub-columns (see the module docstring for the layout)."""

    def __init__(self) -> None:
        self.vocab: dict[str, int] = {}
        self.num_rows = _Growable(_ROW_DTYPE)
        self.num_vals = _Growable(np.float64)
        self.str_rows = _Growable(_ROW_DTYPE)
        self.str_codes = _Growable(np.int32)
        self.bool_rows = _Growable(_ROW_DTYPE)
        self.bool_vals = _Growable(np.bool_)
        self.list_rows = _Growable(_ROW_DTYPE)
        self.list_ends = _Growable(np.int64)
        self.elem_rows = _Growable(_ROW_DTYPE)
        self.elem_codes = _Growable(np.int32)
        self.index: FieldIndex | None = None  # postings, built on first use and then kept current

    def code(self, text: str) -> int:
        """The dictionary code of ``text``, assigning the next one on first sight."""
        found = self.vocab.get(text)
        if found is None:
            found = self.vocab[text] = len(self.vocab)
        return found

    def add(self, pending: _Pending, row: int, value: object) -> None:
        """Buffer one stored value. ``None`` is absent (Pinecone drops nulls on write)."""
        if isinstance(value, bool):
            pending.bool_rows.append(row)
            pending.bool_vals.append(value)
        elif isinstance(value, int | float):
            pending.num_rows.append(row)
            pending.num_vals.append(float(value))
        elif isinstance(value, str):
            pending.str_rows.append(row)
            pending.str_codes.append(self.code(value))
        elif isinstance(value, list | tuple):
            if not all(isinstance(element, str) for element in value):
                raise TypeError(f"metadata lists must hold only strings, got {value!r:.80}")
            pending.list_rows.append(row)
            pending.list_lens.append(len(value))
            pending.elem_rows.extend([row] * len(value))
            pending.elem_codes.extend(self.code(element) for element in value)
        elif value is not None:
            raise TypeError(f"unsupported metadata value of type {type(value).__name__}")

    def commit(self, pending: _Pending) -> None:
        """Append one call's buffered values to the stored arrays."""
        self.num_rows.append(pending.num_rows)
        self.num_vals.append(pending.num_vals)
        self.str_rows.append(pending.str_rows)
        self.str_codes.append(pending.str_codes)
        self.bool_rows.append(pending.bool_rows)
        self.bool_vals.append(pending.bool_vals)
        if pending.list_rows:
            ends = self.list_ends.last(0) + np.cumsum(np.asarray(pending.list_lens, dtype=np.int64))
            self.list_rows.append(pending.list_rows)
            self.list_ends.append(ends)
            self.elem_rows.append(pending.elem_rows)
            self.elem_codes.append(pending.elem_codes)


def _gather_field(parts: list[tuple[_FieldStore, npt.NDArray[np.int64]]]) -> _FieldStore | None:
    """One field of :meth:`MetadataColumns.gather`: each part's values whose row has a target (>= 0),
    moved to that row, re-coded into one vocabulary, sorted by row. None if no value is left."""
    vocab: dict[str, int] = {}
    num: list[tuple[IndexArray, npt.NDArray[Any]]] = []
    strs: list[tuple[IndexArray, npt.NDArray[Any]]] = []
    bools: list[tuple[IndexArray, npt.NDArray[Any]]] = []
    lists: list[tuple[IndexArray, npt.NDArray[Any]]] = []  # (rows, list lengths)
    elements: list[IndexArray] = []  # the kept lists' element codes, lists in the order of ``lists``
    for store, target in parts:
        texts = sorted(store.vocab, key=store.vocab.__getitem__)
        recode = np.fromiter((vocab.setdefault(t, len(vocab)) for t in texts), np.int64, len(texts))
        rows = target[store.num_rows.view()]
        num.append((rows[rows >= 0], store.num_vals.view()[rows >= 0]))
        rows = target[store.str_rows.view()]
        strs.append((rows[rows >= 0], recode[store.str_codes.view()[rows >= 0]]))
        rows = target[store.bool_rows.view()]
        bools.append((rows[rows >= 0], store.bool_vals.view()[rows >= 0]))
        rows = target[store.list_rows.view()]
        ends_here = store.list_ends.view().astype(np.int64)
        sizes = ends_here - np.concatenate(([0], ends_here[:-1])).astype(np.int64)
        lists.append((rows[rows >= 0], sizes[rows >= 0]))
        elements.append(recode[store.elem_codes.view()[np.repeat(rows >= 0, sizes)]])
    num_rows, num_vals = _by_row(num, np.float64)
    str_rows, str_codes = _by_row(strs, np.int64)
    bool_rows, bool_vals = _by_row(bools, np.bool_)
    list_rows, lengths = _by_row(lists, np.int64)
    if not (len(num_rows) or len(str_rows) or len(bool_rows) or len(list_rows)):
        return None
    # Each list's elements follow it into row order. Laid end to end, list j owns the elements from
    # first[j], so the sorted lists' elements are those runs, taken in the sorted order.
    unsorted_sizes = np.concatenate([n for _, n in lists])
    first = np.cumsum(unsorted_sizes) - unsorted_sizes
    first = first[np.argsort(np.concatenate([r for r, _ in lists]), kind="stable")]
    ends = np.cumsum(lengths)
    picked = np.arange(len(ends) and int(ends[-1]), dtype=np.int64) + np.repeat(
        first - (ends - lengths), lengths
    )
    elem_codes = np.concatenate(elements)[picked]
    # only the strings still in use, numbered in their merged order
    used = np.unique(np.concatenate([str_codes, elem_codes]))
    texts = list(vocab)
    out = _FieldStore()
    out.vocab = {texts[c]: i for i, c in enumerate(used.tolist())}
    renumber = np.zeros(len(texts), dtype=np.int64)
    renumber[used] = np.arange(len(used), dtype=np.int64)
    arrays = {
        "num_rows": num_rows, "num_vals": num_vals, "str_rows": str_rows, "str_codes": renumber[str_codes],
        "bool_rows": bool_rows, "bool_vals": bool_vals, "list_rows": list_rows, "list_ends": ends,
        "elem_rows": np.repeat(list_rows, lengths), "elem_codes": renumber[elem_codes],
    }  # fmt: skip
    for attr, dtype in _PERSISTED:
        native = np.dtype(dtype).newbyteorder("=")
        setattr(out, attr, _Growable.wrap(np.ascontiguousarray(arrays[attr], dtype=native)))
    return out


def _by_row(
    parts: list[tuple[IndexArray, npt.NDArray[Any]]], dtype: type[np.generic]
) -> tuple[npt.NDArray[np.int64], npt.NDArray[Any]]:
    """The parts' (rows, values) laid end to end, then sorted by row (each row appears at most once)."""
    rows = np.concatenate([r for r, _ in parts]) if parts else np.empty(0, dtype=np.int64)
    values = np.concatenate([v for _, v in parts]) if parts else np.empty(0, dtype=dtype)
    order = np.argsort(rows, kind="stable")
    return rows[order].astype(np.int64), values[order].astype(dtype, copy=False)


_EMPTY_STORE = _FieldStore()  # stands in for a field no row has; never written to

# The arrays of a _FieldStore as persisted, with their on-disk dtypes (see "Persisted form").
_PERSISTED: tuple[tuple[str, str], ...] = (
    ("num_rows", "<i4"), ("num_vals", "<f8"), ("str_rows", "<i4"), ("str_codes", "<i4"),
    ("bool_rows", "<i4"), ("bool_vals", "|b1"), ("list_rows", "<i4"), ("list_ends", "<i8"),
    ("elem_rows", "<i4"), ("elem_codes", "<i4"),
)  # fmt: skip


class _View(Protocol):
    """One field's values as seen by a leaf: owners index the output array, whose length is ``size``."""

    size: int
    vocab: Mapping[str, int]

    def numbers(self) -> tuple[IndexArray, FloatArray]: ...

    def strings(self) -> tuple[IndexArray, IndexArray]: ...

    def bools(self) -> tuple[IndexArray, BoolArray]: ...

    def lists(self) -> tuple[IndexArray, IndexArray, IndexArray]:
        """(owner of each list value, owner of each element, code of each element)."""
        ...


class _FullView:
    """The whole field: owners are row numbers, arrays are the stored ones (no copy)."""

    def __init__(self, store: _FieldStore, size: int) -> None:
        self._store = store
        self.size = size
        self.vocab: Mapping[str, int] = store.vocab

    def numbers(self) -> tuple[IndexArray, FloatArray]:
        return self._store.num_rows.view(), self._store.num_vals.view()

    def strings(self) -> tuple[IndexArray, IndexArray]:
        return self._store.str_rows.view(), self._store.str_codes.view()

    def bools(self) -> tuple[IndexArray, BoolArray]:
        return self._store.bool_rows.view(), self._store.bool_vals.view()

    def lists(self) -> tuple[IndexArray, IndexArray, IndexArray]:
        store = self._store
        return store.list_rows.view(), store.elem_rows.view(), store.elem_codes.view()


def _locate(sorted_rows: IndexArray, rows: IndexArray) -> tuple[IndexArray, IndexArray]:
    """For each of ``rows`` found in ``sorted_rows``: (its position in ``rows``, in ``sorted_rows``)."""
    if sorted_rows.size == 0 or rows.size == 0:
        empty = np.empty(0, dtype=np.intp)
        return empty, empty
    positions = np.minimum(np.searchsorted(sorted_rows, rows), sorted_rows.size - 1)
    found = sorted_rows[positions] == rows
    return np.flatnonzero(found), positions[found]


class _SubsetView:
    """The field restricted to candidate ``rows`` (any order, repeats allowed): owners index ``rows``."""

    def __init__(self, store: _FieldStore, rows: IndexArray) -> None:
        self._store = store
        self._rows = rows
        self.size = int(rows.size)
        self.vocab: Mapping[str, int] = store.vocab

    def numbers(self) -> tuple[IndexArray, FloatArray]:
        owners, at = _locate(self._store.num_rows.view(), self._rows)
        return owners, self._store.num_vals.view()[at]

    def strings(self) -> tuple[IndexArray, IndexArray]:
        owners, at = _locate(self._store.str_rows.view(), self._rows)
        return owners, self._store.str_codes.view()[at]

    def bools(self) -> tuple[IndexArray, BoolArray]:
        owners, at = _locate(self._store.bool_rows.view(), self._rows)
        return owners, self._store.bool_vals.view()[at]

    def lists(self) -> tuple[IndexArray, IndexArray, IndexArray]:
        owners, at = _locate(self._store.list_rows.view(), self._rows)
        ends = self._store.list_ends.view()
        stops = ends[at]
        starts = np.where(at > 0, ends[np.maximum(at - 1, 0)], 0)
        lengths = stops - starts
        # Element k of the gathered run belongs to list j: index = starts[j] + (k - first k of list j).
        firsts = np.cumsum(lengths) - lengths
        element_index = np.arange(int(lengths.sum())) + np.repeat(starts - firsts, lengths)
        return owners, np.repeat(owners, lengths), self._store.elem_codes.view()[element_index]


def _present(view: _View) -> BoolArray:
    """Which outputs have the field at all, whatever its type (an empty list counts as present)."""
    out = np.zeros(view.size, dtype=np.bool_)
    out[view.numbers()[0]] = True
    out[view.strings()[0]] = True
    out[view.bools()[0]] = True
    out[view.lists()[0]] = True
    return out


def _codes(view: _View, strings: Sequence[str]) -> IndexArray:
    """The dictionary codes of the operand strings the field has ever held (others cannot match)."""
    return _vocab_codes(view.vocab, strings)


def _vocab_codes(vocab: Mapping[str, int], strings: Sequence[str]) -> npt.NDArray[np.int32]:
    """The codes of those of ``strings`` in ``vocab``: one dict lookup per operand, never a pass over rows."""
    codes = np.fromiter(map(vocab.get, strings, repeat(-1)), dtype=np.int64, count=len(strings))
    return codes[codes >= 0].astype(np.int32)


def _member_codes(codes: IndexArray, wanted: IndexArray) -> BoolArray:
    """Vectorised membership of integer codes; a lookup table over the code range, not a loop."""
    if wanted.size == 1:
        same: BoolArray = codes == wanted[0]
        return same
    return np.isin(codes, wanted, kind="table")


def _member_numbers(values: FloatArray, wanted: Sequence[float]) -> BoolArray:
    """Vectorised float64 membership: binary search in the sorted operands, O(n log k).

    Cheaper than ``np.isin``, which sorts the column together with the operands. ``0.0`` and ``-0.0`` are
    equal here, as in Python, since both the search and the check use ``==`` ordering.
    """
    if len(wanted) == 1:
        same: BoolArray = values == wanted[0]
        return same
    table = np.unique(np.asarray(wanted, dtype=np.float64))
    positions = np.minimum(np.searchsorted(table, values), table.size - 1)
    found: BoolArray = table[positions] == values
    return found


def _eval_in(node: In, view: _View) -> BoolArray:
    """``$eq``/``$in`` (any element of a list), or their negation restricted to present values."""
    hit = np.zeros(view.size, dtype=np.bool_)
    if node.strings:
        wanted = _codes(view, node.strings)
        if wanted.size:
            owners, codes = view.strings()
            hit[owners[_member_codes(codes, wanted)]] = True
            _, element_owners, element_codes = view.lists()
            hit[element_owners[_member_codes(element_codes, wanted)]] = True
    if node.numbers:
        owners, numbers = view.numbers()
        hit[owners[_member_numbers(numbers, node.numbers)]] = True
    if node.bools:
        owners, flags = view.bools()
        hit[owners if len(node.bools) == 2 else owners[flags == node.bools[0]]] = True
    if node.negated:
        return _present(view) & ~hit
    return hit


@dataclass(frozen=True, slots=True)
class _Interval:
    """Internal form of ``$gt``/``$gte``/``$lt``/``$lte``: a number between two bounds.

    The ranges ANDed on one field are folded into one interval (``{"year": {"$gte": 2000, "$lt": 2010}}``
    is one span per run in the number postings rather than two half-lines to intersect). A missing bound
    is an infinite, inclusive one, which every stored number (an infinity included) satisfies.
    """

    field: str
    low: float = -math.inf
    low_inclusive: bool = True
    high: float = math.inf
    high_inclusive: bool = True

    @classmethod
    def of(cls, node: Range) -> _Interval:
        if node.op == "$gt":
            return cls(node.field, low=node.value, low_inclusive=False)
        if node.op == "$gte":
            return cls(node.field, low=node.value)
        if node.op == "$lt":
            return cls(node.field, high=node.value, high_inclusive=False)
        return cls(node.field, high=node.value)

    def meet(self, other: _Interval) -> _Interval:
        """The intersection of two intervals on the same field (possibly empty)."""
        if self.low != other.low:
            low, low_inclusive = max((self.low, self.low_inclusive), (other.low, other.low_inclusive))
        else:
            low, low_inclusive = self.low, self.low_inclusive and other.low_inclusive
        if self.high != other.high:
            high, high_inclusive = min((self.high, self.high_inclusive), (other.high, other.high_inclusive))
        else:
            high, high_inclusive = self.high, self.high_inclusive and other.high_inclusive
        return _Interval(self.field, low, low_inclusive, high, high_inclusive)


@dataclass(frozen=True, slots=True)
class _Group:
    """Internal ``$and`` (``conjunction``) or ``$or`` over two or more children."""

    conjunction: bool
    children: tuple[_Plan, ...]


@dataclass(frozen=True, slots=True, eq=False)
class _Given:
    """A condition whose matching rows the caller worked out (a text match, from a block's full-text
    postings): sorted, unique int64 row numbers."""

    field: str
    rows: npt.NDArray[np.int64]


TextRows = Callable[[TextMatch], npt.NDArray[np.int64]]
"""What answers a text-match condition for the rows being filtered: its matching rows, sorted."""

_Leaf = In | _Interval | Exists | _Given
_Plan = _Leaf | _Group


def _normalize(node: Node, text: TextRows | None = None) -> _Plan:
    """The internal tree: ranges become intervals, an ``$and``'s intervals on one field are folded, and
    text matches become the rows ``text`` gives for them."""
    if isinstance(node, Range):
        return _Interval.of(node)
    if isinstance(node, In | Exists):
        return node
    if isinstance(node, TextMatch):
        if text is None:
            raise TypeError("a text-match condition needs the rows' full-text index (text=)")
        return _Given(node.field, np.unique(text(node)).astype(np.int64, copy=False))
    children = [_normalize(child, text) for child in node.children]
    if isinstance(node, Or):
        return _Group(False, tuple(children))
    folded: list[_Plan] = []
    intervals: dict[str, int] = {}  # field -> position of its interval in ``folded``
    for child in children:
        if isinstance(child, _Interval):
            at = intervals.get(child.field)
            if at is not None:
                previous = folded[at]
                assert isinstance(previous, _Interval)
                folded[at] = previous.meet(child)
                continue
            intervals[child.field] = len(folded)
        folded.append(child)
    return folded[0] if len(folded) == 1 else _Group(True, tuple(folded))


def _eval_interval(node: _Interval, view: _View) -> BoolArray:
    """A number between the bounds; other types never match."""
    owners, numbers = view.numbers()
    passed: BoolArray | None = None
    if node.low > -math.inf or not node.low_inclusive:
        passed = numbers >= node.low if node.low_inclusive else numbers > node.low
    if node.high < math.inf or not node.high_inclusive:
        upper = numbers <= node.high if node.high_inclusive else numbers < node.high
        passed = upper if passed is None else passed & upper
    if passed is None:
        passed = ~np.isnan(numbers)
    out = np.zeros(view.size, dtype=np.bool_)
    out[owners[passed]] = True
    return out


def _eval_leaf(node: _Leaf, view: _View) -> BoolArray:
    """Dispatch one condition on one field, by scanning the view."""
    if isinstance(node, _Given):
        out = np.zeros(view.size, dtype=np.bool_)
        out[node.rows[node.rows < view.size]] = True
        return out
    if isinstance(node, In):
        return _eval_in(node, view)
    if isinstance(node, _Interval):
        return _eval_interval(node, view)
    present = _present(view)
    return present if node.present else ~present


def _member_sorted(values: IndexArray, table: IndexArray) -> BoolArray:
    """Which ``values`` occur in the sorted array ``table``: O(len(values) log len(table))."""
    if table.size == 0:
        return np.zeros(values.size, dtype=np.bool_)
    positions = np.minimum(np.searchsorted(table, values), table.size - 1)
    found: BoolArray = table[positions] == values
    return found


class _Planner:
    """One call's evaluation: picks, per node, postings or scans, row sets or masks, by estimated size.

    Estimates and postings lookups are cached per node for the duration of the call, so a node costed by
    its parent is not looked up again when it is evaluated.
    """

    def __init__(self, columns: MetadataColumns) -> None:
        self.columns = columns
        self.n = len(columns)
        self.indexed = columns.indexed
        self._estimates: dict[int, int] = {}
        self._hits: dict[int, Hits] = {}

    # ------------------------------------------------------------ sizes

    def hits(self, node: In | _Interval) -> Hits:
        """The postings entries of the *positive* condition (``$in`` for a ``$nin``)."""
        deadline.check()
        cached = self._hits.get(id(node))
        if cached is not None:
            return cached
        hits = Hits()
        store = self.columns._fields.get(node.field)
        index = None if store is None else self.columns._index(store)
        if store is not None and index is not None:
            if isinstance(node, _Interval):
                hits = index.numbers.between(node.low, node.low_inclusive, node.high, node.high_inclusive)
            else:
                if node.strings:
                    codes = _vocab_codes(store.vocab, node.strings)
                    codes.sort()
                    hits.add(index.codes.lookup(codes, exact=not index.has_lists))
                if node.numbers:
                    numbers = np.sort(np.asarray(node.numbers, dtype=np.float64))
                    hits.add(index.numbers.lookup(dedupe_sorted(numbers), exact=True))  # 0.0 == -0.0
                if node.bools:
                    flags = np.array(sorted({int(flag) for flag in node.bools}), dtype=np.uint8)
                    hits.add(index.bools.lookup(flags, exact=True))
        self._hits[id(node)] = hits
        return hits

    def present(self, field: str) -> npt.NDArray[np.int32]:
        store = self.columns._fields.get(field)
        index = None if store is None else self.columns._index(store)
        return np.empty(0, dtype=np.int32) if index is None else index.present_rows()

    def estimate(self, node: _Plan) -> int:
        """Upper-bound-ish count of matching rows from postings sizes (see ``MetadataColumns.estimate``)."""
        cached = self._estimates.get(id(node))
        if cached is not None:
            return cached
        if isinstance(node, _Group):
            sizes = [self.estimate(child) for child in node.children]
            found = min(sizes) if node.conjunction else min(self.n, sum(sizes))
        elif isinstance(node, _Given):
            found = len(node.rows)
        elif isinstance(node, Exists):
            present = int(self.present(node.field).size)
            found = present if node.present else self.n - present
        elif isinstance(node, _Interval):
            found = self.hits(node).count
        else:
            present = int(self.present(node.field).size)
            hits = self.hits(node)
            found = max(0, present - hits.floor) if node.negated else min(present, hits.count)
        self._estimates[id(node)] = found
        return found

    def cost(self, node: _Plan) -> int:
        """Roughly how many postings entries building the mask of ``node`` scatters."""
        if isinstance(node, _Group):
            return sum(self.cost(child) for child in node.children)
        if isinstance(node, _Given):
            return len(node.rows)
        if isinstance(node, Exists):
            return int(self.present(node.field).size)
        hits = self.hits(node).count
        if isinstance(node, In) and node.negated:
            hits += int(self.present(node.field).size)
        return hits

    def searches(self, node: _Plan) -> int:
        """Roughly how many binary searches checking ``node`` on one candidate row takes: one per non-empty
        sub-column read (two for lists, which also gather elements), and the presence test of a negation
        reads them all."""
        if isinstance(node, _Group):
            return sum(self.searches(child) for child in node.children)
        if isinstance(node, _Given):
            return 1
        store = self.columns._fields.get(node.field)
        if store is None:
            return 0
        numbers, strings = len(store.num_rows) > 0, len(store.str_rows) > 0
        bools, lists = len(store.bool_rows) > 0, len(store.list_rows) > 0
        every = numbers + strings + bools + 2 * lists
        if isinstance(node, Exists):
            return every
        if isinstance(node, _Interval):
            return int(numbers)
        read = (
            (strings + 2 * lists) * bool(node.strings)
            + numbers * bool(node.numbers)
            + bools * bool(node.bools)
        )
        return read + every if node.negated else read

    def narrow(self, candidates: int, child: _Plan) -> bool:
        """Whether to check ``child`` on ``candidates`` rows only (binary searches in its columns) rather
        than build the mask of ``child`` over all rows and read it at those rows."""
        if not self.indexed:
            return candidates * NARROW_RATIO <= self.n
        return candidates * SUBSET_COST * self.searches(child) <= self.cost(child) + self.n // 16

    def small(self, node: _Plan) -> bool:
        """Whether ``node`` is selective enough to be worked out as a row set rather than a mask."""
        return self.indexed and self.estimate(node) * ROWS_RATIO <= self.n

    # ------------------------------------------------------------ masks

    def mask(self, node: _Plan) -> BoolArray:
        """One bool per row."""
        deadline.check()
        if isinstance(node, _Group):
            if self.small(node):
                out = np.zeros(self.n, dtype=np.bool_)
                out[self.rows(node)] = True
                return out
            return self._group_mask(node)
        if not self.indexed or isinstance(node, _Given):
            return _eval_leaf(node, _FullView(self.columns._store(node.field), self.n))
        out = np.zeros(self.n, dtype=np.bool_)
        if isinstance(node, Exists):
            out[self.present(node.field)] = True
            return out if node.present else ~out
        if isinstance(node, In) and node.negated:
            out[self.present(node.field)] = True
            self.hits(node).scatter(out, False)
        else:
            self.hits(node).scatter(out, True)
        return out

    def _group_mask(self, node: _Group) -> BoolArray:
        """``$and``/``$or`` over masks, narrowing to the undecided rows once few remain.

        With postings, ``$and`` takes its children most selective first and ``$or`` least selective first,
        so that the undecided rows shrink as early as possible.
        """
        children = list(node.children)
        if self.indexed:
            children.sort(key=self.estimate, reverse=not node.conjunction)
        result = self.mask(children[0])
        for child in children[1:]:
            alive = int(np.count_nonzero(result))
            undecided = alive if node.conjunction else self.n - alive
            if undecided == 0:
                break
            if self.narrow(undecided, child):
                candidates = np.flatnonzero(result if node.conjunction else ~result).astype(_ROW_DTYPE)
                result[candidates] = self.columns._subset(child, candidates)
            elif node.conjunction:
                result &= self.mask(child)
            else:
                result |= self.mask(child)
        return result

    # ------------------------------------------------------------ row sets

    def rows(self, node: _Plan) -> npt.NDArray[np.int64]:
        """The matching rows, sorted, as int64."""
        deadline.check()
        if not self.small(node):
            return np.flatnonzero(self.mask(node)).astype(np.int64, copy=False)
        if isinstance(node, _Group):
            if not node.conjunction:
                return sorted_union([self.rows(child) for child in node.children], self.n)
            children = sorted(node.children, key=self.estimate)
            found = self.rows(children[0])
            for child in children[1:]:
                if found.size == 0:
                    break
                if self.narrow(int(found.size), child):
                    found = found[self.columns._subset(child, found.astype(_ROW_DTYPE))]
                else:
                    found = found[self.mask(child)[found]]
            return found
        if isinstance(node, _Given):
            return node.rows
        if isinstance(node, Exists):  # small, so present (or the field is absent almost everywhere)
            if node.present:
                return self.present(node.field).astype(np.int64)
            return np.flatnonzero(self.mask(node)).astype(np.int64, copy=False)
        if isinstance(node, In) and node.negated:
            present = self.present(node.field)
            if present.size * ROWS_RATIO > self.n:
                return np.flatnonzero(self.mask(node)).astype(np.int64, copy=False)
            hit = self.hits(node).sorted_rows(self.n)
            return present[~_member_sorted(present, hit)].astype(np.int64)
        return self.hits(node).sorted_rows(self.n)


class MetadataColumns:
    """The metadata of many records in typed columns, appended to in batches and filtered via postings.

    ``indexed=False`` never builds postings: every evaluation scans the columns, as before postings existed
    (the benchmark's baseline, and a second opinion in tests); :meth:`matching_rows` and :meth:`estimate`
    then derive from :meth:`evaluate`, in O(rows).

    Not thread-safe, and it needs no lock of its own: the caller serialises every call on one instance
    (the engine holds the block's lock around ``extend``/``evaluate``/...). Note that evaluating *writes*
    too, since postings are brought up to date lazily, so concurrent evaluations are not safe either.
    """

    def __init__(self, *, indexed: bool = True, skip: frozenset[str] = frozenset()) -> None:
        self._fields: dict[str, _FieldStore] = {}
        self._len = 0
        self.indexed = indexed
        # fields never filtered by comparison (a document index's full-text fields, which their postings
        # answer): not stored in columns, so their text is neither held twice nor persisted twice
        self.skip = skip

    def __len__(self) -> int:
        return self._len

    def extend(self, metas: Sequence[Mapping[str, object]]) -> None:
        """Append one row per mapping. All or nothing: a bad value raises ``TypeError`` and adds no row.

        Values are assumed validated by the engine (str, number, bool, list of str; ``None`` is absent);
        anything else is a bug upstream, hence ``TypeError`` rather than a client error. Postings are not
        touched here: they catch up with the new rows of a field when a filter next reads that field.
        """
        if self._len + len(metas) > _MAX_ROWS:
            raise OverflowError(f"MetadataColumns holds at most {_MAX_ROWS} rows")
        batches: dict[str, tuple[_FieldStore, _Pending]] = {}
        skip = self.skip
        for row, meta in enumerate(metas, start=self._len):
            for name, value in meta.items():
                if skip and name in skip:
                    continue
                batch = batches.get(name)
                if batch is None:
                    batch = batches[name] = (self._fields.get(name) or _FieldStore(), _Pending())
                batch[0].add(batch[1], row, value)
        for name, (store, pending) in batches.items():
            store.commit(pending)
            self._fields[name] = store
        self._len += len(metas)

    def build_index(self) -> None:
        """Bring every field's postings up to date now (e.g. when a segment is built in the background),
        so that the first filter on it does not pay for building them. Optional: evaluation does it too."""
        if self.indexed:
            for store in self._fields.values():
                self._index(store)

    def evaluate(self, f: Filter, text: TextRows | None = None) -> BoolArray:
        """One bool per row: whether the row matches ``f`` (``text`` answers its text matches, if any)."""
        if f.root is None:
            return np.ones(self._len, dtype=np.bool_)
        return _Planner(self).mask(_normalize(f.root, text))

    def matching_rows(self, f: Filter, text: TextRows | None = None) -> npt.NDArray[np.int64]:
        """The rows that match ``f``, sorted, as int64: ``np.flatnonzero(self.evaluate(f))``, but from the
        postings where ``f`` is selective (intersecting/uniting postings, or checking the candidates of the
        most selective ``$and`` child against the rest), so cost follows the matches, not the rows."""
        if f.root is None:
            return np.arange(self._len, dtype=np.int64)
        return _Planner(self).rows(_normalize(f.root, text))

    def estimate(self, f: Filter) -> int:
        """How many rows match ``f``, estimated from postings sizes without evaluating any row.

        Exact for one equality / ``$in`` on a field holding no lists, for ranges (one or several ANDed on one
        field), ``$exists`` and the negations of those; ``$in`` over list elements counts a row once per
        matching element (an upper bound). ``$and`` is the minimum of its children, ``$or`` their sum capped
        at ``len(self)``, so for filters without negations the estimate is never below the true count.
        Negations are the field's present rows minus a lower bound of the positive part's rows.

        Cost: a few binary searches per condition and postings run, O(conditions x log rows), plus bringing
        the postings of the fields read up to date with rows appended since they were last used.
        """
        if f.root is None:
            return self._len
        if not self.indexed:
            return int(np.count_nonzero(self.evaluate(f)))
        return _Planner(self).estimate(_normalize(f.root))

    def memory_usage(self) -> dict[str, int]:
        """Bytes allocated by the numpy arrays: ``columns`` (the values) and ``index`` (postings, presence).
        The per-field string dictionaries (Python dicts, shared by both) are not counted."""
        columns = index = 0
        for store in self._fields.values():
            columns += sum(
                array.nbytes
                for array in (
                    store.num_rows, store.num_vals, store.str_rows, store.str_codes, store.bool_rows,
                    store.bool_vals, store.list_rows, store.list_ends, store.elem_rows, store.elem_codes,
                )
            )  # fmt: skip
            if store.index is not None:
                index += store.index.nbytes
        return {"columns": columns, "index": index}

    def to_parts(self) -> list[bytes | memoryview]:
        """The persisted form (module docstring), as parts to write in order; the arrays are views."""
        fields: list[list[Any]] = []
        arrays: list[npt.NDArray[Any]] = []
        pos = 0
        for name, store in self._fields.items():
            entries: list[list[Any]] = []
            for attr, dtype in _PERSISTED:
                data = np.ascontiguousarray(getattr(store, attr).view(), dtype=dtype)
                entries.append([attr, pos, int(data.size)])
                arrays.append(data)
                pos += data.nbytes + (-data.nbytes) % 8
            fields.append([name, sorted(store.vocab, key=store.vocab.__getitem__), entries])
        header = orjson.dumps({"rows": self._len, "fields": fields})
        lead = len(header).to_bytes(4, "little") + header
        parts: list[bytes | memoryview] = [lead + bytes((-len(lead)) % 8)]
        for data in arrays:
            parts += [data.data.cast("B"), bytes((-data.nbytes) % 8)]
        return parts

    def fork(self) -> MetadataColumns:
        """A copy that shares the arrays (copied only when the copy is appended to, never written in
        place) and has its own postings: a snapshot that a flush or merge reads (:meth:`gather`) without
        holding the block's lock, while queries go on evaluating (so updating postings on) the original."""
        out = MetadataColumns(indexed=self.indexed, skip=self.skip)
        for name, store in self._fields.items():
            twin = _FieldStore()
            twin.vocab = dict(store.vocab)
            for attr, _ in _PERSISTED:
                setattr(twin, attr, _Growable.wrap(getattr(store, attr).view()))
            out._fields[name] = twin
        out._len = self._len
        return out

    @classmethod
    def gather(cls, sources: Sequence[tuple[MetadataColumns, npt.NDArray[np.int64]]]) -> MetadataColumns:
        """Columns holding rows ``rows`` of each source in turn: result row ``i`` is the ``i``-th of all
        the ``rows`` arrays laid end to end (each distinct, in any order).

        What a flush or merge needs for a block built from other blocks' rows, taken from their columns
        with array operations. Re-extending from the rows' metadata instead is a Python loop per value
        under the GIL: about 2 s of a 150,000-row merge, which queries waited on in 0.5 ms slices. Only
        the strings the gathered rows use are kept in the vocabularies, so a purge leaves no deleted
        record's string behind."""
        total = sum(len(rows) for _, rows in sources)
        if total > _MAX_ROWS:
            raise OverflowError(f"MetadataColumns holds at most {_MAX_ROWS} rows")
        out = cls(indexed=all(cols.indexed for cols, _ in sources))
        targets: list[npt.NDArray[np.int64]] = []  # per source: its row -> the result's row, or -1
        offset = 0
        for cols, rows in sources:
            target = np.full(len(cols), -1, dtype=np.int64)
            target[rows] = np.arange(offset, offset + len(rows), dtype=np.int64)
            targets.append(target)
            offset += len(rows)
        for name in dict.fromkeys(name for cols, _ in sources for name in cols._fields):
            parts = [(cols._fields[name], t) for (cols, _), t in zip(sources, targets, strict=True)
                     if name in cols._fields]  # fmt: skip
            store = _gather_field(parts)
            if store is not None:
                out._fields[name] = store
        out._len = total
        return out

    @classmethod
    def from_buffer(cls, buf: memoryview) -> MetadataColumns:
        """Columns over ``buf`` (the persisted form), without copying the arrays."""
        hlen = int.from_bytes(buf[:4], "little")
        header = orjson.loads(buf[4 : 4 + hlen])
        base = 4 + hlen + (-(4 + hlen)) % 8
        dtypes = dict(_PERSISTED)
        out = cls()
        for name, vocab, entries in header["fields"]:
            store = _FieldStore()
            store.vocab = {text: code for code, text in enumerate(vocab)}
            for attr, offset, count in entries:
                data = np.frombuffer(buf, dtype=dtypes[attr], count=count, offset=base + offset)
                setattr(store, attr, _Growable.wrap(data))
            out._fields[name] = store
        out._len = int(header["rows"])
        return out

    def evaluate_rows(self, f: Filter, rows: npt.ArrayLike) -> BoolArray:
        """One bool per entry of ``rows`` (row numbers, any order, repeats allowed): whether it matches.

        Costs O(len(rows) log len) per condition rather than O(len), for candidate sets much smaller than
        the whole: e.g. re-checking an ANN result or a small memtable slice. Reads the columns only.
        """
        indices = np.asarray(rows).reshape(-1)
        if indices.size == 0:
            indices = indices.astype(_ROW_DTYPE)  # np.asarray([]) is float64; an empty list is fine
        if not np.issubdtype(indices.dtype, np.integer):
            raise TypeError(f"row numbers must be integers, got dtype {indices.dtype}")
        if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= self._len):
            raise IndexError(
                f"row numbers must lie in [0, {self._len}), got {indices.min()}..{indices.max()}"
            )
        if f.root is None:
            return np.ones(indices.size, dtype=np.bool_)
        return self._subset(_normalize(f.root), indices.astype(_ROW_DTYPE, casting="unsafe"))

    def _store(self, name: str) -> _FieldStore:
        return self._fields.get(name, _EMPTY_STORE)

    def _index(self, store: _FieldStore) -> FieldIndex:
        """The field's postings, created on first use and synced with the rows appended since."""
        index = store.index
        if index is None:
            index = store.index = FieldIndex()
        index.sync(store)
        return index

    def _subset(self, node: _Plan, rows: IndexArray) -> BoolArray:
        """Evaluate ``node`` on ``rows`` only, by scanning; the result is aligned with ``rows``."""
        if isinstance(node, _Group):
            return self._subset_group(node, rows)
        if isinstance(node, _Given):
            return _member_sorted(rows.astype(np.int64), node.rows)
        return _eval_leaf(node, _SubsetView(self._store(node.field), rows))

    def _subset_group(self, node: _Group, rows: IndexArray) -> BoolArray:
        """``$and`` keeps only the rows every child passed so far; ``$or`` only the rows none passed."""
        out = np.zeros(rows.size, dtype=np.bool_)
        undecided = np.arange(rows.size)
        for child in node.children:
            if undecided.size == 0:
                break
            passed = self._subset(child, rows[undecided])
            if node.conjunction:
                undecided = undecided[passed]
            else:
                out[undecided[passed]] = True
                undecided = undecided[~passed]
        if node.conjunction:
            out[undecided] = True
        return out
