"""Lucene query strings (``query_string`` clauses): the classic QueryParser's syntax and meaning.

What is parsed, as Lucene's classic ``QueryParser`` does with its default operator OR:

* terms (``word``; ``\\``-escapes for the special characters ``+ - & | ! ( ) { } [ ] ^ " ~ * ? : \\ /``),
  analyzed later by the field's analyzer, so a term that analyzes into several terms (``foo-bar``)
  matches any of them, and one that analyzes into none (a stop word) is dropped;
* phrases (``"exact words"``), matched on positions;
* prefixes (``run*``), wildcards (``r?n*``; not at the start, as Lucene refuses by default) and fuzzy
  terms (``color~``, ``color~1``: Damerau edit distance up to 2, default 2), none of them stemmed;
* boosts (``term^2``, ``"a phrase"^0.5``, ``(a group)^3``);
* field qualifiers (``title:word``, ``title:"a phrase"``, ``title:(a OR b)``);
* ``+`` (required) and ``-``/``!``/``NOT`` (prohibited) modifiers, ``AND``/``&&`` and ``OR``/``||``
  conjunctions, and parentheses.

The conjunctions follow Lucene's rules exactly, quirks included: ``a AND b`` makes both ``a`` and ``b``
required; ``a OR b`` leaves both optional; ``a OR b AND c`` therefore means ``a +b +c``. A Boolean
query matches when every required clause matches, no prohibited clause does, and (if there is no
required clause) at least one optional clause does; one with only prohibited clauses matches nothing.
Its score is the sum of the scores of its matching clauses, times its boost.

What is refused, with the position (0-based character offset) in the message: syntax errors, range
queries (``[a TO b]``, ``{a TO b}``), regular expressions (``/re/``), leading wildcards, phrase slop
(``"a b"~2``), and fuzzy distances above 2.

The parser returns a tree (``Query``) with raw, unanalyzed text; ``spruce.text.search`` analyzes and
evaluates it per field.
"""

from __future__ import annotations

import enum
import math
import re
from dataclasses import dataclass
from typing import NoReturn

from spruce.errors import InvalidArgumentError

__all__ = [
    "MAX_CLAUSES",
    "Bool",
    "Fuzzy",
    "Occur",
    "Phrase",
    "Prefix",
    "Query",
    "Term",
    "Wildcard",
    "parse_query",
]

MAX_CLAUSES = 1024
"""Most leaf clauses one query string may hold (Lucene's default ``maxClauseCount``)."""
MAX_QUERY_CHARS = 16_384
_MAX_DEPTH = 32
_SPECIAL = frozenset('+-&|!(){}[]^"~*?:\\/ \t\r\n\u3000')


class Occur(enum.Enum):
    MUST = "+"
    SHOULD = ""
    MUST_NOT = "-"


