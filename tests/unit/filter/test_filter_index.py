"""Postings, ``estimate`` and ``matching_rows``: hand-checked answers, bounds, and the index's own shape.

``ROWS`` mixes types within a field, lists (with a repeated element), missing fields, NaN and infinities,
bools next to the numbers 0 and 1. Every expected row list was worked out by hand; the reference evaluator
is held to the same answers.
"""

from __future__ import annotations

import math
from itertools import pairwise
from typing import Any

import numpy as np
import pytest

import spruce.filter.columns as columns_module
import spruce.filter.postings as postings_module
from spruce.filter import MetadataColumns, parse_filter, reference_matches
from spruce.filter.postings import FieldIndex, Postings

ROWS: list[dict[str, Any]] = [
    {"genre": "drama", "year": 2019, "tags": ["a", "b", "a"], "ok": True},  # 0: "a" twice in one list
    {"genre": "comedy", "year": 2005.0, "tags": [], "ok": False},  # 1
    {"genre": "drama", "year": "2019", "tags": "a"},  # 2: year a string, tags a scalar
    {"year": 1.0, "ok": 1.0},  # 3: ok is the number 1, not true
    {"ok": True, "year": True},  # 4: year a bool
    {},  # 5
    {"genre": ["drama", "thriller"], "year": -0.0},  # 6: genre a list
    {"genre": 3.0, "year": 0.0, "tags": ["c", "b"]},  # 7: genre a number
    {"year": math.nan, "tags": ["b"]},  # 8: NaN is present but equals and orders with nothing
    {"year": math.inf, "genre": "comedy"},  # 9
    {"year": -math.inf, "ok": False},  # 10
]
N = len(ROWS)
ALL = list(range(N))

CASES: list[tuple[dict[str, Any], list[int]]] = [
    ({}, ALL),
    ({"genre": "drama"}, [0, 2, 6]),
    ({"genre": "comedy"}, [1, 9]),
    ({"genre": 3}, [7]),
    ({"genre": "nope"}, []),
    ({"tags": "a"}, [0, 2]),
    ({"tags": "b"}, [0, 7, 8]),
    ({"tags": {"$in": ["a", "b"]}}, [0, 2, 7, 8]),
    ({"tags": {"$nin": ["a", "b"]}}, [1]),
    ({"tags": {"$ne": "b"}}, [1, 2]),
    ({"year": 2019}, [0]),
    ({"year": 0}, [6, 7]),
    ({"year": {"$in": [2019, 2005, 0, "2019", True]}}, [0, 1, 2, 4, 6, 7]),
    ({"year": {"$nin": [2019, 2005]}}, [2, 3, 4, 6, 7, 8, 9, 10]),
    ({"year": {"$gt": 0}}, [0, 1, 3, 9]),
    ({"year": {"$gte": 0}}, [0, 1, 3, 6, 7, 9]),
    ({"year": {"$lt": 1}}, [6, 7, 10]),
    ({"year": {"$lte": 1}}, [3, 6, 7, 10]),
    ({"year": {"$gt": 1, "$gte": 1}}, [0, 1, 9]),
    ({"year": {"$gte": 1, "$gt": 1}}, [0, 1, 9]),
    ({"year": {"$gte": 1, "$lte": 1}}, [3]),
    ({"year": {"$lt": 1, "$lte": 1}}, [6, 7, 10]),
    ({"year": {"$gt": 2, "$lt": 1}}, []),
    ({"year": {"$gte": 2000, "$lt": 2010}}, [1]),
    ({"year": {"$gte": 0.0, "$lte": -0.0}}, [6, 7]),
    ({"year": {"$ne": 0}}, [0, 1, 2, 3, 4, 8, 9, 10]),
    ({"ok": True}, [0, 4]),
    ({"ok": False}, [1, 10]),
    ({"ok": {"$in": [True, False]}}, [0, 1, 4, 10]),
    ({"ok": {"$ne": True}}, [1, 3, 10]),
    ({"ok": 1}, [3]),
    ({"tags": {"$exists": True}}, [0, 1, 2, 7, 8]),
    ({"tags": {"$exists": False}}, [3, 4, 5, 6, 9, 10]),
    ({"missing": "x"}, []),
    ({"missing": {"$nin": ["x"]}}, []),
    ({"missing": {"$exists": False}}, ALL),
    ({"genre": "drama", "tags": "a"}, [0, 2]),
    ({"$and": [{"genre": {"$in": ["drama", "comedy"]}}, {"year": {"$gte": 2005}}]}, [0, 1, 9]),
    ({"$or": [{"genre": "comedy"}, {"year": {"$lt": 1}}]}, [1, 6, 7, 9, 10]),
    ({"$or": [{"tags": "c"}, {"ok": False}, {"genre": 3}]}, [1, 7, 10]),
    ({"$and": [{"$or": [{"ok": False}, {"ok": 1}]}, {"year": {"$gte": 1}}]}, [1, 3]),
    (
        {"$or": [{"$and": [{"ok": True}, {"year": {"$exists": True}}]}, {"tags": {"$nin": ["a"]}}]},
        [0, 1, 4, 7, 8],
    ),
]

