"""Fuzzing the metadata filter parser and evaluators with hostile input, far beyond the filter grammar.

``test_filter_property`` checks the evaluators against the reference on a tiny vocabulary, and its loose
grammar swaps parts of valid filters for a handful of junk values. This goes wider, on what a client (the
REST body decoded, or any object the Python API is handed) can send:

* keys of every kind: the known operators in the wrong place, unknown ones (``$foo``, ``$``, ``$AND``,
  the text-match operators on an index without text), the empty string, unicode (surrogates included),
  strings far longer than a message shows, and keys that are not strings at all (ints past 4,300 digits,
  NaN, ``None``, tuples);
* values of every kind: integers past float64, NaN and infinities, subnormals, ``-0.0``, ints that float64
  cannot hold exactly, long and unicode strings, nested arrays and objects, empty ``$and``/``$or``/``$in``,
  and Python objects JSON cannot express (bytes, complex, sets, tuples);
* nesting far past the limit (and past Python's recursion limit), of ``$and``/``$or`` and of everything else.

The properties, for every input:

1. ``parse_filter`` accepts, or raises :class:`~spruce.errors.InvalidArgumentError` (the 400 every client
   error of the language is) and nothing else: no ``TypeError``, ``KeyError``, ``ValueError`` nor
   ``RecursionError`` escapes;
2. a refusal says where: it carries ``field="filter"``, starts ``Invalid filter:``, and either ends with
   ``(at <location>)`` where the location is a real path into the input (its last 80 characters), or, for
   a fault of the filter object itself, names the offending top-level key (or says the filter is not an
   object); and it stays short whatever the input's size (under :data:`MAX_MESSAGE`);
3. an accepted filter is hashable, and every evaluator (columns built at once and in chunks, indexed and
   scanning, ``evaluate``/``matching_rows``/``evaluate_rows``/``estimate``) runs without raising on
   random valid metadata and agrees with :func:`~spruce.filter.reference_matches`;
4. nesting deeper than :data:`~spruce.filter.MAX_DEPTH` is refused with the limit named; up to it, it is
   accepted and evaluated like any filter; deep structures elsewhere are refused without recursing.

A document index's parser options (full-text fields, ranking fields, text match disallowed) get the same
refusal checks, and an accepted filter without text conditions must parse as it does without them.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from json_slots import slots

from spruce.errors import InvalidArgumentError
from spruce.filter import MAX_DEPTH, Filter, MetadataColumns, parse_filter, reference_matches
from spruce.types import validate_metadata

MAX_MESSAGE = 4096
"""Characters an error message may have, whatever the size of the request (shown strings, names and the
location are shortened; at most five keys of one object are listed)."""

SETTINGS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

FIELDS = ["genre", "year", "tags", "flag", "ñame", "🌲"]
OPERATORS = ["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$and", "$or"]
ODD_OPERATORS = [
    "$not", "$nor", "$foo", "$", "$$and", "$AND", "$in ", "$regex", "$size", "$elemMatch",
    "$match_phrase", "$match_all", "$match_any",
]  # fmt: skip
HUGE_INT = 10**5000  # beyond float64 and beyond what repr() prints (4,300 digits)
ODD_NUMBERS: list[int | float] = [
    0, -0.0, 1, 1.0, 2**53 + 1, 2**63, 2**64, -(2**64), 10**308, 10**309, -(10**400),
    5e-324, 1.7976931348623157e308, float("nan"), float("inf"), float("-inf"),
]  # fmt: skip
# (built, not sampled: hypothesis shows a strategy's constants, and repr() of these raises ValueError)
huge_ints = st.integers(4_301, 6_000).map(lambda digits: -(10**digits) if digits % 2 else 10**digits)
STRINGS = ["drama", "", "1", "Drama", "ß", "ss", "e\u0301", "\u00e9", "\x00", "\ud800", "🌲" * 3]

any_text = st.text(st.characters(exclude_categories=()), max_size=12)  # surrogates too
long_text = st.integers(41, 5_000).map(lambda n: ("k" * n)[:-1] + "\x00")
# Keys: names and operators, in the right and the wrong places, and keys JSON cannot even have.
keys: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(FIELDS),
    st.sampled_from(OPERATORS),
    st.sampled_from(ODD_OPERATORS),
    st.just(""),
    any_text,
    any_text.map(lambda text: "$" + text),
    long_text,
    long_text.map(lambda text: "$" + text),
    st.integers(),
    huge_ints,
    huge_ints.map(lambda number: (number,)),
    st.sampled_from([float("nan"), None, True, (1, 2)]),
)
numbers: st.SearchStrategy[Any] = st.one_of(
    st.integers(), st.floats(), st.sampled_from(ODD_NUMBERS), huge_ints, st.sampled_from([0, 1, 2.5, -1])
)
scalars: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    numbers,
    st.sampled_from(STRINGS),
    any_text,
    long_text,
    st.sampled_from([b"drama", 1 + 2j, frozenset({1}), (1, "a"), object()]),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(keys, inner, max_size=4),
    ),
    max_leaves=16,
)

# Valid filters over wide values, so that acceptance (and evaluation) happens often.
operand_scalar: st.SearchStrategy[Any] = st.one_of(
    st.sampled_from(STRINGS),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -0.0, 1, 2**53 + 1, 5e-324, 1.7976931348623157e308, 10**308]),
)
range_operand = st.one_of(st.floats(allow_nan=False, allow_infinity=False), st.integers(-(2**70), 2**70))
OPERANDS: dict[str, st.SearchStrategy[Any]] = {
    "$eq": operand_scalar,
    "$ne": operand_scalar,
    "$gt": range_operand,
    "$gte": range_operand,
    "$lt": range_operand,
    "$lte": range_operand,
    "$in": st.lists(operand_scalar, max_size=6),
    "$nin": st.lists(operand_scalar, max_size=6),
    "$exists": st.booleans(),
}
operator_objects = st.lists(st.sampled_from(sorted(OPERANDS)), min_size=1, max_size=3, unique=True).flatmap(
    lambda ops: st.fixed_dictionaries({op: OPERANDS[op] for op in ops})
)


def valid_filters(depth: int) -> st.SearchStrategy[dict[str, Any]]:
    """Non-empty filter objects: field conditions and, while ``depth`` allows, ``$and``/``$or`` groups."""
    names = FIELDS if depth == 0 else [*FIELDS, "$and", "$or"]

    def value_for(key: str) -> st.SearchStrategy[Any]:
        if key in ("$and", "$or"):
            return st.lists(valid_filters(depth - 1), min_size=1, max_size=3)
        return st.one_of(operand_scalar, operator_objects)

    return st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True).flatmap(
        lambda chosen: st.fixed_dictionaries({key: value_for(key) for key in chosen})
    )


@st.composite
def damaged_filters(draw: st.DrawFn) -> Any:
    """A valid filter with junk put in one to three places: a value replaced, or a key added beside."""
    raw = draw(valid_filters(3))
    for _ in range(draw(st.integers(1, 3))):
        container, slot = draw(st.sampled_from(slots(raw)))
        if isinstance(container, dict) and draw(st.booleans()):
            container[draw(keys)] = draw(json_values)
        else:
            container[slot] = draw(st.one_of(json_values, st.just([]), st.just({})))
    return raw


filters = st.one_of(
    json_values,
    st.dictionaries(keys, json_values, max_size=4),
    st.dictionaries(st.sampled_from([*FIELDS, "$and", "$or"]), json_values, min_size=1, max_size=3),
    valid_filters(3),
    damaged_filters(),
)

# Valid stored metadata (validate_metadata normalises it as the engine does), over the same values.
stored_values = st.one_of(
    st.sampled_from(STRINGS),
    any_text,
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.integers(-(2**70), 2**70),
    st.sampled_from([0, -0.0, 1, 2**53 + 1, 5e-324, 1.7976931348623157e308]),
    st.lists(st.one_of(st.sampled_from(STRINGS), any_text), max_size=4),
    st.none(),
)
meta_keys = st.one_of(st.sampled_from(FIELDS), any_text.filter(lambda k: k and not k.startswith("$")))
records = st.lists(st.dictionaries(meta_keys, stored_values, max_size=5).map(validate_metadata), max_size=30)


# --- checks -------------------------------------------------------------------------------------------


def _locations(raw: Any) -> set[str]:
    """How a refusal may name each place in ``raw``: its path (keys, ``op[i]`` for array elements) joined
    with dots, as its last 80 characters behind ``...`` when longer (the parser's documented form).

    Only each path's length and last 81 characters are carried down, so a 100,000-deep input costs
    linear memory."""
    out: set[str] = set()
    stack: list[tuple[Any, int, str]] = [(raw, 0, "")]  # (value, length of its path, its tail)
    while stack:
        value, length, tail = stack.pop()
        out.add(tail if length <= 80 else "..." + tail[-80:])
        if isinstance(value, dict):
            for key, item in value.items():
                if not isinstance(key, str):
                    continue
                for sub, segment in [(item, key)] + (
                    [(element, f"{key}[{i}]") for i, element in enumerate(item)]
                    if isinstance(item, list)
                    else []
                ):
                    joined = f"{tail}.{segment}" if length else segment
                    stack.append((sub, length + len(joined) - len(tail), joined[-81:]))
    return out


def _bad_top_level_key(raw: dict[Any, Any], message: str) -> bool:
    """Whether ``message`` names a key of ``raw`` that cannot stand at the top level of a filter."""
    for key in raw:
        if not isinstance(key, str):
            if "field names must be strings" in message:
                return True
        elif key == "":
            if "field names must be non-empty strings" in message:
                return True
        elif key.startswith("$") and key not in ("$and", "$or") and key[:40] in message:
            return True
    return False


def check_refusal(error: InvalidArgumentError, raw: Any, field: str = "filter") -> None:
    """Property 2: the refusal says where, in a short message."""
    assert type(error) is InvalidArgumentError
    message = error.message
    assert error.field == field
    assert message.startswith(f"Invalid {field}: "), message
    assert len(message) <= MAX_MESSAGE, (len(message), message[:300])
    if any(message.endswith(f" (at {location})") for location in _locations(raw) if location):
        return
    # No location: a fault of the filter object itself
    if isinstance(raw, dict):
        assert _bad_top_level_key(raw, message), message
    else:
        assert "a filter must be a JSON object" in message, message


def parse_or_refuse(raw: Any, **options: Any) -> Filter | None:
    """Property 1: accepted, or refused with an InvalidArgumentError (checked); None when refused."""
    try:
        parsed = parse_filter(raw, **options)
    except InvalidArgumentError as error:
        check_refusal(error, raw, options.get("field", "filter"))
        return None
    hash(parsed)
    assert isinstance(parsed, Filter)
    return parsed


def refusal_message(raw: Any) -> str:
    """The message ``parse_filter`` refuses ``raw`` with."""
    try:
        parse_filter(raw)
    except InvalidArgumentError as error:
        return error.message
    raise AssertionError("accepted")


def check_evaluation(raw: Any, parsed: Filter, metas: list[dict[str, Any]], cuts: list[int]) -> None:
    """Property 3: every evaluator agrees with the reference, on columns built in one go and in chunks."""
    expected = [reference_matches(raw, meta) for meta in metas]
    whole = MetadataColumns()
    whole.extend(metas)
    scan = MetadataColumns(indexed=False)
    bounds = [0, *sorted(cut % (len(metas) + 1) for cut in cuts), len(metas)]
    for start, stop in pairwise(bounds):
        scan.extend(metas[start:stop])
    for columns in (whole, scan):
        assert columns.evaluate(parsed).tolist() == expected, (raw, metas)
        assert columns.matching_rows(parsed).tolist() == np.flatnonzero(expected).tolist()
        rows = np.array([cut % len(metas) for cut in cuts] if metas else [], dtype=np.int64)
        assert columns.evaluate_rows(parsed, rows).tolist() == [expected[row] for row in rows]
        estimate = columns.estimate(parsed)
        assert estimate >= 0
        if not columns.indexed:
            assert estimate == sum(expected)


# --- tests --------------------------------------------------------------------------------------------


@settings(SETTINGS, max_examples=400)
@given(raw=filters, metas=records, cuts=st.lists(st.integers(0, 40), max_size=4))
def test_any_input_is_accepted_and_evaluated_exactly_or_refused_cleanly(
    raw: Any, metas: list[dict[str, Any]], cuts: list[int]
) -> None:
    parsed = parse_or_refuse(raw)
    if parsed is not None:
        check_evaluation(raw, parsed, metas, cuts)


@settings(SETTINGS, max_examples=300)
@given(
    raw=filters,
    text_fields=st.sampled_from([frozenset(), frozenset({"genre"}), frozenset({"genre", "🌲"})]),
    vector_fields=st.sampled_from([frozenset(), frozenset({"year"})]),
    text_match=st.booleans(),
)
def test_document_index_options_refuse_cleanly_too(
    raw: Any, text_fields: frozenset[str], vector_fields: frozenset[str], text_match: bool
) -> None:
    parsed = parse_or_refuse(
        raw,
        field="query.filter",
        text_fields=text_fields,
        ranking_fields=text_fields | vector_fields,
        text_match=text_match,
    )
    if parsed is not None and not parsed.has_text:
        assert parse_filter(raw) == parsed  # the options only ever refuse or add text conditions


SHAPES = ["and-chain", "or-chain", "alternating", "second-child", "beside-field"]


def _nested(levels: int, shape: str, leaf: dict[str, Any]) -> dict[str, Any]:
    """``levels`` ``$and``/``$or`` groups around ``leaf``, built without recursion."""
    raw = leaf
    for level in range(levels):
        op = {"and-chain": "$and", "or-chain": "$or"}.get(shape, "$and" if level % 2 else "$or")
        if shape == "second-child":
            raw = {op: [{"year": {"$gte": level}}, raw]}
        elif shape == "beside-field":
            raw = {"genre": {"$ne": str(level)}, op: [raw]}
        else:
            raw = {op: [raw]}
    return raw


@SETTINGS
@given(
    levels=st.one_of(st.integers(0, MAX_DEPTH + 2), st.integers(MAX_DEPTH + 3, 3_000)),
    shape=st.sampled_from(SHAPES),
    leaf=valid_filters(0),
    metas=records,
)
def test_logical_nesting_is_limited_not_a_recursion_error(
    levels: int, shape: str, leaf: dict[str, Any], metas: list[dict[str, Any]]
) -> None:
    raw = _nested(levels, shape, leaf)
    try:
        parsed = parse_filter(raw)
    except InvalidArgumentError as error:
        assert levels > MAX_DEPTH, (levels, error.message)
        assert f"nested more than {MAX_DEPTH} levels deep (the limit is {MAX_DEPTH})" in error.message
        check_refusal(error, raw)
        return
    assert levels <= MAX_DEPTH
    check_evaluation(raw, parsed, metas, [])


WRAPPINGS = ["object-in-field", "operator-in-operator", "array-in-in", "group-in-field"]


def _wrapped(levels: int, shape: str) -> Any:
    """Some value nested ``levels`` deep in a place where the language allows no nesting at all."""
    inner: Any = 1
    for _ in range(levels):
        if shape == "object-in-field":
            inner = {"genre": inner}
        elif shape == "operator-in-operator":
            inner = {"$eq": inner}
        elif shape == "array-in-in":
            inner = [inner]
        else:  # filter objects inside a field condition
            inner = {"$and": [inner]}
    if shape == "array-in-in":
        return {"tags": {"$in": [inner]}}
    return {"year": inner}


@SETTINGS
@given(
    levels=st.integers(2, 3_000),  # (one level of $eq in a field is just a condition)
    shape=st.sampled_from(WRAPPINGS),
)
def test_deep_values_elsewhere_are_refused_without_recursing(levels: int, shape: str) -> None:
    assert parse_or_refuse(_wrapped(levels, shape)) is None, shape


def test_far_past_the_recursion_limit() -> None:
    """100,000 levels (Python's recursion limit is 1,000) of every nesting, once each."""
    for shape in SHAPES:
        with pytest.raises(InvalidArgumentError, match=f"nested more than {MAX_DEPTH} levels deep"):
            parse_filter(_nested(100_000, shape, {"genre": "drama"}))
    for shape in WRAPPINGS:
        assert parse_or_refuse(_wrapped(100_000, shape)) is None, shape


@settings(SETTINGS, max_examples=30)
@given(
    op=st.sampled_from(["$in", "$nin"]),
    count=st.sampled_from([0, 1, 10_000, 10_001, 50_000]),
    value=operand_scalar,
)
def test_in_lists_at_and_past_the_limit(op: str, count: int, value: Any) -> None:
    raw = {"tags": {op: [value] * count}}
    parsed = parse_or_refuse(raw)
    assert (parsed is None) == (count > 10_000)
    if parsed is None:
        message = refusal_message(raw)
        assert f"{op} has {count} values, more than the limit of 10000 values" in message
    else:
        check_evaluation(raw, parsed, [{"tags": ["a"]}, {"tags": value}, {}], [])


def test_the_examples_that_found_bugs() -> None:
    """Inputs the fuzzing found mishandled (kept as plain cases so they run first and always)."""
    # A non-string key with no printable repr leaked ValueError (int max str digits) from the message.
    unprintable: list[Any] = [
        {"year": {HUGE_INT: 1}},
        {"year": {"$eq": 1, HUGE_INT: 2}},
        {"year": {(HUGE_INT,): 1}},
    ]
    for raw in unprintable:
        assert parse_or_refuse(raw) is None
    # A long name was echoed whole (100 KB of key, 100 KB of message; 400 KB for NUL characters).
    long: list[Any] = [
        {"k" * 100_000: {"$foo": 1}},
        {"$" + "x" * 100_000: 1},
        {"year": {"\x00" * 100_000: 1, "$eq": 1}},
        {"year": {f"k{i}": 1 for i in range(50_000)}},
        {"year": {f"$k{i}": 1 for i in range(50_000)}},
    ]
    for raw in long:
        assert parse_or_refuse(raw) is None
