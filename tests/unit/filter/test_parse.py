"""parse_filter: every valid form gives the expected tree; every malformed one a precise 400."""

from __future__ import annotations

from typing import Any

import pytest

from spruce.errors import InvalidArgumentError
from spruce.filter import (
    MAX_CONDITIONS,
    MAX_DEPTH,
    MAX_IN_VALUES,
    And,
    Exists,
    Filter,
    In,
    Or,
    Range,
    parse_filter,
)

# --- valid forms ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("raw", [None, {}])
def test_none_and_empty_object_match_everything(raw: object) -> None:
    parsed = parse_filter(raw)
    assert parsed.is_empty
    assert parsed == Filter()
    assert parsed.fields == frozenset()


@pytest.mark.parametrize(
    ("raw", "root"),
    [
        ({"genre": "drama"}, In("genre", strings=("drama",))),
        ({"genre": {"$eq": "drama"}}, In("genre", strings=("drama",))),
        ({"year": 2019}, In("year", numbers=(2019.0,))),
        ({"year": 2019.5}, In("year", numbers=(2019.5,))),
        ({"ok": True}, In("ok", bools=(True,))),
        ({"ok": {"$ne": False}}, In("ok", bools=(False,), negated=True)),
        ({"g": {"$in": ["a", 1, True, "a", 1.0]}}, In("g", ("a",), (1.0,), (True,))),
        ({"g": {"$nin": []}}, In("g", negated=True)),
        ({"y": {"$gt": 1}}, Range("y", "$gt", 1.0)),
        ({"y": {"$gte": -2.5}}, Range("y", "$gte", -2.5)),
        ({"y": {"$lt": 0}}, Range("y", "$lt", 0.0)),
        ({"y": {"$lte": 1e300}}, Range("y", "$lte", 1e300)),
        ({"y": {"$exists": False}}, Exists("y", False)),
        (
            {"year": {"$gte": 2000, "$lt": 2010}},
            And((Range("year", "$gte", 2000.0), Range("year", "$lt", 2010.0))),
        ),
        ({"a": 1, "b": "x"}, And((In("a", numbers=(1.0,)), In("b", strings=("x",))))),
        ({"$or": [{"a": 1}, {"b": "x"}]}, Or((In("a", numbers=(1.0,)), In("b", strings=("x",))))),
        ({"$and": [{"a": 1}]}, In("a", numbers=(1.0,))),  # a one-element group is unwrapped
        ({"$or": [{"a": 1}]}, In("a", numbers=(1.0,))),
        (
            {"$and": [{"a": 1}, {"$and": [{"b": 2}, {"c": 3}]}], "d": 4},
            And(
                (
                    In("a", numbers=(1.0,)),
                    In("b", numbers=(2.0,)),
                    In("c", numbers=(3.0,)),
                    In("d", numbers=(4.0,)),
                )
            ),
        ),
        (
            {"$or": [{"a": 1}, {"$and": [{"b": 2}, {"c": 3}]}]},
            Or((In("a", numbers=(1.0,)), And((In("b", numbers=(2.0,)), In("c", numbers=(3.0,)))))),
        ),
        ({"weird.name with spaces": "x"}, In("weird.name with spaces", strings=("x",))),
    ],
)
def test_valid_forms(raw: dict[str, Any], root: object) -> None:
    parsed = parse_filter(raw)
    assert parsed.root == root
    assert not parsed.is_empty


def test_ints_and_floats_are_one_type_but_bools_are_not_numbers() -> None:
    assert parse_filter({"a": 1}) == parse_filter({"a": 1.0})
    assert parse_filter({"a": True}) != parse_filter({"a": 1})
    assert len({parse_filter({"a": True}), parse_filter({"a": 1}), parse_filter({"a": 1.0})}) == 2


def test_fields_lists_every_field_read() -> None:
    raw = {"a": 1, "$or": [{"b": {"$exists": True}}, {"$and": [{"c": {"$gt": 1}}, {"a": 2}]}]}
    assert parse_filter(raw).fields == frozenset({"a", "b", "c"})