# (ROWS_RATIO, SUBSET_COST): the defaults, row sets and candidate checks always, and never.
PLANS = [(8, 16), (0, 0), (10**9, 10**9), (0, 10**9), (10**9, 0)]


def _columns(*chunks: int, rows: list[dict[str, Any]] = ROWS, query_between: bool = True) -> MetadataColumns:
    """Columns over ``rows`` appended in pieces (the rest last), querying in between so runs pile up."""
    built = MetadataColumns()
    start = 0
    for size in (*chunks, len(rows)):
        built.extend(rows[start : start + size])
        start = min(start + size, len(rows))
        if query_between:
            built.matching_rows(
                parse_filter({"genre": "drama", "year": {"$gte": 0}, "ok": True, "tags": "a"})
            )
    return built


@pytest.mark.parametrize(("raw", "expected"), CASES)
@pytest.mark.parametrize("plan", PLANS)
def test_matching_rows_equals_evaluate_on_hand_checked_rows(
    raw: dict[str, Any], expected: list[int], plan: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert [i for i, meta in enumerate(ROWS) if reference_matches(raw, meta)] == expected
    monkeypatch.setattr(columns_module, "ROWS_RATIO", plan[0])
    monkeypatch.setattr(columns_module, "SUBSET_COST", plan[1])
    parsed = parse_filter(raw)
    for built in (_columns(), _columns(1, 1, 1, 1, 1, 1, 1, 1, 1, 1), _columns(0, 4, 0, 3)):
        rows = built.matching_rows(parsed)
        assert rows.dtype == np.int64
        assert rows.tolist() == expected
        assert np.flatnonzero(built.evaluate(parsed)).tolist() == expected
        assert built.evaluate_rows(parsed, np.arange(N)[::-1]).tolist() == [i in expected for i in ALL[::-1]]


@pytest.mark.parametrize(("raw", "expected"), CASES)
def test_unindexed_columns_give_the_same_answers_without_postings(
    raw: dict[str, Any], expected: list[int]
) -> None:
    built = MetadataColumns(indexed=False)
    built.extend(ROWS)
    parsed = parse_filter(raw)
    assert built.matching_rows(parsed).tolist() == expected
    assert built.estimate(parsed) == len(expected)  # without postings: counted from the mask, exact
    built.build_index()
    assert all(store.index is None for store in built._fields.values())
    assert built.memory_usage()["index"] == 0


# ------------------------------------------------------------------ postings


def test_postings_hold_each_value_with_its_sorted_rows() -> None:
    built = _columns(3, 4, query_between=False)
    built.build_index()
    genre = built._fields["genre"]
    index = genre.index
    assert isinstance(index, FieldIndex)
    assert index.present_rows().tolist() == [0, 1, 2, 6, 7, 9]
    assert len(index.codes.runs) == 1  # one sync after all rows: one run

    def code_rows(postings: Postings, key: Any) -> list[int]:
        hits = postings.lookup(np.array([key], dtype=postings.runs[0].keys.dtype), exact=True)
        return hits.sorted_rows(N).tolist()

    assert code_rows(index.codes, genre.vocab["drama"]) == [0, 2, 6]  # scalar strings and list elements
    assert code_rows(index.codes, genre.vocab["thriller"]) == [6]
    assert code_rows(index.numbers, 3.0) == [7]
    tags = built._fields["tags"].index
    assert tags is not None and tags.has_lists
    assert code_rows(tags.codes, built._fields["tags"].vocab["a"]) == [0, 2]  # "a" twice in row 0: once
    assert tags.codes.size == 6  # (a,0) (b,0) (a,2) (c,7) (b,7) (b,8)
    ok = built._fields["ok"].index
    assert ok is not None
    assert code_rows(ok.bools, 1) == [0, 4]
    assert code_rows(ok.bools, 0) == [1, 10]
    year = built._fields["year"].index
    assert year is not None
    assert year.numbers.size == 7  # every number but NaN (row 8)
    (run,) = year.numbers.runs
    assert run.keys.tolist() == [-math.inf, 0.0, 0.0, 1.0, 2005.0, 2019.0, math.inf]
    assert run.rows.tolist() == [10, 6, 7, 3, 1, 0, 9]  # -0.0 and 0.0 are one key: rows in order
    assert year.present_rows().tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9, 10]  # NaN row 8 is present


