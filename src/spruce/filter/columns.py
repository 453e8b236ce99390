"""Columnar, append-only metadata for many records, and vectorised filter evaluation over it.

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

Evaluating
----------
A leaf condition is evaluated against a *view* of one field: either the whole field (:class:`_FullView`,
the stored arrays as they are, owners are row numbers) or the rows of a candidate set
(:class:`_SubsetView`, values gathered with ``np.searchsorted``, owners are positions in the candidate
array). The same leaf code serves both: compute a boolean ``hit`` over a sub-column's values, then scatter
``out[owner[hit]] = True``. ``$ne``/``$nin`` are "present and not hit", ``$exists`` is "present".

``$and``/``$or`` narrow as they go. Once fewer than ``1/NARROW_RATIO`` of the rows are still undecided, the
remaining children are evaluated only on those rows through a subset view, so a selective first condition
makes the rest cheap. :meth:`MetadataColumns.evaluate_rows` starts in that mode.

Concurrency: one writer, and no evaluation while :meth:`~MetadataColumns.extend` runs (the engine
serialises them). Rows are never modified in place; a changed record is a new row.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Generic, Protocol, TypeVar

import numpy as np
import numpy.typing as npt

from spruce.filter.tree import And, Exists, Filter, In, Node, Or, Range

__all__ = ["NARROW_RATIO", "MetadataColumns"]

NARROW_RATIO = 8
"""``$and``/``$or`` switch to evaluating the remaining children on the undecided rows only once
``undecided * NARROW_RATIO <= len``: below that, gathering beats a full pass over the column."""

_ROW_DTYPE = np.int32  # row numbers; candidate rows are converted to it so searches never upcast a column
_MAX_ROWS = int(np.iinfo(_ROW_DTYPE).max)

BoolArray = npt.NDArray[np.bool_]
IndexArray = npt.NDArray[np.integer[Any]]
FloatArray = npt.NDArray[np.float64]

_S = TypeVar("_S", bound=np.generic)


class _Growable(Generic[_S]):
    """An append-only numpy array with doubling capacity, read through a view of its filled prefix."""

    __slots__ = ("_buf", "_len")

    def __init__(self, dtype: type[_S]) -> None:
        self._buf: npt.NDArray[_S] = np.empty(0, dtype=dtype)
        self._len = 0

    def append(self, values: npt.ArrayLike) -> None:
        """Append ``values``; reallocate (to at least twice the capacity) only when full."""
        chunk = np.asarray(values, dtype=self._buf.dtype)
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


_EMPTY_STORE = _FieldStore()  # stands in for a field no row has; never written to


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
    vocab = view.vocab
    return np.fromiter((vocab[s] for s in strings if s in vocab), dtype=np.int32)


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


def _eval_range(node: Range, view: _View) -> BoolArray:
    """``$gt``/``$gte``/``$lt``/``$lte`` over the number sub-column; other types never match."""
    owners, numbers = view.numbers()
    if node.op == "$gt":
        passed = numbers > node.value
    elif node.op == "$gte":
        passed = numbers >= node.value
    elif node.op == "$lt":
        passed = numbers < node.value
    else:
        passed = numbers <= node.value
    out = np.zeros(view.size, dtype=np.bool_)
    out[owners[passed]] = True
    return out


def _eval_leaf(node: In | Range | Exists, view: _View) -> BoolArray:
    """Dispatch one condition on one field."""
    if isinstance(node, In):
        return _eval_in(node, view)
    if isinstance(node, Range):
        return _eval_range(node, view)
    present = _present(view)
    return present if node.present else ~present


class MetadataColumns:
    """The metadata of many records in typed columns, appended to in batches and filtered vectorised."""

    def __init__(self) -> None:
        self._fields: dict[str, _FieldStore] = {}
        self._len = 0

    def __len__(self) -> int:
        return self._len

    def extend(self, metas: Sequence[Mapping[str, object]]) -> None:
        """Append one row per mapping. All or nothing: a bad value raises ``TypeError`` and adds no row.

        Values are assumed validated by the engine (str, number, bool, list of str; ``None`` is absent);
        anything else is a bug upstream, hence ``TypeError`` rather than a client error.
        """
        if self._len + len(metas) > _MAX_ROWS:
            raise OverflowError(f"MetadataColumns holds at most {_MAX_ROWS} rows")
        batches: dict[str, tuple[_FieldStore, _Pending]] = {}
        for row, meta in enumerate(metas, start=self._len):
            for name, value in meta.items():
                batch = batches.get(name)
                if batch is None:
                    batch = batches[name] = (self._fields.get(name) or _FieldStore(), _Pending())
                batch[0].add(batch[1], row, value)
        for name, (store, pending) in batches.items():
            store.commit(pending)
            self._fields[name] = store
        self._len += len(metas)

    def evaluate(self, f: Filter) -> BoolArray:
        """One bool per row: whether the row matches ``f``."""
        if f.root is None:
            return np.ones(self._len, dtype=np.bool_)
        return self._full(f.root)

    def evaluate_rows(self, f: Filter, rows: npt.ArrayLike) -> BoolArray:
        """One bool per entry of ``rows`` (row numbers, any order, repeats allowed): whether it matches.

        Costs O(len(rows) log len) per condition rather than O(len), for candidate sets much smaller than
        the whole: e.g. re-checking an ANN result or a small memtable slice.
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
        return self._subset(f.root, indices.astype(_ROW_DTYPE, casting="unsafe"))

    def _store(self, name: str) -> _FieldStore:
        return self._fields.get(name, _EMPTY_STORE)

    def _full(self, node: Node) -> BoolArray:
        """Evaluate ``node`` over every row."""
        if isinstance(node, And):
            return self._full_and(node.children)
        if isinstance(node, Or):
            return self._full_or(node.children)
        return _eval_leaf(node, _FullView(self._store(node.field), self._len))

    def _full_and(self, children: Sequence[Node]) -> BoolArray:
        result = self._full(children[0])
        for child in children[1:]:
            alive = int(np.count_nonzero(result))
            if alive == 0:
                break
            if alive * NARROW_RATIO <= self._len:
                candidates = np.flatnonzero(result).astype(_ROW_DTYPE)
                result[candidates] = self._subset(child, candidates)
            else:
                result &= self._full(child)
        return result

    def _full_or(self, children: Sequence[Node]) -> BoolArray:
        result = self._full(children[0])
        for child in children[1:]:
            undecided = self._len - int(np.count_nonzero(result))
            if undecided == 0:
                break
            if undecided * NARROW_RATIO <= self._len:
                candidates = np.flatnonzero(~result).astype(_ROW_DTYPE)
                result[candidates] = self._subset(child, candidates)
            else:
                result |= self._full(child)
        return result

    def _subset(self, node: Node, rows: IndexArray) -> BoolArray:
        """Evaluate ``node`` on ``rows`` only; the result is aligned with ``rows``."""
        if isinstance(node, And | Or):
            return self._subset_group(node, rows)
        return _eval_leaf(node, _SubsetView(self._store(node.field), rows))

    def _subset_group(self, node: And | Or, rows: IndexArray) -> BoolArray:
        """``$and`` keeps only the rows every child passed so far; ``$or`` only the rows none passed."""
        out = np.zeros(rows.size, dtype=np.bool_)
        undecided = np.arange(rows.size)
        conjunction = isinstance(node, And)
        for child in node.children:
            if undecided.size == 0:
                break
            passed = self._subset(child, rows[undecided])
            if conjunction:
                undecided = undecided[passed]
            else:
                out[undecided[passed]] = True
                undecided = undecided[~passed]
        if conjunction:
            out[undecided] = True
        return out
