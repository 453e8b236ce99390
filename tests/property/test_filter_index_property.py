"""Postings-driven filtering agrees with the column scan and with the reference oracle, at every step.

Records are appended in several ``extend`` chunks; after each chunk a batch of generated filters is checked,
so postings are built, then extended with new runs and merged, between evaluations, as in the memtable.
For each filter and step:

* ``matching_rows`` == ``flatnonzero(evaluate)`` == the rows ``reference_matches`` accepts, on the indexed
  columns and on ``MetadataColumns(indexed=False)`` (the scan);
* the planner's choices do not change the answer: row sets always or never (``ROWS_RATIO``), candidate
  checks always or never (``SUBSET_COST``), runs merged always or never (``MERGE_FACTOR``);
* ``estimate`` lies in ``[0, len]``, is at least the true count for filters without negations, and equals it
  for a single condition (one operand, or a field that holds no lists);
* the postings themselves are well formed: keys sorted, rows sorted within a key, presence sorted.

Derandomised, database-free; the tiny vocabulary (mixed types in one field, lists, NaN, infinities, bools
next to 0 and 1) makes filters hit.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spruce.filter.columns as columns_module
import spruce.filter.postings as postings_module
from spruce.filter import (
    And,
    Exists,
    Filter,
    In,
    MetadataColumns,
    Node,
    Or,
    Range,
    parse_filter,
    reference_matches,
)

FIELDS = ["genre", "year", "tags", "flag"]
STRINGS = ["a", "b", "c", "1", ""]
NUMBERS: list[int | float] = [0, 1, 2, -1, 0.0, -0.0, 1.0, 1.5, 2.0, 1e300]
STORED_NUMBERS = [0.0, -0.0, 1.0, 1.5, 2.0, -1.0, 1e300, math.inf, -math.inf, math.nan]
FILTERS_PER_STEP = 6
EXAMPLES = 300

stored_number = st.sampled_from(STORED_NUMBERS)
stored_string = st.sampled_from(STRINGS)
stored_list = st.lists(stored_string, max_size=3)
stored_any = st.one_of(stored_number, stored_string, stored_list, st.booleans())
# Each field mostly holds one type (so conditions hit many rows), sometimes any other, sometimes nothing
# (``None`` is absent, as on the wire). Row counts are drawn first: hypothesis keeps lists short otherwise.
TYPICAL: dict[str, st.SearchStrategy[Any]] = {
    "genre": stored_string,
    "year": stored_number,
    "tags": stored_list,
    "flag": st.booleans(),
}
record = st.fixed_dictionaries(
    {field: st.one_of(typical, typical, typical, stored_any, st.none()) for field, typical in TYPICAL.items()}
)
records = st.integers(8, 80).flatmap(lambda size: st.lists(record, min_size=size, max_size=size))

operand_scalar = st.one_of(st.sampled_from(STRINGS), st.sampled_from(NUMBERS), st.booleans())
# Several strings at once (a list may hold two of them), or anything.
operand_list = st.one_of(
    st.lists(st.sampled_from(STRINGS), min_size=2, max_size=4, unique=True),
    st.lists(operand_scalar, max_size=5),
)
OPERANDS: dict[str, st.SearchStrategy[Any]] = {
    "$eq": operand_scalar,
    "$ne": operand_scalar,
    "$gt": st.sampled_from(NUMBERS),
    "$gte": st.sampled_from(NUMBERS),
    "$lt": st.sampled_from(NUMBERS),
    "$lte": st.sampled_from(NUMBERS),
    "$in": operand_list,
    "$nin": operand_list,
    "$exists": st.booleans(),
}
operator_object = st.lists(st.sampled_from(sorted(OPERANDS)), min_size=1, max_size=3, unique=True).flatmap(
    lambda ops: st.fixed_dictionaries({op: OPERANDS[op] for op in ops})
)
field_condition = st.one_of(operand_scalar, operator_object, operator_object)


def filter_objects(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    keys = FIELDS if depth == 0 else [*FIELDS, "$and", "$or"]

    def value_for(key: str) -> st.SearchStrategy[Any]:
        if key in ("$and", "$or"):
            return st.lists(filter_objects(depth - 1), min_size=1, max_size=3)
        return field_condition

    return st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({key: value_for(key) for key in chosen})
    )


single_condition = st.sampled_from(FIELDS).flatmap(
    lambda field: st.fixed_dictionaries({field: operator_object})
)
filters = st.one_of(single_condition, filter_objects(2), filter_objects(1), st.just({}))

# (ROWS_RATIO, SUBSET_COST, MERGE_FACTOR): the defaults, then each planner choice forced one way or the other.
KNOBS = [(8, 16, 2), (0, 0, 2), (10**9, 10**9, 2), (0, 10**9, 0), (10**9, 0, 10**9)]


@contextmanager
def knobs(rows_ratio: int, subset_cost: int, merge_factor: int) -> Iterator[None]:
    with ExitStack() as stack:
        patch = stack.enter_context(pytest.MonkeyPatch.context())
        patch.setattr(columns_module, "ROWS_RATIO", rows_ratio)
        patch.setattr(columns_module, "SUBSET_COST", subset_cost)
        patch.setattr(postings_module, "MERGE_FACTOR", merge_factor)
        yield


def positive(node: Node | None) -> bool:
    """No negation anywhere: no ``$ne``/``$nin``, no ``$exists: false``."""
    if node is None or isinstance(node, Range):
        return True
    if isinstance(node, And | Or):
        return all(positive(child) for child in node.children)
    if isinstance(node, In):
        return not node.negated
    assert isinstance(node, Exists)
    return node.present


def exact_estimate_expected(node: Node | None, metas: list[dict[str, Any]]) -> bool:
    """A single condition, or ranges ANDed on one field: the estimate must equal the true count."""
    if node is None or isinstance(node, Range | Exists):
        return True
    if isinstance(node, And):
        return (
            all(isinstance(child, Range) for child in node.children)
            and len({child.field for child in node.children if isinstance(child, Range)}) == 1
        )
    if isinstance(node, In):
        has_lists = any(isinstance(meta.get(node.field), list) for meta in metas)
        return len(node.strings) <= 1 or not has_lists
    return False


def check_postings_well_formed(built: MetadataColumns) -> None:
    for store in built._fields.values():
        index = store.index
        if index is None:
            continue
        present = index.present_rows()
        assert np.all(np.diff(present.astype(np.int64)) > 0)
        for postings in (index.codes, index.bools, index.numbers):
            assert postings.size == sum(run.size for run in postings.runs)
            previous_max = -1
            for run in postings.runs:
                keys, rows = run.keys, run.rows.astype(np.int64)
                assert not np.isnan(keys.astype(np.float64)).any()
                assert np.all(keys[1:] >= keys[:-1])
                same_key = keys[1:] == keys[:-1]
                assert np.all(rows[1:][same_key] > rows[:-1][same_key])
                assert int(rows.min()) > previous_max  # runs hold increasing row ranges
                previous_max = int(rows.max())
                assert np.isin(rows, present).all()


def _settings(examples: int) -> Any:
    """Deterministic runs (the same examples in CI as here), no example database, no deadline."""
    return settings(
        max_examples=examples,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def test_index_driven_results_match_scan_and_reference() -> None:
    checked = 0

    @_settings(EXAMPLES)
    @given(
        metas=records,
        cuts=st.lists(st.integers(0, 60), min_size=1, max_size=4),
        batch=st.lists(filters, min_size=FILTERS_PER_STEP, max_size=FILTERS_PER_STEP),
    )
    def check(metas: list[dict[str, Any]], cuts: list[int], batch: list[dict[str, Any]]) -> None:
        nonlocal checked
        parsed = [parse_filter(raw) for raw in batch]
        bounds = [0, *sorted(cut % (len(metas) + 1) for cut in cuts), len(metas)]
        scanned = MetadataColumns(indexed=False)
        indexed = [MetadataColumns() for _ in KNOBS]
        for start, stop in pairwise(bounds):
            scanned.extend(metas[start:stop])
            seen = metas[:stop]
            for raw, flt in zip(batch, parsed, strict=True):
                expected = [row for row, meta in enumerate(seen) if reference_matches(raw, meta)]
                assert scanned.matching_rows(flt).tolist() == expected, raw
                assert scanned.estimate(flt) == len(expected)
            for built, knob in zip(indexed, KNOBS, strict=True):
                with knobs(*knob):
                    built.extend(metas[start:stop])
                    for raw, flt in zip(batch, parsed, strict=True):
                        check_one(built, raw, flt, seen)
                        checked += 1
                    check_postings_well_formed(built)

    check()
    assert checked >= EXAMPLES * FILTERS_PER_STEP * len(KNOBS), checked


def check_one(built: MetadataColumns, raw: dict[str, Any], flt: Filter, seen: list[dict[str, Any]]) -> None:
    """Every index-driven answer for ``flt`` on ``built`` (holding ``seen``) against the oracle."""
    expected = [row for row, meta in enumerate(seen) if reference_matches(raw, meta)]
    rows = built.matching_rows(flt)
    assert rows.dtype == np.int64
    assert rows.tolist() == expected, (raw, seen)
    assert np.flatnonzero(built.evaluate(flt)).tolist() == expected, (raw, seen)
    estimate = built.estimate(flt)
    assert 0 <= estimate <= len(seen), (raw, estimate)
    if positive(flt.root) or not isinstance(flt.root, And | Or):
        # without negations, or for one condition (a negated one included): never below the truth
        assert estimate >= len(expected), (raw, estimate, len(expected))
    if exact_estimate_expected(flt.root, seen):
        assert estimate == len(expected), (raw, estimate, len(expected))


def test_persisted_columns_answer_like_the_built_ones() -> None:
    """``to_parts``/``from_buffer`` (the segment's ``columns`` section): loaded columns, read-only views of
    the bytes, answer every filter as the reference does, and keep doing so after more rows are appended;
    so does a ``fork`` (what a merge starts from), without changing the columns it was forked from."""
    checked = 0

    @_settings(EXAMPLES // 2)
    @given(
        metas=records,
        cut=st.integers(0, 60),
        batch=st.lists(filters, min_size=FILTERS_PER_STEP, max_size=FILTERS_PER_STEP),
    )
    def check(metas: list[dict[str, Any]], cut: int, batch: list[dict[str, Any]]) -> None:
        nonlocal checked
        cut %= len(metas) + 1
        built = MetadataColumns()
        built.extend(metas[:cut])
        blob = b"".join(bytes(part) for part in built.to_parts())
        loaded = MetadataColumns.from_buffer(memoryview(blob))
        assert len(loaded) == cut
        for raw in batch:
            check_one(loaded, raw, parse_filter(raw), metas[:cut])
            checked += 1
        loaded.extend(metas[cut:])  # appending copies the views first
        for raw in batch:
            check_one(loaded, raw, parse_filter(raw), metas)
        check_postings_well_formed(loaded)
        # A fork shares the arrays until it grows; growing it leaves the original as it was.
        forked = built.fork()
        forked.extend(metas[cut:])
        for raw in batch:
            check_one(forked, raw, parse_filter(raw), metas)
            check_one(built, raw, parse_filter(raw), metas[:cut])

    check()
    assert checked >= (EXAMPLES // 2) * FILTERS_PER_STEP, checked


def test_gathered_columns_answer_like_columns_built_from_the_gathered_rows() -> None:
    """``MetadataColumns.gather`` (what a flush or merge builds a block's columns with): the rows picked
    from several sources, in any order, answer every filter as the reference does on those rows' metadata;
    the sources come persisted and forked too (as segments do), the result keeps no string that no
    gathered row holds (a purge leaves none behind), and it round-trips and grows like built columns."""
    checked = 0

    @_settings(EXAMPLES // 2)
    @given(
        metas=records,
        cuts=st.lists(st.integers(0, 60), min_size=0, max_size=3),
        picks=st.lists(st.tuples(st.booleans(), st.randoms(use_true_random=False)), min_size=4, max_size=4),
        batch=st.lists(filters, min_size=FILTERS_PER_STEP, max_size=FILTERS_PER_STEP),
    )
    def check(
        metas: list[dict[str, Any]], cuts: list[int], picks: list[Any], batch: list[dict[str, Any]]
    ) -> None:
        nonlocal checked
        bounds = [0, *sorted(cut % (len(metas) + 1) for cut in cuts), len(metas)]
        sources: list[tuple[MetadataColumns, np.ndarray[Any, np.dtype[np.int64]]]] = []
        gathered: list[dict[str, Any]] = []
        for i, (start, stop) in enumerate(pairwise(bounds)):
            part = metas[start:stop]
            cols = MetadataColumns()
            cols.extend(part)
            if i % 2:  # as a loaded segment's columns: read-only views of the persisted bytes, forked
                blob = b"".join(bytes(p) for p in cols.to_parts())
                cols = MetadataColumns.from_buffer(memoryview(blob)).fork()
            keep_all, rnd = picks[i % len(picks)]
            rows = list(range(len(part)))
            if not keep_all:
                rows = rnd.sample(rows, rnd.randint(0, len(rows)))  # some rows, in any order
            sources.append((cols, np.array(rows, dtype=np.int64)))
            gathered += [part[r] for r in rows]
        out = MetadataColumns.gather(sources)
        assert len(out) == len(gathered)
        for raw in batch:
            check_one(out, raw, parse_filter(raw), gathered)
            checked += 1
        check_postings_well_formed(out)
        for store in out._fields.values():
            used = {*store.str_codes.view().tolist(), *store.elem_codes.view().tolist()}
            assert sorted(store.vocab.values()) == list(range(len(store.vocab)))
            assert used == set(store.vocab.values())
        blob = b"".join(bytes(p) for p in out.to_parts())
        loaded = MetadataColumns.from_buffer(memoryview(blob))
        loaded.extend(metas)
        for raw in batch:
            check_one(loaded, raw, parse_filter(raw), gathered + metas)

    check()
    assert checked >= (EXAMPLES // 2) * FILTERS_PER_STEP, checked
