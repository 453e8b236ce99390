"""A plain, one-record-at-a-time evaluator over the *raw* JSON filter: the oracle for the fast one.

It shares no code with the parser or the column evaluator on purpose. It reads the wire form directly
(implicit equality, operator objects, ``$and``/``$or``), so a bug in the parser's normalisation into the tree
or in the vectorised code cannot hide by being reproduced here. It favours being obviously right over being
fast, and assumes the filter is valid (``parse_filter`` accepted it).

The rules, in the order the code applies them:

* ``$exists`` tests presence only. A ``None`` value counts as absent (Pinecone drops nulls on write).
* Every other operator fails on a record that lacks the field, ``$ne`` and ``$nin`` included (Pinecone
  serverless; MongoDB would match).
* Equality is typed: strings equal strings, numbers equal numbers as float64 (``2019 == 2019.0``), bools
  equal bools; ``True`` is never ``1``. Different types never compare equal, and that is not an error.
* ``$eq``/``$in`` on a list of strings match when any element matches; ``$ne``/``$nin`` are their exact
  negations on a present field (so they match a present value of another type, and an empty list).
* ``$gt``/``$gte``/``$lt``/``$lte`` match only a stored number (never a bool, string or list).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeGuard

__all__ = ["reference_matches"]


def reference_matches(raw_filter: object, metadata: Mapping[str, object]) -> bool:
    """True iff the record with ``metadata`` passes ``raw_filter`` (decoded JSON; ``None``/``{}``: all)."""
    if raw_filter is None:
        return True
    assert isinstance(raw_filter, dict)
    return all(_clause(key, value, metadata) for key, value in raw_filter.items())


def _clause(key: str, value: object, metadata: Mapping[str, object]) -> bool:
    """One key of a filter object: a logical operator over sub-filters, or conditions on one field."""
    if key == "$and":
        assert isinstance(value, list)
        return all(reference_matches(sub, metadata) for sub in value)
    if key == "$or":
        assert isinstance(value, list)
        return any(reference_matches(sub, metadata) for sub in value)
    stored = metadata.get(key)
    if isinstance(value, dict):
        return all(_operator(op, operand, stored) for op, operand in value.items())
    return _operator("$eq", value, stored)


def _operator(op: str, operand: object, stored: object) -> bool:
    """Apply one operator to one stored value (``None`` when the record lacks the field)."""
    if op == "$exists":
        return (stored is not None) == operand
    if stored is None:
        return False
    if op == "$eq":
        return _any_equal(stored, [operand])
    if op == "$ne":
        return not _any_equal(stored, [operand])
    if op == "$in":
        assert isinstance(operand, list)
        return _any_equal(stored, operand)
    if op == "$nin":
        assert isinstance(operand, list)
        return not _any_equal(stored, operand)
    return _compare(op, operand, stored)


def _any_equal(stored: object, operands: list[object]) -> bool:
    """Whether the stored value (or, for a list, any of its elements) equals any operand."""
    elements = stored if isinstance(stored, list | tuple) else [stored]
    return any(_same(element, operand) for element in elements for operand in operands)


def _same(a: object, b: object) -> bool:
    """Typed equality: same JSON type and equal value, numbers compared as float64."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return float(a) == float(b)
    if isinstance(a, str) and isinstance(b, str):
        return a == b
    return False


def _compare(op: str, operand: object, stored: object) -> bool:
    """``$gt``/``$gte``/``$lt``/``$lte``: only a stored number can match."""
    assert _is_number(operand), operand
    if not _is_number(stored):
        return False
    x, y = float(stored), float(operand)
    if op == "$gt":
        return x > y
    if op == "$gte":
        return x >= y
    if op == "$lt":
        return x < y
    assert op == "$lte", op
    return x <= y


def _is_number(value: object) -> TypeGuard[int | float]:
    """JSON number test; Python's ``bool`` is an ``int`` but is not a number here."""
    return isinstance(value, int | float) and not isinstance(value, bool)