def test_limits_are_inclusive() -> None:
    parse_filter({"a": {"$in": list(range(MAX_IN_VALUES))}})
    parse_filter({"a": {"$nin": [str(i) for i in range(MAX_IN_VALUES)]}})
    parse_filter({"$and": [{f"f{i}": i} for i in range(MAX_CONDITIONS)]})
    parse_filter(_nested(MAX_DEPTH))


def _nested(levels: int) -> dict[str, Any]:
    """``levels`` nested ``$and``/``$or`` groups around one condition."""
    raw: dict[str, Any] = {"a": 1}
    for level in range(levels):
        raw = {"$and" if level % 2 else "$or": [raw, {"b": level}]}
    return raw


# --- errors --------------------------------------------------------------------------------------------

ERRORS: list[tuple[object, list[str]]] = [
    # not an object
    ([{"a": 1}], ["filter must be a JSON object", "array"]),
    ("genre", ["filter must be a JSON object", "string 'genre'"]),
    (3, ["filter must be a JSON object", "number 3"]),
    (True, ["filter must be a JSON object", "boolean true"]),
    # operators where field names go
    ({"$eq": 1}, ["comparison operator $eq cannot stand at the top level"]),
    ({"$in": [1]}, ["comparison operator $in cannot stand at the top level"]),
    ({"$exists": True}, ["comparison operator $exists cannot stand at the top level"]),
    ({"$and": [{"$gt": 1}]}, ["comparison operator $gt cannot stand", "$and[0]"]),
    ({"$not": {"a": 1}}, ["unknown operator $not"]),
    ({"$nor": [{"a": 1}]}, ["unknown operator $nor"]),
    # field names
    ({"": 1}, ["field names must be non-empty"]),
    ({1: 1}, ["field names must be strings", "number 1"]),
    # implicit equality operands
    ({"a": None}, ["value compared with field 'a' must be a string, number or boolean", "null", "(at a)"]),
    ({"a": [1, 2]}, ["field 'a' is compared with an array", "use $in"]),
    ({"a": float("nan")}, ["finite number", "nan"]),
    ({"a": float("inf")}, ["finite number", "inf"]),
    ({"a": 10**400}, ["too large for a float64"]),
    # operator objects
    ({"a": {}}, ["operator object for field 'a' is empty"]),
    ({"a": {"$gt": 1, "b": 2}}, ["field 'a' mixes operators ($gt)", "non-operator keys ('b')"]),
    ({"a": {"b": 2}}, ["field 'a' is compared with an object", "keys ('b') are not operators", "nested"]),
    ({"a": {"$foo": 1}}, ["unknown operator $foo on field 'a'", "(at a.$foo)"]),
    ({"a": {"$not": {"$eq": 1}}}, ["operator $not", "not supported"]),
    ({"a": {"$and": [{"b": 1}]}}, ["$and cannot be applied to field 'a'"]),
    ({"a": {"$or": [{"b": 1}]}}, ["$or cannot be applied to field 'a'"]),
    ({"a": {"$regex": "x"}}, ["unknown operator $regex"]),
    # $eq / $ne operands
    ({"a": {"$eq": None}}, ["$eq operand must be a string, number or boolean", "null"]),
    ({"a": {"$eq": [1]}}, ["$eq operand must be a string, number or boolean", "array"]),
    ({"a": {"$ne": {"x": 1}}}, ["$ne operand must be a string, number or boolean", "object"]),
    ({"a": {"$ne": float("-inf")}}, ["$ne operand must be a finite number"]),
    # range operands
    ({"a": {"$gt": "5"}}, ["$gt on field 'a' needs a number", "string '5'"]),
    ({"a": {"$gte": True}}, ["$gte on field 'a' needs a number", "boolean true"]),
    ({"a": {"$lt": None}}, ["$lt on field 'a' needs a number", "null"]),
    ({"a": {"$lte": [1]}}, ["$lte on field 'a' needs a number", "array"]),
    ({"a": {"$lte": float("nan")}}, ["$lte operand must be a finite number"]),
    ({"a": {"$gt": 10**400}}, ["$gt operand is a number too large"]),
    # $in / $nin operands
    ({"a": {"$in": "x"}}, ["$in needs an array", "string 'x'"]),
    ({"a": {"$nin": 1}}, ["$nin needs an array", "number 1"]),
    ({"a": {"$in": None}}, ["$in needs an array", "null"]),
    ({"a": {"$in": ["x", None]}}, ["$in values must be strings, numbers or booleans", "null", "index 1"]),
    ({"a": {"$nin": [["x"]]}}, ["$nin values must be", "array", "index 0"]),
    ({"a": {"$in": [{"$eq": 1}]}}, ["$in values must be", "object", "index 0"]),
    ({"a": {"$in": [1, float("nan")]}}, ["$in operand must be a finite number"]),
    ({"a": {"$in": list(range(MAX_IN_VALUES + 1))}}, ["$in has 10001 values", "limit of 10000"]),
    ({"a": {"$nin": ["x"] * (MAX_IN_VALUES + 1)}}, ["$nin has 10001 values", "limit of 10000"]),
    # $exists operands
    ({"a": {"$exists": 1}}, ["$exists on field 'a' needs true or false", "number 1"]),
    ({"a": {"$exists": "true"}}, ["$exists on field 'a' needs true or false", "string 'true'"]),
    ({"a": {"$exists": None}}, ["$exists", "null"]),
    # $and / $or
    ({"$and": []}, ["$and needs a non-empty array", "empty array"]),
    ({"$or": []}, ["$or needs a non-empty array", "empty array"]),
    ({"$and": {"a": 1}}, ["$and needs a non-empty array", "object"]),
    ({"$or": "a"}, ["$or needs a non-empty array", "string 'a'"]),
    ({"$and": [{"a": 1}, 3]}, ["every element of $and must be a filter object", "number 3", "$and[1]"]),
    ({"$or": [[{"a": 1}]]}, ["every element of $or must be a filter object", "array"]),
    ({"$or": [{"a": 1}, {}]}, ["elements of $or must be non-empty", "$or[1]"]),
    ({"$and": [{"a": 1}, {"b": {"$gt": "x"}}]}, ["$gt on field 'b' needs a number", "(at $and[1].b.$gt)"]),
    # limits
    (_nested(MAX_DEPTH + 1), ["nested more than 16 levels", "limit is 16", "(at ...", ".$and[0])"]),
    ({"$and": [{f"f{i}": i} for i in range(MAX_CONDITIONS + 1)]}, ["more than 10000 conditions"]),
    ({f"f{i}": {"$gt": 0, "$lt": 9} for i in range(MAX_CONDITIONS // 2 + 1)}, ["more than 10000 conditions"]),
]


@pytest.mark.parametrize(("raw", "fragments"), ERRORS)
def test_malformed_filters_are_refused_with_a_precise_message(raw: object, fragments: list[str]) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_filter(raw)
    error = caught.value
    assert error.field == "filter"
    assert error.http_status == 400
    assert error.message.startswith("Invalid filter: ")
    for fragment in fragments:
        assert fragment in error.message


def test_the_request_field_name_is_carried_on_errors() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_filter({"a": {"$gt": "x"}}, field="query.filter")
    assert caught.value.field == "query.filter"
    assert caught.value.message.startswith("Invalid query.filter: ")


def test_a_very_deep_body_is_refused_without_recursing_through_it() -> None:
    raw: dict[str, Any] = {"a": 1}
    for _ in range(100_000):
        raw = {"$and": [raw]}
    with pytest.raises(InvalidArgumentError, match="nested more than 16 levels"):
        parse_filter(raw)


def test_long_strings_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        parse_filter({"a": {"$gt": "x" * 5000}})
    assert len(caught.value.message) < 300
