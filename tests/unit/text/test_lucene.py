"""The query-string parser's reading of Lucene syntax, and its refusals naming the position."""

from __future__ import annotations

import pytest

from spruce.errors import InvalidArgumentError
from spruce.text.lucene import Bool, Fuzzy, Occur, Phrase, Prefix, Term, Wildcard, parse_query

M, S, N = Occur.MUST, Occur.SHOULD, Occur.MUST_NOT


def shape(text: str) -> list[tuple[Occur, object]]:
    return list(parse_query(text).clauses)


def test_conjunctions_follow_lucene() -> None:
    assert shape("a b") == [(S, Term(None, "a")), (S, Term(None, "b"))]
    assert shape("a AND b") == [(M, Term(None, "a")), (M, Term(None, "b"))]
    assert shape("a && b") == shape("a AND b")
    # Lucene's classic quirk: AND binds both neighbours, OR leaves the first optional
    assert shape("a OR b AND c") == [(S, Term(None, "a")), (M, Term(None, "b")), (M, Term(None, "c"))]
    assert shape("+a -b !c NOT d") == [
        (M, Term(None, "a")),
        (N, Term(None, "b")),
        (N, Term(None, "c")),
        (N, Term(None, "d")),
    ]
    # a prohibited clause stays prohibited when AND follows it
    assert shape("-a AND b") == [(N, Term(None, "a")), (M, Term(None, "b"))]


def test_terms_phrases_and_multi_term_forms() -> None:
    assert shape('title:"big dog"^3') == [(S, Phrase("title", "big dog", 3.0))]
    assert shape("run*") == [(S, Prefix(None, "run"))]
    assert shape("r?n*") == [(S, Wildcard(None, "r.n.*"))]
    assert shape("colr~") == [(S, Fuzzy(None, "colr", 2))]
    assert shape("colr~1^2") == [(S, Fuzzy(None, "colr", 1, 2.0))]
    assert shape("foo-bar") == [(S, Term(None, "foo-bar"))]
    assert shape(r"a\*b \(x\)") == [(S, Term(None, "a*b")), (S, Term(None, "(x)"))]
    group = shape("body:(a OR b)^2")
    assert group == [(S, Bool(((S, Term("body", "a")), (S, Term("body", "b"))), 2.0))]


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("", 0, "expected a term"),
        ("a AND", 5, "the end of the query"),
        ("(a b", 4, "expected ')'"),
        ("a)", 1, "')'"),
        ("title:[a TO b]", 6, "range queries"),
        ("/ab+/", 0, "regular expression"),
        ("*ab", 0, "start with a wildcard"),
        ("a^x", 1, "boost"),
        ('"open', 0, "unterminated phrase"),
        ("a~3", 2, "edit distance"),
        ("AND a", 0, "'AND'"),
        ("a & b", 2, "single '&'"),
        ('"a b"~2', 5, "slop"),
        ("a\\", 1, "escapes nothing"),
    ],
)
def test_refusals_name_the_position(text: str, position: int, words: str) -> None:
    with pytest.raises(InvalidArgumentError) as err:
        parse_query(text)
    assert f"at position {position}" in err.value.message
    assert words in err.value.message
    assert err.value.field == "query_string"


def test_too_many_clauses() -> None:
    with pytest.raises(InvalidArgumentError, match="more than 1024 clauses"):
        parse_query(" ".join(["w"] * 1025))
