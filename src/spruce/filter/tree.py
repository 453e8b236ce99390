"""The parsed filter: a small immutable tree that every evaluator and the query planner share.

The wire language has eleven operators (and a document index's three text-match operators, which
become :class:`TextMatch`); the tree has five node kinds besides, because several operators are the
same test in disguise:

* ``$eq``/``$ne``/``$in``/``$nin`` all become :class:`In` (``$eq: x`` is ``$in: [x]``, ``$ne`` is the
  negation of ``$eq``). Their list-field, missing-field and type-mismatch rules coincide exactly, so one node
  and one evaluator cover all four and cannot drift apart.
* ``$gt``/``$gte``/``$lt``/``$lte`` become :class:`Range`.
* ``$exists`` becomes :class:`Exists`; ``$and``/``$or`` become :class:`And`/:class:`Or`.

Operand values are split by type when parsed (``In.strings``, ``In.numbers``, ``In.bools``) because the
columns are split by type too, and because Python's ``True == 1.0`` would otherwise make two different
filters compare (and hash) equal. Numbers are always ``float``: Pinecone stores every number as a float64, so
``2019`` and ``2019.0`` are the same operand.

The parser also flattens ``$and`` inside ``$and`` (and ``$or`` inside ``$or``) and unwraps one-element
groups, which never changes the meaning but keeps evaluators from recursing for nothing.

Nodes are frozen dataclasses holding tuples, so a :class:`Filter` is hashable and can key a cache.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["And", "Exists", "Filter", "In", "Node", "Or", "Range", "RangeOp", "TextMatch", "TextMode"]

RangeOp = Literal["$gt", "$gte", "$lt", "$lte"]
TextMode = Literal["$match_phrase", "$match_all", "$match_any"]


@dataclass(frozen=True, slots=True)
class In:
    """The stored value equals one of the operands (or, when ``negated``, is present and equals none).

    A list-of-strings value matches when any element is an operand; negated, when no element is. A record
    lacking the field matches neither form (Pinecone serverless behaviour, unlike MongoDB's ``$ne``).
    """

    field: str
    strings: tuple[str, ...] = ()
    numbers: tuple[float, ...] = ()
    bools: tuple[bool, ...] = ()
    negated: bool = False


@dataclass(frozen=True, slots=True)
class Range:
    """The stored value is a number (never a bool or a list) and compares with ``value`` by ``op``."""

    field: str
    op: RangeOp
    value: float


@dataclass(frozen=True, slots=True)
class Exists:
    """The record has (``present=True``) or lacks (``present=False``) the field, whatever its type."""

    field: str
    present: bool


@dataclass(frozen=True, slots=True)
class TextMatch:
    """A document index's full-text field holds the phrase (``$match_phrase``), every term
    (``$match_all``) or some term (``$match_any``) of ``text``, as the field's analyzer reads both.

    Only the block evaluating a filter can answer it (from its full-text postings), so evaluators take
    its rows from the caller (``MetadataColumns.evaluate(..., text=...)``)."""

    field: str
    mode: TextMode
    text: str


@dataclass(frozen=True, slots=True)
class And:
    """Every child matches. The parser gives it two or more children, none of them an ``And``."""

    children: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one child matches. The parser gives it two or more children, none of them an ``Or``."""

    children: tuple[Node, ...]


Node = In | Range | Exists | TextMatch | And | Or


@dataclass(frozen=True, slots=True)
class Filter:
    """A parsed metadata filter. ``root is None`` is the empty filter (``None`` or ``{}``), matching all."""

    root: Node | None = None

    @property
    def is_empty(self) -> bool:
        """True for the filter that matches every record, so callers can skip evaluation entirely."""
        return self.root is None

    @property
    def has_text(self) -> bool:
        """Whether some condition is a :class:`TextMatch` (a document index's text-match operator)."""
        stack: list[Node] = [] if self.root is None else [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, And | Or):
                stack.extend(node.children)
            elif isinstance(node, TextMatch):
                return True
        return False

    @property
    def fields(self) -> frozenset[str]:
        """Every metadata field the filter reads, e.g. for a planner choosing which columns to load."""
        found: set[str] = set()
        stack: list[Node] = [] if self.root is None else [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, And | Or):
                stack.extend(node.children)
            else:
                found.add(node.field)
        return frozenset(found)