def test_runs_stay_logarithmic_while_rows_trickle_in() -> None:
    rng = np.random.default_rng(3)
    rows = [{"k": f"v{int(v)}", "n": float(v)} for v in rng.integers(0, 30, 2_000)]
    built = MetadataColumns()
    probe = parse_filter({"k": "v7"})
    for start in range(0, len(rows), 7):
        built.extend(rows[start : start + 7])
        expected = [i for i, meta in enumerate(rows[: start + 7]) if meta["k"] == "v7"]
        assert built.matching_rows(probe).tolist() == expected
        index = built._fields["k"].index
        assert index is not None
        assert len(index.codes.runs) <= math.log2(index.codes.size) + 1
        sizes = [run.size for run in index.codes.runs]
        assert all(older >= postings_module.MERGE_FACTOR * newer for older, newer in pairwise(sizes))
    assert built._fields["n"].index is None  # never filtered on: never built
    assert built.estimate(parse_filter({"n": {"$lt": 10}})) == sum(meta["n"] < 10 for meta in rows)
    one_shot = MetadataColumns()
    one_shot.extend(rows)
    one_shot.build_index()
    for name in ("k", "n"):
        index = one_shot._fields[name].index
        assert index is not None
        assert len(index.codes.runs) + len(index.numbers.runs) == 1  # a segment: exactly one run


def test_merging_keeps_keys_sorted_and_rows_sorted_within_a_key() -> None:
    postings = Postings()
    postings.add(np.array([1, 1, 4], dtype=np.int32), np.array([0, 2, 1], dtype=np.int32))
    postings.add(np.array([0, 1, 4, 4], dtype=np.int32), np.array([5, 3, 4, 6], dtype=np.int32))
    assert len(postings.runs) == 1  # 3 < 2 * 4: merged
    (run,) = postings.runs
    assert run.keys.tolist() == [0, 1, 1, 1, 4, 4, 4]
    assert run.rows.tolist() == [5, 0, 2, 3, 1, 4, 6]
    hits = postings.lookup(np.array([1, 4], dtype=np.int32), exact=True)
    assert not hits.ordered
    assert hits.count == 6
    assert hits.sorted_rows(7).tolist() == [0, 1, 2, 3, 4, 6]
    one_key = postings.lookup(np.array([4, 9], dtype=np.int32), exact=True)
    assert one_key.ordered and one_key.count == 3
    assert one_key.sorted_rows(7).tolist() == [1, 4, 6]
    postings.add(np.array([2], dtype=np.int32), np.array([7], dtype=np.int32))
    assert [run.size for run in postings.runs] == [7, 1]  # 7 >= 2 * 1: kept apart
    assert postings.lookup(np.array([2, 4], dtype=np.int32), exact=True).sorted_rows(8).tolist() == [
        1,
        4,
        6,
        7,
    ]


