"""Parse a JSON-decoded metadata filter into a :class:`~spruce.filter.tree.Filter`, or refuse it.

Parsing is the only place a filter is checked. Everything downstream (the vectorised evaluator, the planner)
trusts the tree, so every rule of the language and every limit is enforced here, before any record is read:

* the shape: objects where objects belong, field names that are non-empty strings, operator objects that
  hold only known operators and are not empty, ``$and``/``$or`` holding non-empty arrays of non-empty
  objects, comparison operators never standing where field names are expected;
* operand types: ``$eq``/``$ne`` take a string, number or bool; ranges take numbers only; ``$in``/``$nin`` an
  array of those; ``$exists`` a bool. Python's ``bool`` is an ``int``, so every number test excludes it
  explicitly: ``True`` is never the number 1. Numbers must be finite float64 values;
* the limits :data:`MAX_IN_VALUES`, :data:`MAX_DEPTH` and :data:`MAX_CONDITIONS`, which bound the work one
  request can cause. Depth is checked before descending, so a hostile, deeply nested body costs at most
  ``MAX_DEPTH`` stack frames here.

Every refusal is an :class:`~spruce.errors.InvalidArgumentError` carrying ``field=`` (the request field,
``"filter"`` by default) and a message that names the problem, the offending operator or key, any limit, and
where in the filter it sits (``$and[1].year.$gt``), so a user can fix the request without guessing.
Whatever of the request a message repeats is shortened (strings and names to 40 characters, the location
to its last 80, at most 5 keys of one object), so a hostile body cannot make an error response large.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NoReturn, TypeGuard, cast, get_args

from spruce.errors import InvalidArgumentError
from spruce.filter.tree import And, Exists, Filter, In, Node, Or, Range, RangeOp, TextMatch, TextMode

__all__ = ["MAX_CONDITIONS", "MAX_DEPTH", "MAX_IN_VALUES", "parse_filter"]

MAX_IN_VALUES = 10_000
"""Most values one ``$in``/``$nin`` array may hold (Pinecone's documented cap)."""

MAX_DEPTH = 16
"""Most ``$and``/``$or`` levels that may nest inside one another."""

MAX_CONDITIONS = 10_000
"""Most leaf conditions (one operator applied to one field) one filter may hold."""

Scalar = str | float | bool

_RANGE_OPS: frozenset[str] = frozenset(get_args(RangeOp))
_COMPARISON_OPS = frozenset({"$eq", "$ne", "$in", "$nin", "$exists"}) | _RANGE_OPS
_LOGICAL_OPS = frozenset({"$and", "$or"})
_TEXT_OPS: frozenset[str] = frozenset(get_args(TextMode))
_MAX_SHOWN = 40  # characters of an offending string shown in a message
_MAX_LOCATION = 80  # characters of the location shown (the tail: the innermost part matters most)
_MAX_KEYS = 5  # keys of one object listed in a message


def parse_filter(
    raw: object,
    *,
    field: str = "filter",
    text_fields: frozenset[str] = frozenset(),
    ranking_fields: frozenset[str] = frozenset(),
    text_match: bool = True,
) -> Filter:
    """Parse ``raw`` (decoded JSON) into a :class:`Filter`; ``None`` and ``{}`` give the empty filter.

    ``field`` names the request field the filter came from; it is put on every error so that the wire layer
    can point at it (a delete-by-filter request calls it ``filter`` too, but other callers may not).

    A document index passes its schema: ``text_fields`` (full-text fields, the only ones the text-match
    operators ``$match_phrase``/``$match_all``/``$match_any`` apply to) and ``ranking_fields`` (every
    searched field, text and vector, which comparison operators must not name). ``text_match=False``
    refuses the text-match operators altogether (a delete by filter: Pinecone's rule).
    """
    if raw is None:
        return Filter()
    parser = _Parser(field, text_fields, ranking_fields, text_match)
    return Filter(parser.parse_object(raw, (), depth=0))


def _describe(value: object) -> str:
    """Name a JSON value's type (and show short scalars) for an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int) and value.bit_length() > 64:
        return "a very large number"  # printing it could itself fail (int max str digits)
    if isinstance(value, int | float):
        return f"number {value!r}"
    if isinstance(value, str):
        shown = value if len(value) <= _MAX_SHOWN else value[:_MAX_SHOWN] + "..."
        return f"string {shown!r}"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return f"a value of type {type(value).__name__}"


def _shorten(text: str) -> str:
    """``text`` cut to :data:`_MAX_SHOWN` characters (marked with ``...``), for a message."""
    return text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "..."


def _name(key: str) -> str:
    """A field name as a message shows it: quoted, and shortened like any offending string."""
    return repr(_shorten(key))


def _keys(keys: Sequence[object], *, quoted: bool = True) -> str:
    """Some keys of an object for a message: the first few, each shortened (quoted unless they are
    operators); a key that is not a string is only described, since it may not even have a printable
    ``repr`` (an int beyond 4300 digits)."""
    shown = [
        (_name(key) if quoted else _shorten(key)) if isinstance(key, str) else _describe(key)
        for key in keys[:_MAX_KEYS]
    ]
    more = f", ... ({len(keys)} in all)" if len(keys) > _MAX_KEYS else ""
    return ", ".join(shown) + more


def _is_number(value: object) -> TypeGuard[int | float]:
    """True for JSON numbers; ``bool`` is a subclass of ``int`` in Python but not a number in the language."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def _join(nodes: Sequence[Node], kind: type[And] | type[Or]) -> Node:
    """Combine ``nodes`` under ``kind``, flattening same-kind children and unwrapping a single node."""
    flat: list[Node] = []
    for node in nodes:
        flat.extend(node.children if isinstance(node, kind) else (node,))
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


class _Parser:
    """One parse: remembers the request field name and counts conditions against the limit."""

    def __init__(
        self,
        field: str,
        text_fields: frozenset[str] = frozenset(),
        ranking_fields: frozenset[str] = frozenset(),
        text_match: bool = True,
    ) -> None:
        self._field = field
        self._conditions = 0
        self._text_fields = text_fields
        self._ranking = ranking_fields | text_fields
        self._text_match = text_match

    def fail(self, path: tuple[str, ...], message: str) -> NoReturn:
        """Raise the one error type the parser uses, pointing at ``path`` inside the filter."""
        location = ".".join(path)
        if len(location) > _MAX_LOCATION:
            location = "..." + location[-_MAX_LOCATION:]
        where = f" (at {location})" if path else ""
        raise InvalidArgumentError(f"Invalid {self._field}: {message}{where}", field=self._field)

    def parse_object(self, raw: object, path: tuple[str, ...], *, depth: int) -> Node | None:
        """Parse a filter object: field names and ``$and``/``$or``, all ANDed. ``None`` for ``{}``."""
        if not isinstance(raw, dict):
            self.fail(path, f"a filter must be a JSON object, got {_describe(raw)}")
        nodes: list[Node] = []
        for key, value in raw.items():
            if not isinstance(key, str):
                self.fail(path, f"field names must be strings, got {_describe(key)}")
            if key in _LOGICAL_OPS:
                nodes.append(self.logical(key, value, path, depth=depth))
            elif key.startswith("$"):
                self.fail(path, self.misplaced_operator(key))
            elif not key:
                self.fail(path, "field names must be non-empty strings, got the empty string")
            else:
                nodes.extend(self.field_conditions(key, value, (*path, key)))
        return _join(nodes, And) if nodes else None

    def misplaced_operator(self, key: str) -> str:
        """Explain why an operator key stands where a field name was expected."""
        if key in _COMPARISON_OPS:
            return (
                f"comparison operator {key} cannot stand at the top level of a filter object; "
                f'apply it to a field, as in {{"year": {{"{key}": ...}}}}'
            )
        return f"unknown operator {_shorten(key)}; the supported logical operators are $and and $or"

    def logical(self, op: str, value: object, path: tuple[str, ...], *, depth: int) -> Node:
        """Parse ``$and``/``$or``: a non-empty array of non-empty filter objects, within the depth limit."""
        if depth >= MAX_DEPTH:
            self.fail(
                path, f"$and/$or are nested more than {MAX_DEPTH} levels deep (the limit is {MAX_DEPTH})"
            )
        if not isinstance(value, list):
            self.fail((*path, op), f"{op} needs a non-empty array of filter objects, got {_describe(value)}")
        if not value:
            self.fail((*path, op), f"{op} needs a non-empty array of filter objects, got an empty array")
        children: list[Node] = []
        for index, item in enumerate(value):
            where = (*path, f"{op}[{index}]")
            if not isinstance(item, dict):
                self.fail(where, f"every element of {op} must be a filter object, got {_describe(item)}")
            if not item:
                self.fail(where, f"elements of {op} must be non-empty filter objects, got {{}}")
            child = self.parse_object(item, where, depth=depth + 1)
            assert child is not None  # item is non-empty, so it holds at least one condition
            children.append(child)
        return _join(children, And if op == "$and" else Or)

    def field_conditions(self, name: str, value: object, path: tuple[str, ...]) -> list[Node]:
        """Parse what a field name maps to: an operator object (conditions ANDed) or an implicit ``$eq``."""
        if not isinstance(value, dict):
            return [self.condition(name, "$eq", value, path, implicit=True)]
        if not value:
            self.fail(
                path, f"the operator object for field {_name(name)} is empty; give at least one operator"
            )
        operators = [key for key in value if isinstance(key, str) and key.startswith("$")]
        if len(operators) != len(value):
            others = _keys([key for key in value if not (isinstance(key, str) and key.startswith("$"))])
            if operators:
                ops = _keys(operators, quoted=False)
                self.fail(
                    path,
                    f"the operator object for field {_name(name)} mixes operators ({ops}) "
                    f"with non-operator keys ({others})",
                )
            self.fail(
                path,
                f"field {_name(name)} is compared with an object whose keys ({others}) are not operators; "
                "nested metadata objects are not supported, use an operator such as $eq",
            )
        return [self.condition(name, op, operand, (*path, op)) for op, operand in value.items()]

    def condition(
        self, name: str, op: str, operand: object, path: tuple[str, ...], *, implicit: bool = False
    ) -> Node:
        """Parse one operator applied to one field, counting it against :data:`MAX_CONDITIONS`."""
        self._conditions += 1
        if self._conditions > MAX_CONDITIONS:
            self.fail(
                path, f"the filter has more than {MAX_CONDITIONS} conditions (the limit is {MAX_CONDITIONS})"
            )
        if op in _TEXT_OPS and (self._text_fields or not self._text_match):
            return self.text(name, cast(TextMode, op), operand, path)
        if name in self._ranking and op in _COMPARISON_OPS and op != "$exists":
            self.fail(
                path,
                f"field {_name(name)} is a searched (ranking) field of the schema; comparison operators such "
                f"as {op} apply to filterable fields only"
                + (" (use $match_phrase, $match_all or $match_any)" if name in self._text_fields else ""),
            )
        if op in ("$eq", "$ne"):
            return _in_node(name, [self.scalar(op, operand, path, implicit=implicit)], negated=op == "$ne")
        if op in ("$in", "$nin"):
            return _in_node(name, self.values(op, operand, path), negated=op == "$nin")
        if op in _RANGE_OPS:
            return self.range(name, cast(RangeOp, op), operand, path)
        if op == "$exists":
            if not isinstance(operand, bool):
                self.fail(
                    path, f"$exists on field {_name(name)} needs true or false, got {_describe(operand)}"
                )
            return Exists(name, operand)
        if op in _LOGICAL_OPS:
            self.fail(
                path,
                f"{op} cannot be applied to field {_name(name)}; write it where field names go, "
                f'as in {{"{op}": [{{"{_shorten(name)}": ...}}, ...]}}',
            )
        if op == "$not":
            self.fail(path, f"operator $not (on field {_name(name)}) is not supported; use $ne or $nin")
        self.fail(path, f"unknown operator {_shorten(op)} on field {_name(name)}")

    def text(self, name: str, op: TextMode, operand: object, path: tuple[str, ...]) -> TextMatch:
        """Parse a text-match operator: a string operand, on a full-text field."""
        if not self._text_match:
            self.fail(path, f"text-match operators such as {op} are not allowed here (field {_name(name)})")
        if name not in self._text_fields:
            fields = ", ".join(sorted(self._text_fields))
            self.fail(path, f"{op} applies to full-text fields only ({fields}), not to field {_name(name)}")
        if not isinstance(operand, str):
            self.fail(path, f"{op} on field {_name(name)} needs a string, got {_describe(operand)}")
        return TextMatch(name, op, operand)

    def range(self, name: str, op: RangeOp, operand: object, path: tuple[str, ...]) -> Range:
        """Parse ``$gt``/``$gte``/``$lt``/``$lte``, whose operand must be a number (not a string or bool)."""
        if not _is_number(operand):
            self.fail(path, f"{op} on field {_name(name)} needs a number, got {_describe(operand)}")
        return Range(name, op, self.number(op, operand, path))

    def scalar(self, op: str, operand: object, path: tuple[str, ...], *, implicit: bool = False) -> Scalar:
        """Check an ``$eq``/``$ne`` (or implicit equality) operand: a string, a finite number or a bool."""
        if isinstance(operand, bool | str):
            return operand
        if _is_number(operand):
            return self.number(op, operand, path)
        if implicit and isinstance(operand, list):
            self.fail(
                path,
                f"field {_name(path[-1])} is compared with an array; use $in to match any of several values",
            )
        what = f"the value compared with field {_name(path[-1])}" if implicit else f"{op} operand"
        self.fail(path, f"{what} must be a string, number or boolean, got {_describe(operand)}")

    def values(self, op: str, operand: object, path: tuple[str, ...]) -> list[Scalar]:
        """Check an ``$in``/``$nin`` operand: an array (maybe empty) of at most MAX_IN_VALUES scalars."""
        if not isinstance(operand, list):
            self.fail(path, f"{op} needs an array of strings, numbers or booleans, got {_describe(operand)}")
        if len(operand) > MAX_IN_VALUES:
            self.fail(path, f"{op} has {len(operand)} values, more than the limit of {MAX_IN_VALUES} values")
        checked: list[Scalar] = []
        for index, item in enumerate(operand):
            if isinstance(item, bool | str):
                checked.append(item)
            elif _is_number(item):
                checked.append(self.number(op, item, path))
            else:
                self.fail(
                    path,
                    f"{op} values must be strings, numbers or booleans, "
                    f"got {_describe(item)} at index {index}",
                )
        return checked

    def number(self, op: str, value: int | float, path: tuple[str, ...]) -> float:
        """Convert a JSON number to the float64 it is stored as, refusing NaN, infinities and overflow."""
        try:
            converted = float(value)
        except OverflowError:
            self.fail(path, f"{op} operand is a number too large for a float64 (beyond 1.8e308)")
        if not math.isfinite(converted):
            self.fail(path, f"{op} operand must be a finite number, got {converted!r}")
        return converted


def _in_node(name: str, values: Sequence[Scalar], *, negated: bool) -> In:
    """Build an :class:`In`, splitting operands by type and dropping repeats (``1`` and ``1.0`` are one)."""
    strings: dict[str, None] = {}
    numbers: dict[float, None] = {}
    bools: dict[bool, None] = {}
    for value in values:
        if isinstance(value, bool):
            bools[value] = None
        elif isinstance(value, str):
            strings[value] = None
        else:
            numbers[value] = None
    return In(name, tuple(strings), tuple(numbers), tuple(bools), negated)
