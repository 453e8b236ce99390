"""MetadataColumns: hand-checked answers for every operator, and the append/subset machinery.

Each expected row list below was worked out by hand from ``ROWS``; the reference evaluator is held to the
same answers, so these cases check the oracle as well as the fast path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import spruce.filter.columns as columns_module
from spruce.filter import MetadataColumns, parse_filter, reference_matches

ROWS: list[dict[str, object]] = [
    {"genre": "drama", "year": 2019.0, "tags": ["a", "b"], "ok": True},  # 0
    {"genre": "comedy", "year": 2005.0, "tags": [], "ok": False},  # 1
    {"genre": "drama", "year": "2019", "tags": "a"},  # 2: year is a string, tags a scalar
    {"year": 1.0, "ok": 1.0},  # 3: ok is the number 1, not true
    {"ok": True, "year": True},  # 4: year is a bool
    {},  # 5: nothing at all
    {"genre": ["drama", "thriller"], "year": -0.0},  # 6: genre is a list
    {"genre": 3.0, "year": 0.0, "tags": ["c"]},  # 7: genre is a number
]
ALL = list(range(len(ROWS)))

CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({}, ALL),
    # $eq and implicit equality: typed, lists match on any element
    ({"genre": "drama"}, [0, 2, 6]),
    ({"genre": {"$eq": "drama"}}, [0, 2, 6]),
    ({"genre": "thriller"}, [6]),
    ({"genre": 3}, [7]),
    ({"genre": "nope"}, []),
    ({"year": 2019}, [0]),
    ({"year": "2019"}, [2]),
    ({"year": 0}, [6, 7]),
    ({"year": {"$eq": -0.0}}, [6, 7]),
    ({"ok": True}, [0, 4]),
    ({"ok": 1}, [3]),
    ({"ok": False}, [1]),
    ({"ok": 0}, []),
    ({"tags": "a"}, [0, 2]),
    # $ne: present and not equal (other types count as not equal); lists: no element equal
    ({"genre": {"$ne": "drama"}}, [1, 7]),
    ({"genre": {"$ne": 3}}, [0, 1, 2, 6]),
    ({"genre": {"$ne": "nope"}}, [0, 1, 2, 6, 7]),
    ({"ok": {"$ne": True}}, [1, 3]),
    ({"ok": {"$ne": 1}}, [0, 1, 4]),
    ({"tags": {"$ne": "zzz"}}, [0, 1, 2, 7]),
    ({"tags": {"$ne": "a"}}, [1, 7]),
    # ranges: numbers only, never bools, strings or lists
    ({"year": {"$gt": 2000}}, [0, 1]),
    ({"year": {"$gte": 2019}}, [0]),
    ({"year": {"$gt": 0}}, [0, 1, 3]),
    ({"year": {"$lt": 1}}, [6, 7]),
    ({"year": {"$lte": 1}}, [3, 6, 7]),
    ({"year": {"$gte": 0.0, "$lte": -0.0}}, [6, 7]),
    ({"year": {"$gte": 2000, "$lt": 2010}}, [1]),
    ({"ok": {"$gte": 1}}, [3]),
    ({"tags": {"$gt": -1}}, []),
    ({"genre": {"$lt": 1e300}}, [7]),
    # $in / $nin
    ({"genre": {"$in": ["drama", 3]}}, [0, 2, 6, 7]),
    ({"genre": {"$in": ["thriller", "comedy"]}}, [1, 6]),
    ({"genre": {"$nin": ["drama", "comedy"]}}, [7]),
    ({"genre": {"$nin": [3.0]}}, [0, 1, 2, 6]),
    ({"tags": {"$in": ["b", "c"]}}, [0, 7]),
    ({"tags": {"$nin": ["a"]}}, [1, 7]),
    ({"tags": {"$in": []}}, []),
    ({"tags": {"$nin": []}}, [0, 1, 2, 7]),
    ({"ok": {"$in": [True, 1]}}, [0, 3, 4]),
    ({"ok": {"$in": [True, False]}}, [0, 1, 4]),
    ({"ok": {"$nin": [True]}}, [1, 3]),
    ({"year": {"$in": [2019, "2019", 0]}}, [0, 2, 6, 7]),
    ({"year": {"$nin": [2019, 2005, True]}}, [2, 3, 6, 7]),
    # $exists: an empty list is present
    ({"tags": {"$exists": True}}, [0, 1, 2, 7]),
    ({"tags": {"$exists": False}}, [3, 4, 5, 6]),
    ({"year": {"$exists": True, "$ne": 2019}}, [1, 2, 3, 4, 6, 7]),
    # a field no row has: only $exists: false matches
    ({"missing": "x"}, []),
    ({"missing": {"$ne": "x"}}, []),
    ({"missing": {"$nin": ["x"]}}, []),
    ({"missing": {"$gt": 0}}, []),
    ({"missing": {"$exists": True}}, []),
    ({"missing": {"$exists": False}}, ALL),
    # $and / $or / several keys
    ({"genre": "drama", "tags": "a"}, [0, 2]),
    ({"$and": [{"genre": "drama"}, {"year": 2019}]}, [0]),
    ({"$or": [{"genre": "comedy"}, {"year": {"$lt": 1}}]}, [1, 6, 7]),
    ({"$or": [{"$and": [{"ok": True}, {"year": {"$exists": False}}]}, {"tags": {"$in": ["c"]}}]}, [7]),
    ({"$and": [{"$or": [{"ok": False}, {"ok": 1}]}, {"year": {"$gte": 1}}]}, [1, 3]),
    ({"$or": [{"missing": 1}, {"$and": [{"genre": {"$exists": True}}, {"tags": {"$exists": False}}]}]}, [6]),
    ({"$and": [{"genre": "nope"}, {"year": 2019}]}, []),
    ({"$or": [{"year": {"$exists": True}}, {"genre": "x"}, {"ok": True}]}, [0, 1, 2, 3, 4, 6, 7]),
]


def _columns(rows: list[dict[str, object]], *chunks: int) -> MetadataColumns:
    """Columns over ``rows``, appended in pieces of the given sizes (the rest in one last piece)."""
    built = MetadataColumns()
    start = 0
    for size in chunks:
        built.extend(rows[start : start + size])
        start += size
    built.extend(rows[start:])
    return built


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_every_operator_on_hand_checked_rows(raw: dict[str, Any], expected: list[int]) -> None:
    parsed = parse_filter(raw)
    assert [i for i, meta in enumerate(ROWS) if reference_matches(raw, meta)] == expected
    for built in (_columns(ROWS), _columns(ROWS, 1, 1, 1, 1, 1, 1, 1), _columns(ROWS, 0, 3, 0, 2)):
        got = built.evaluate(parsed)
        assert got.dtype == np.bool_
        assert got.shape == (len(ROWS),)
        assert np.flatnonzero(got).tolist() == expected


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_evaluate_rows_agrees_on_any_candidate_list(raw: dict[str, Any], expected: list[int]) -> None:
    built = _columns(ROWS, 2, 3)
    parsed = parse_filter(raw)
    candidates = np.array([7, 0, 0, 5, 3, 6, 6, 1, 2, 4], dtype=np.int64)
    assert built.evaluate_rows(parsed, candidates).tolist() == [int(row) in expected for row in candidates]
    assert built.evaluate_rows(parsed, np.array([], dtype=np.int64)).tolist() == []
    assert built.evaluate_rows(parsed, [3]).tolist() == [3 in expected]


@pytest.mark.parametrize("ratio", [0, 1, 10**9])
@pytest.mark.parametrize(
    ("raw", "expected"), [case for case in CASES if "$and" in case[0] or "$or" in case[0]]
)
def test_narrowing_never_changes_the_answer(
    raw: dict[str, Any], expected: list[int], ratio: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(columns_module, "NARROW_RATIO", ratio)
    assert np.flatnonzero(_columns(ROWS).evaluate(parse_filter(raw))).tolist() == expected


def test_empty_columns() -> None:
    empty = MetadataColumns()
    assert len(empty) == 0
    for raw in ({}, {"a": 1}, {"a": {"$exists": False}}, {"$or": [{"a": 1}, {"b": {"$ne": 2}}]}):
        result = empty.evaluate(parse_filter(raw))
        assert result.shape == (0,)
        assert result.dtype == np.bool_


def test_extend_in_many_chunks_equals_one_shot() -> None:
    rng = np.random.default_rng(7)
    vocabulary = ["x", "y", "z", "w"]
    rows: list[dict[str, object]] = []
    for _ in range(3000):
        row: dict[str, object] = {}
        if rng.random() < 0.7:
            row["n"] = float(rng.integers(0, 50))
        if rng.random() < 0.5:
            row["s"] = str(rng.choice(vocabulary))
        if rng.random() < 0.3:
            row["l"] = [str(v) for v in rng.choice(vocabulary, size=int(rng.integers(0, 4)))]
        if rng.random() < 0.2:
            row["n" if rng.random() < 0.5 else "s"] = bool(rng.random() < 0.5)
        rows.append(row)
    one_shot = _columns(rows)
    chunked = MetadataColumns()
    start = 0
    while start < len(rows):
        size = int(rng.integers(0, 70))
        chunked.extend(rows[start : start + size])
        start += size
    assert len(chunked) == len(one_shot) == len(rows)
    filters: list[dict[str, Any]] = [
        {"n": {"$gte": 10, "$lt": 30}},
        {"s": {"$in": ["x", "z"]}},
        {"l": {"$nin": ["y"]}},
        {"$or": [{"l": "w"}, {"n": True}, {"s": {"$exists": False}}]},
        {"$and": [{"n": {"$ne": 3}}, {"s": {"$ne": "x"}}, {"l": {"$exists": True}}]},
    ]
    for raw in filters:
        parsed = parse_filter(raw)
        expected = [reference_matches(raw, meta) for meta in rows]
        assert one_shot.evaluate(parsed).tolist() == expected
        assert chunked.evaluate(parsed).tolist() == expected
        assert any(expected) and not all(expected)  # the filter discriminates


def test_results_stay_valid_while_rows_are_appended() -> None:
    built = _columns(ROWS)
    drama = parse_filter({"genre": "drama"})
    before = built.evaluate(drama)
    built.extend([{"genre": "drama"}, {"genre": ["x", "drama"]}, {"genre": "x"}])
    assert len(built) == len(ROWS) + 3
    assert np.flatnonzero(before).tolist() == [0, 2, 6]
    assert np.flatnonzero(built.evaluate(drama)).tolist() == [0, 2, 6, 8, 9]
    assert built.evaluate_rows(drama, [9, 10, 0]).tolist() == [True, False, True]


def test_results_are_fresh_arrays_the_caller_may_modify() -> None:
    built = _columns(ROWS)
    for raw in ({}, {"tags": {"$exists": True}}, {"genre": "drama"}):
        parsed = parse_filter(raw)
        first = built.evaluate(parsed)
        expected = first.copy()
        first[:] = ~first
        assert built.evaluate(parsed).tolist() == expected.tolist()


def test_null_values_are_absent_and_ints_are_numbers() -> None:
    built = MetadataColumns()
    built.extend([{"a": None}, {"a": 2}, {"a": 2.0}, {"a": True}])
    assert built.evaluate(parse_filter({"a": {"$exists": True}})).tolist() == [False, True, True, True]
    assert built.evaluate(parse_filter({"a": 2})).tolist() == [False, True, True, False]
    assert built.evaluate(parse_filter({"a": {"$ne": 2}})).tolist() == [False, False, False, True]
    assert reference_matches({"a": {"$exists": False}}, {"a": None})


@pytest.mark.parametrize("bad", [{"a": {"nested": 1}}, {"a": [1, 2]}, {"a": ["x", 3]}, {"a": b"bytes"}])
def test_an_invalid_value_adds_no_row_at_all(bad: dict[str, object]) -> None:
    built = _columns(ROWS)
    with pytest.raises(TypeError):
        built.extend([{"genre": "new"}, bad])
    assert len(built) == len(ROWS)
    assert not built.evaluate(parse_filter({"genre": "new"})).any()
    built.extend([{"genre": "new"}])
    assert np.flatnonzero(built.evaluate(parse_filter({"genre": "new"}))).tolist() == [len(ROWS)]


@pytest.mark.parametrize("rows", [[-1], [len(ROWS)], [0, 99]])
def test_evaluate_rows_refuses_row_numbers_out_of_range(rows: list[int]) -> None:
    with pytest.raises(IndexError):
        _columns(ROWS).evaluate_rows(parse_filter({"genre": "drama"}), rows)


def test_evaluate_rows_wants_integer_row_numbers() -> None:
    built = _columns(ROWS)
    assert built.evaluate_rows(parse_filter({"genre": "drama"}), []).tolist() == []
    assert built.evaluate_rows(parse_filter({"genre": "drama"}), np.array([2], dtype=np.uint8)).tolist() == [
        True
    ]
    with pytest.raises(TypeError):
        built.evaluate_rows(parse_filter({"genre": "drama"}), [0.0])


def test_large_in_lists_on_many_rows() -> None:
    rng = np.random.default_rng(1)
    count = 50_000
    numbers = rng.integers(0, 20_000, size=count).astype(np.float64)
    words = rng.integers(0, 20_000, size=count)
    rows: list[dict[str, object]] = [
        {"n": float(n), "w": f"w{w}", "l": [f"w{w}", f"v{w % 7}"]}
        for n, w in zip(numbers, words, strict=True)
    ]
    built = _columns(rows, 10_000, 17, 20_000)
    wanted_numbers = rng.choice(20_000, size=5_000, replace=False).astype(np.float64)
    wanted_words = rng.choice(20_000, size=5_000, replace=False)
    in_numbers = built.evaluate(parse_filter({"n": {"$in": wanted_numbers.tolist()}}))
    assert in_numbers.tolist() == np.isin(numbers, wanted_numbers).tolist()
    strings = [f"w{w}" for w in wanted_words] + [f"unseen{i}" for i in range(4_000)]
    expected_words = np.isin(words, wanted_words)
    assert built.evaluate(parse_filter({"w": {"$in": strings}})).tolist() == expected_words.tolist()
    assert built.evaluate(parse_filter({"l": {"$in": strings}})).tolist() == expected_words.tolist()
    assert built.evaluate(parse_filter({"w": {"$nin": strings}})).tolist() == (~expected_words).tolist()
    picked = rng.integers(0, count, size=1_000)
    subset = built.evaluate_rows(parse_filter({"l": {"$nin": strings}}), picked)
    assert subset.tolist() == (~expected_words[picked]).tolist()