# ------------------------------------------------------------------ estimate


ESTIMATES: list[tuple[dict[str, Any], int]] = [
    # exact: one condition on a field without lists, any range, $exists, and their negations
    ({}, N),
    ({"genre": "drama"}, 3),
    ({"genre": {"$in": ["drama", "comedy", 3, "nope"]}}, 6),
    ({"genre": {"$ne": "drama"}}, 3),
    ({"year": 2019}, 1),
    ({"year": {"$in": [2019, 0, "2019", True]}}, 5),
    ({"year": {"$gte": 2000, "$lt": 2010}}, 1),
    ({"year": {"$gt": 0}}, 4),
    ({"year": {"$lte": 1}}, 4),
    ({"year": {"$nin": [0]}}, 8),
    ({"ok": {"$in": [True, False]}}, 4),
    ({"ok": {"$ne": True}}, 3),
    ({"tags": "b"}, 3),  # one operand: exact even on a list field
    ({"tags": {"$exists": True}}, 5),
    ({"tags": {"$exists": False}}, 6),
    ({"missing": 1}, 0),
    ({"missing": {"$exists": False}}, N),
    # upper bounds
    ({"tags": {"$in": ["a", "b"]}}, 5),  # true 4: row 0 holds both
    ({"genre": "drama", "tags": "a"}, 2),  # min(3, 2)
    ({"$and": [{"genre": "drama"}, {"year": {"$gte": 2005}}]}, 3),  # true 1: min(3, 4)
    ({"$or": [{"genre": "comedy"}, {"year": {"$lt": 1}}]}, 5),  # 2 + 3
    ({"$or": [{"year": {"$exists": True}}, {"tags": {"$exists": True}}]}, N),  # 10 + 5 capped at 11
    # negation on a list field: present minus the largest single operand's rows, still >= the truth
    ({"tags": {"$nin": ["a", "b"]}}, 2),  # true 1
]


@pytest.mark.parametrize(("raw", "expected"), ESTIMATES)
def test_estimates(raw: dict[str, Any], expected: int) -> None:
    truth = sum(reference_matches(raw, meta) for meta in ROWS)
    assert expected >= truth
    for built in (_columns(), _columns(2, 2, 2, 2, 2)):
        assert built.estimate(parse_filter(raw)) == expected