@dataclass(frozen=True, slots=True)
class Term:
    """A word; ``field`` None means the clause's default field(s)."""

    field: str | None
    text: str
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words that must occur at consecutive positions."""

    field: str | None
    text: str
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Prefix:
    """Every term starting with ``prefix`` (lowercased, not stemmed); constant score."""

    field: str | None
    prefix: str
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Wildcard:
    """Every term matching ``pattern``, a regular expression (from ``*`` any run, ``?`` one character);
    constant score."""

    field: str | None
    pattern: str
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Fuzzy:
    """Every term within ``distance`` edits of ``text``; constant score."""

    field: str | None
    text: str
    distance: int = 2
    boost: float = 1.0


@dataclass(frozen=True, slots=True)
class Bool:
    clauses: tuple[tuple[Occur, Query], ...]
    boost: float = 1.0


Query = Term | Phrase | Prefix | Wildcard | Fuzzy | Bool


class _Kind(enum.Enum):
    WORD = "a term"
    QUOTED = "a phrase"
    LPAREN = "'('"
    RPAREN = "')'"
    COLON = "':'"
    CARET = "'^'"
    TILDE = "'~'"
    PLUS = "'+'"
    MINUS = "'-'"
    NOT = "NOT"
    AND = "AND"
    OR = "OR"
    END = "the end of the query"


@dataclass(frozen=True, slots=True)
class _Token:
    kind: _Kind
    text: str  # unescaped text of a word or phrase
    at: int
    raw: str = ""  # a word's text with its escapes kept (to tell ``\\*`` from a wildcard ``*``)


def _fail(field: str, message: str, at: int) -> NoReturn:
    raise InvalidArgumentError(f"{field}: {message} at position {at}", field=field)


def _lex(text: str, field: str) -> list[_Token]:
    out: list[_Token] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c in " \t\r\n\u3000":
            i += 1
            continue
        start = i
        if c == "(":
            out.append(_Token(_Kind.LPAREN, c, i))
        elif c == ")":
            out.append(_Token(_Kind.RPAREN, c, i))
        elif c == ":":
            out.append(_Token(_Kind.COLON, c, i))
        elif c == "^":
            out.append(_Token(_Kind.CARET, c, i))
        elif c == "~":
            out.append(_Token(_Kind.TILDE, c, i))
        elif c == "+":
            out.append(_Token(_Kind.PLUS, c, i))
        elif c in "-!":
            out.append(_Token(_Kind.MINUS, c, i))
        elif c in "&|":
            if text[i : i + 2] != c * 2:
                _fail(field, f"a single {c!r} (did you mean {c * 2!r}?)", i)
            out.append(_Token(_Kind.AND if c == "&" else _Kind.OR, c * 2, i))
            i += 1
        elif c in "[{":
            _fail(field, "range queries ([a TO b], {a TO b}) are not supported", i)
        elif c in "]}":
            _fail(field, f"unexpected {c!r}", i)
        elif c == "/":
            _fail(field, "regular expression queries (/.../) are not supported", i)
        elif c == '"':
            i += 1
            buf: list[str] = []
            while i < n and text[i] != '"':
                if text[i] == "\\":
                    if i + 1 >= n:
                        _fail(field, "a '\\' escapes nothing", i)
                    i += 1
                buf.append(text[i])
                i += 1
            if i >= n:
                _fail(field, "unterminated phrase (missing closing '\"')", start)
            out.append(_Token(_Kind.QUOTED, "".join(buf), start))
        else:
            buf = []
            raw: list[str] = []
            while i < n:
                c = text[i]
                if c == "\\":
                    if i + 1 >= n:
                        _fail(field, "a '\\' escapes nothing", i)
                    buf.append(text[i + 1])
                    raw.append(text[i : i + 2])
                    i += 2
                    continue
                # '-' and '+' may continue a term (Lucene: foo-bar is one term), never start one
                if c in _SPECIAL and not (c in "+-" and buf) and c not in "*?":
                    break
                buf.append(c)
                raw.append(c)
                i += 1
            word, raw_word = "".join(buf), "".join(raw)
            kind = {"AND": _Kind.AND, "OR": _Kind.OR, "NOT": _Kind.NOT}.get(raw_word, _Kind.WORD)
            out.append(_Token(kind, word, start, raw_word))
            continue
        i += 1
    out.append(_Token(_Kind.END, "", n))
    return out


class _Parser:
    def __init__(self, tokens: list[_Token], field: str) -> None:
        self.tokens = tokens
        self.pos = 0
        self.field = field
        self.leaves = 0

    def peek(self, ahead: int = 0) -> _Token:
        return self.tokens[min(self.pos + ahead, len(self.tokens) - 1)]

    def take(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def expect(self, kind: _Kind, what: str) -> _Token:
        token = self.peek()
        if token.kind is not kind:
            self.unexpected(token, what)
        return self.take()

    def unexpected(self, token: _Token, expected: str) -> NoReturn:
        shown = token.kind.value if token.kind in (_Kind.END, _Kind.QUOTED) else repr(token.text)
        _fail(self.field, f"expected {expected} but found {shown}", token.at)

    def query(self, default_field: str | None, depth: int, closing: bool) -> Bool:
        if depth > _MAX_DEPTH:
            _fail(self.field, f"parentheses nest deeper than {_MAX_DEPTH}", self.peek().at)
        clauses: list[list[object]] = []  # [occur, query]
        first = True
        while True:
            token = self.peek()
            if token.kind is _Kind.END or (closing and token.kind is _Kind.RPAREN):
                break
            conj = None
            if token.kind in (_Kind.AND, _Kind.OR):
                if first:
                    self.unexpected(token, "a term, a phrase or '('")
                conj = self.take().kind
            modifier = None
            if self.peek().kind in (_Kind.PLUS, _Kind.MINUS, _Kind.NOT):
                modifier = self.take().kind
            query = self.clause(default_field, depth)
            # Lucene's QueryParserBase.addClause, default operator OR
            if clauses and conj is _Kind.AND and clauses[-1][0] is not Occur.MUST_NOT:
                clauses[-1][0] = Occur.MUST
            prohibited = modifier in (_Kind.MINUS, _Kind.NOT)
            required = modifier is _Kind.PLUS or (conj is _Kind.AND and not prohibited)
            occur = Occur.MUST_NOT if prohibited else Occur.MUST if required else Occur.SHOULD
            clauses.append([occur, query])
            first = False
        if not clauses:
            token = self.peek()
            self.unexpected(token, "a term, a phrase or '('")
        return Bool(tuple((c[0], c[1]) for c in clauses))  # type: ignore[misc]

    def boost(self) -> float:
        if self.peek().kind is not _Kind.CARET:
            return 1.0
        caret = self.take()
        token = self.peek()
        try:
            value = float(token.text) if token.kind is _Kind.WORD else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value) or value < 0:
            _fail(self.field, "a boost ('^') must be followed by a non-negative number", caret.at)
        self.take()
        return value

    def clause(self, default_field: str | None, depth: int) -> Query:
        token = self.peek()
        field = default_field
        if token.kind is _Kind.WORD and self.peek(1).kind is _Kind.COLON:
            if "*" in token.raw or "?" in token.raw or not token.text:
                _fail(self.field, "a field name must be a plain name", token.at)
            field = token.text
            self.take()
            self.take()
            token = self.peek()
        if token.kind is _Kind.LPAREN:
            self.take()
            group = self.query(field, depth + 1, closing=True)
            self.expect(_Kind.RPAREN, "')'")
            boost = self.boost()
            return Bool(group.clauses, boost) if boost != 1.0 else group
        if token.kind is _Kind.QUOTED:
            self.take()
            self.count(token)
            if self.peek().kind is _Kind.TILDE:
                _fail(self.field, 'phrase slop ("..."~N) is not supported', self.peek().at)
            return Phrase(field, token.text, self.boost())
        if token.kind is _Kind.WORD:
            self.take()
            self.count(token)
            return self.word(field, token)
        self.unexpected(token, "a term, a phrase or '('")

    def count(self, token: _Token) -> None:
        self.leaves += 1
        if self.leaves > MAX_CLAUSES:
            _fail(self.field, f"more than {MAX_CLAUSES} clauses", token.at)

    def word(self, field: str | None, token: _Token) -> Query:
        fuzzy: int | None = None
        if self.peek().kind is _Kind.TILDE:
            tilde = self.take()
            fuzzy = 2
            nxt = self.peek()
            if nxt.kind is _Kind.WORD and nxt.at == tilde.at + 1 and _is_number(nxt.text):
                value = float(nxt.text)
                if value != int(value) or not 0 <= value <= 2:
                    _fail(self.field, "a fuzzy edit distance must be 0, 1 or 2", nxt.at)
                fuzzy = int(value)
                self.take()
        boost = self.boost()
        raw = token.raw
        wild = _unescaped_positions(raw)
        if fuzzy is not None:
            if wild:
                _fail(self.field, "a fuzzy term cannot hold wildcards", token.at)
            return Fuzzy(field, token.text, fuzzy, boost)
        if not wild:
            return Term(field, token.text, boost)
        if wild == [len(token.text) - 1] and token.text.endswith("*") and len(token.text) > 1:
            return Prefix(field, token.text[:-1], boost)
        if wild[0] == 0 and token.text != "*":
            _fail(self.field, "a term cannot start with a wildcard ('*' or '?')", token.at)
        return Wildcard(field, _pattern(raw), boost)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _unescaped_positions(raw: str) -> list[int]:
    """Positions (in the unescaped text) of the wildcard characters that were not escaped."""
    out: list[int] = []
    i = at = 0
    while i < len(raw):
        if raw[i] == "\\":
            i += 2
        else:
            if raw[i] in "*?":
                out.append(at)
            i += 1
        at += 1
    return out


def _pattern(raw: str) -> str:
    """A wildcard term as a regular expression for ``re.fullmatch``: escaped characters are literals,
    ``*`` any run and ``?`` one character. (Lowercasing it keeps its meaning: ``re.escape`` writes no
    letter escapes.)"""
    out: list[str] = []
    i = 0
    while i < len(raw):
        if raw[i] == "\\":
            out.append(re.escape(raw[i + 1]))
            i += 2
            continue
        out.append({"*": ".*", "?": "."}.get(raw[i]) or re.escape(raw[i]))
        i += 1
    return "".join(out)


def parse_query(text: str, *, field: str = "query_string", default_field: str | None = None) -> Bool:
    """Parse a query string into a tree, or refuse it with the position of the fault.

    ``field`` names the request field for errors; ``default_field`` is the field unqualified terms
    search (None: the caller resolves them, e.g. against several fields).
    """
    if not isinstance(text, str):
        raise InvalidArgumentError(f"{field} must be a string", field=field)
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidArgumentError(
            f"{field} may hold at most {MAX_QUERY_CHARS} characters, got {len(text)}", field=field
        )
    parser = _Parser(_lex(text, field), field)
    query = parser.query(default_field, 0, closing=False)
    end = parser.peek()
    if end.kind is not _Kind.END:
        parser.unexpected(end, "a term, a phrase, '(' or the end of the query")
    return query
