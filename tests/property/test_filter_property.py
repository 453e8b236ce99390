"""The vectorised filter evaluator agrees with the plain reference evaluator on generated data.

Records and filters draw from a deliberately tiny vocabulary (four field names, a handful of strings and
numbers, including ``0.0``/``-0.0`` and ints that equal floats) so that filters actually hit: mixed types in
one field, lists (empty ones too), missing fields, bools next to the numbers 0 and 1. Filters use every
operator, implicit equality, several operators per field and nested ``$and``/``$or``.

Each example checks a batch of filters against one record set, in four ways: ``evaluate`` on columns
built in one go, on columns built from random chunks, with the ``$and``/``$or`` narrowing switched to
"always" and "never", and ``evaluate_rows`` on a random candidate list (unsorted, with repeats). The run is
derandomised and database-free so CI sees the same cases every time.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from itertools import pairwise
from typing import Any

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import spruce.filter.columns as columns_module
from spruce.errors import InvalidArgumentError
from spruce.filter import MetadataColumns, parse_filter, reference_matches

FIELDS = ["genre", "year", "tags", "flag"]
STRINGS = ["a", "b", "c", "1", ""]
NUMBERS: list[int | float] = [0, 1, 2, -1, 0.0, -0.0, 1.0, 1.5, 2.0, 1e300]
STORED_NUMBERS = [0.0, -0.0, 1.0, 1.5, 2.0, -1.0, 1e300]
FILTERS_PER_EXAMPLE = 12
EXAMPLES = 200
REQUIRED_FILTERS = 2_000

stored_scalar = st.one_of(st.sampled_from(STRINGS), st.sampled_from(STORED_NUMBERS), st.booleans())
stored_value = st.one_of(stored_scalar, st.lists(st.sampled_from(STRINGS), max_size=3))
records = st.lists(st.dictionaries(st.sampled_from(FIELDS), stored_value, max_size=4), max_size=40)

operand_scalar = st.one_of(st.sampled_from(STRINGS), st.sampled_from(NUMBERS), st.booleans())
OPERANDS: dict[str, st.SearchStrategy[Any]] = {
    "$eq": operand_scalar,
    "$ne": operand_scalar,
    "$gt": st.sampled_from(NUMBERS),
    "$gte": st.sampled_from(NUMBERS),
    "$lt": st.sampled_from(NUMBERS),
    "$lte": st.sampled_from(NUMBERS),
    "$in": st.lists(operand_scalar, max_size=5),
    "$nin": st.lists(operand_scalar, max_size=5),
    "$exists": st.booleans(),
}

operator_object = st.lists(st.sampled_from(sorted(OPERANDS)), min_size=1, max_size=3, unique=True).flatmap(
    lambda ops: st.fixed_dictionaries({op: OPERANDS[op] for op in ops})
)
field_condition = st.one_of(operand_scalar, operator_object)


def filter_objects(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """Non-empty filter objects: field conditions and, while ``depth`` allows, ``$and``/``$or`` groups."""
    keys = FIELDS if depth == 0 else [*FIELDS, "$and", "$or"]

    def value_for(key: str) -> st.SearchStrategy[Any]:
        if key in ("$and", "$or"):
            return st.lists(filter_objects(depth - 1), min_size=1, max_size=3)
        return field_condition

    return st.lists(st.sampled_from(keys), min_size=1, max_size=3, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({key: value_for(key) for key in chosen})
    )


filters = st.one_of(st.just({}), filter_objects(3))


@contextmanager
def narrowing(ratio: int) -> Iterator[None]:
    """Force the ``$and``/``$or`` switch to subset evaluation: ratio 0 = always, huge = never."""
    saved = columns_module.NARROW_RATIO
    columns_module.NARROW_RATIO = ratio
    try:
        yield
    finally:
        columns_module.NARROW_RATIO = saved


def build(metas: list[dict[str, Any]], cuts: list[int]) -> MetadataColumns:
    """Columns built by extending with ``metas`` split at the ``cuts`` positions."""
    built = MetadataColumns()
    bounds = [0, *sorted(cut % (len(metas) + 1) for cut in cuts), len(metas)]
    for start, stop in pairwise(bounds):
        built.extend(metas[start:stop])
    assert len(built) == len(metas)
    return built


def test_vectorised_evaluation_matches_reference() -> None:
    checked = 0

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(
        metas=records,
        batch=st.lists(filters, min_size=FILTERS_PER_EXAMPLE, max_size=FILTERS_PER_EXAMPLE),
        cuts=st.lists(st.integers(0, 40), max_size=4),
        picks=st.lists(st.integers(0, 10_000), max_size=30),
    )
    def check(
        metas: list[dict[str, Any]], batch: list[dict[str, Any]], cuts: list[int], picks: list[int]
    ) -> None:
        nonlocal checked
        whole = MetadataColumns()
        whole.extend(metas)
        chunked = build(metas, cuts)
        rows = np.array([pick % len(metas) for pick in picks] if metas else [], dtype=np.int64)
        for raw in batch:
            parsed = parse_filter(raw)
            expected = np.array([reference_matches(raw, meta) for meta in metas], dtype=bool)
            got = whole.evaluate(parsed)
            assert got.dtype == np.bool_ and got.shape == (len(metas),)
            assert got.tolist() == expected.tolist(), (raw, metas)
            assert chunked.evaluate(parsed).tolist() == expected.tolist(), (raw, cuts)
            assert whole.evaluate_rows(parsed, rows).tolist() == expected[rows].tolist(), (raw, rows)
            for ratio in (0, 10**9):
                with narrowing(ratio):
                    assert whole.evaluate(parsed).tolist() == expected.tolist(), (raw, ratio)
            checked += 1

    check()
    assert checked >= REQUIRED_FILTERS, checked


# A looser grammar: arbitrary JSON-ish values in every position. The parser must either accept (and then
# the evaluators must agree) or refuse with InvalidArgumentError; no other exception may escape.
json_scalar = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, 2.5, -1, float("nan"), float("inf"), 10**400]),
    st.sampled_from(STRINGS),
)
json_value = st.recursive(
    json_scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from([*FIELDS, *OPERANDS, "$and", "$or", "$not", "$foo", ""]), inner, max_size=3
        ),
    ),
    max_leaves=12,
)


json_filter = st.one_of(
    json_value,
    st.dictionaries(st.sampled_from([*FIELDS, "$and", "$or"]), json_value, max_size=3),
    # Valid filters with one part swapped for junk: errors deep inside an otherwise fine tree.
    st.tuples(filter_objects(2), st.sampled_from(FIELDS), json_value).map(lambda t: {**t[0], t[1]: t[2]}),
)


@settings(max_examples=600, derandomize=True, database=None, deadline=None)
@given(raw=json_filter, metas=records)
def test_parser_accepts_or_refuses_cleanly(raw: object, metas: list[dict[str, Any]]) -> None:
    try:
        parsed = parse_filter(raw)
    except InvalidArgumentError as error:
        assert error.field == "filter"
        assert error.message.startswith("Invalid filter: ")
        return
    built = MetadataColumns()
    built.extend(metas)
    assert built.evaluate(parsed).tolist() == [reference_matches(raw, meta) for meta in metas]