@pytest.mark.parametrize(("raw", "_expected"), ESTIMATES)
def test_estimate_never_evaluates_rows(
    raw: dict[str, Any], _expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = _columns()

    def refuse(*_args: object) -> None:
        raise AssertionError("estimate evaluated rows")

    monkeypatch.setattr(columns_module, "_eval_leaf", refuse)
    monkeypatch.setattr(columns_module._Planner, "mask", refuse)
    monkeypatch.setattr(columns_module._Planner, "rows", refuse)
    monkeypatch.setattr(postings_module.Hits, "parts", refuse)
    built.estimate(parse_filter(raw))


# ------------------------------------------------------------------ scale


def test_in_with_thousands_of_values_uses_postings_only(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(11)
    count = 40_000
    users = rng.integers(0, 20_000, count)
    numbers = rng.integers(0, 20_000, count).astype(np.float64)
    rows: list[dict[str, Any]] = [
        {"u": f"u{u}", "n": float(n), "l": [f"u{u}", f"x{u % 3}"]}
        for u, n in zip(users, numbers, strict=True)
    ]
    built = MetadataColumns()
    for start in range(0, count, 9_000):
        built.extend(rows[start : start + 9_000])
    scanned = MetadataColumns(indexed=False)
    scanned.extend(rows)
    wanted = rng.choice(20_000, 5_000, replace=False)
    strings = [f"u{w}" for w in wanted] + [f"unseen{i}" for i in range(3_000)]
    expected_users = np.flatnonzero(np.isin(users, wanted))
    expected_numbers = np.flatnonzero(np.isin(numbers, wanted.astype(np.float64)))
    filters = [
        ({"u": {"$in": strings}}, expected_users),
        ({"l": {"$in": strings}}, expected_users),
        ({"n": {"$in": wanted.astype(float).tolist()}}, expected_numbers),
        ({"u": {"$nin": strings}}, np.setdiff1d(np.arange(count), expected_users)),
        ({"$and": [{"u": {"$in": strings[:500]}}, {"n": {"$gte": 10_000}}]}, None),
    ]
    answers = [scanned.matching_rows(parse_filter(raw)) for raw, _ in filters]

    def refuse(*_args: object) -> None:
        raise AssertionError("a condition was evaluated by scanning a whole column")

    monkeypatch.setattr(columns_module, "_FullView", refuse)  # every leaf answered from postings
    for (raw, expected), answer in zip(filters, answers, strict=True):
        parsed = parse_filter(raw)
        if expected is not None:
            assert answer.tolist() == expected.tolist()
        assert built.matching_rows(parsed).tolist() == answer.tolist()
        assert np.flatnonzero(built.evaluate(parsed)).tolist() == answer.tolist()
        estimate = built.estimate(parsed)
        assert estimate >= answer.size
    assert built.estimate(parse_filter(filters[0][0])) == expected_users.size  # scalar field: exact
    assert built.estimate(parse_filter(filters[2][0])) == expected_numbers.size


def test_index_memory_is_about_the_size_of_the_columns() -> None:
    rng = np.random.default_rng(5)
    rows = [
        {
            "category": f"c{int(c)}",
            "year": int(y),
            "tags": [f"t{int(t)}" for t in rng.choice(12, int(k), replace=False)],
            "flag": bool(f),
            "user": f"u{int(u)}",
        }
        for c, y, k, f, u in zip(
            rng.integers(0, 20, 20_000),
            rng.integers(1995, 2025, 20_000),
            rng.integers(1, 4, 20_000),
            rng.random(20_000) < 0.5,
            rng.integers(0, 5_000, 20_000),
            strict=True,
        )
    ]
    built = MetadataColumns()
    built.extend(rows)
    assert built.memory_usage()["index"] == 0  # lazily built
    built.build_index()
    usage = built.memory_usage()
    assert 0 < usage["index"] <= 1.5 * usage["columns"], usage


# ------------------------------------------------------------------ appending


def test_postings_catch_up_with_appended_rows_and_old_results_stay_valid() -> None:
    built = _columns(4)
    drama = parse_filter({"genre": "drama"})
    before = built.matching_rows(drama)
    estimate_before = built.estimate(drama)
    built.extend([{"genre": "drama"}, {"genre": ["new", "drama"]}, {"genre": "new"}, {"year": 2019}])
    assert before.tolist() == [0, 2, 6]
    assert estimate_before == 3
    assert built.matching_rows(drama).tolist() == [0, 2, 6, 11, 12]
    assert built.estimate(drama) == 5
    assert built.matching_rows(parse_filter({"genre": "new"})).tolist() == [12, 13]  # a code seen only now
    assert built.matching_rows(parse_filter({"year": {"$gte": 2019}})).tolist() == [0, 9, 14]
    assert built.matching_rows(parse_filter({"genre": {"$exists": False}})).tolist() == [3, 4, 5, 8, 10, 14]


def test_matching_rows_are_fresh_arrays_the_caller_may_modify() -> None:
    built = _columns()
    for raw in ({}, {"genre": "drama"}, {"tags": {"$exists": True}}, {"tags": {"$in": ["a", "c"]}}):
        parsed = parse_filter(raw)
        first = built.matching_rows(parsed)
        expected = first.tolist()
        first[:] = -1
        assert built.matching_rows(parsed).tolist() == expected


def test_empty_columns() -> None:
    empty = MetadataColumns()
    for raw in ({}, {"a": 1}, {"a": {"$exists": False}}, {"$or": [{"a": 1}, {"b": {"$ne": 2}}]}):
        parsed = parse_filter(raw)
        assert empty.matching_rows(parsed).tolist() == []
        assert empty.matching_rows(parsed).dtype == np.int64
        assert empty.estimate(parsed) == 0
    empty.build_index()
    assert empty.memory_usage() == {"columns": 0, "index": 0}
