"""Full-text scoring and Lucene operators against a brute-force oracle written from the definitions.

Random corpora over a small vocabulary (shared prefixes and near-misses, so prefix and fuzzy terms have
something to find, repeated words for term frequencies), split into blocks the way the engine splits
them (a segment, gathered segments after compaction, a memtable's prefix and tail), with random dead
rows. The oracle never touches ``spruce.text.index`` or ``spruce.text.search``: it reads each live
document's analyzed terms and positions and applies BM25 (Lucene's formula, k1 = 1.2, b = 0.75, exact
lengths) and Lucene's Boolean rules directly. Queries are random trees rendered as query strings and
parsed by ``spruce.text.lucene``, so the parser's reading of a string is checked as well.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spruce.text import lucene
from spruce.text.analysis import TextOptions, analyzer_for
from spruce.text.index import TextPostings, TextRows
from spruce.text.search import BlockText, FieldCorpus, TextScorer, match_rows

AN = analyzer_for(TextOptions())
WORDS = ["run", "runs", "rung", "ran", "apple", "apply", "ample", "cat", "cart", "act", "the", "of", "zebra"]

# ---------------------------------------------------------------- the oracle


def osa(a: str, b: str) -> int:
    """Optimal string alignment distance (Damerau with adjacent transpositions), by dynamic programming."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


def phrase_freq(doc: tuple[list[str], list[int]], qt: list[str], qp: list[int]) -> int:
    """How many places of ``doc`` hold the terms ``qt`` at the relative positions ``qp``."""
    have = set(zip(*doc, strict=True))
    starts = {p for t, p in have if t == qt[0]}
    return sum(all((t, s + off - qp[0]) in have for t, off in zip(qt, qp, strict=True)) for s in starts)


class Oracle:
    def __init__(self, docs: list[tuple[list[str], list[int]]]) -> None:
        self.docs = docs  # the live documents, analyzed
        having = [d for d in docs if d[0]]
        self.n = len(having)
        self.avgdl = sum(len(d[0]) for d in having) / self.n if self.n else 0.0

    def idf(self, term: str) -> float:
        df = sum(term in d[0] for d in self.docs)
        return math.log(1 + (self.n - df + 0.5) / (df + 0.5))

    def sat(self, tf: int, dl: int) -> float:
        return tf / (tf + 1.2 * (1 - 0.75 + 0.75 * dl / self.avgdl))

    def leaf(self, q: Any, doc: tuple[list[str], list[int]]) -> tuple[bool, float] | None:
        terms, positions = doc
        if isinstance(q, lucene.Term):
            qt = AN.terms(q.text)
            if not qt:
                return None
            score = sum(
                q.boost * self.idf(t) * self.sat(terms.count(t), len(terms)) for t in qt if t in terms
            )
            return any(t in terms for t in qt), score
        if isinstance(q, lucene.Phrase):
            qt, qp = AN.analyze(q.text)
            if len(qt) <= 1:
                return self.leaf(lucene.Term(q.field, q.text, q.boost), doc)
            have = set(zip(terms, positions, strict=True))
            starts = {p for t, p in have if t == qt[0]}
            freq = sum(
                all((t, s + off - qp[0]) in have for t, off in zip(qt, qp, strict=True)) for s in starts
            )
            if not freq:
                return False, 0.0
            return True, q.boost * sum(self.idf(t) for t in qt) * self.sat(freq, len(terms))
        if isinstance(q, lucene.Prefix):
            pre = AN.normalize(q.prefix)
            hit = any(t.startswith(pre) for t in terms)
        elif isinstance(q, lucene.Wildcard):
            hit = any(re.fullmatch(q.pattern.lower(), t, re.DOTALL) for t in terms)
        else:
            word = AN.normalize(q.text)
            hit = any(osa(word, t) <= q.distance for t in terms)
        return hit, q.boost if hit else 0.0

    def eval(self, q: Any, doc: tuple[list[str], list[int]]) -> tuple[bool, float] | None:
        if not isinstance(q, lucene.Bool):
            return self.leaf(q, doc)
        got = [(occur, r) for occur, sub in q.clauses if (r := self.eval(sub, doc)) is not None]
        if not got:
            return None
        musts = [r for o, r in got if o is lucene.Occur.MUST]
        shoulds = [r for o, r in got if o is lucene.Occur.SHOULD]
        nots = [r for o, r in got if o is lucene.Occur.MUST_NOT]
        if not musts and not shoulds:
            return False, 0.0
        ok = all(m for m, _ in musts) if musts else any(m for m, _ in shoulds)
        ok = ok and not any(m for m, _ in nots)
        return ok, (sum(s for _, s in musts) + sum(s for _, s in shoulds)) * q.boost if ok else 0.0


# ---------------------------------------------------------------- strategies


words = st.sampled_from(WORDS)
texts = st.lists(words, max_size=14).map(" ".join)


def render(draw: Any, depth: int) -> str:
    kind = draw(st.sampled_from(["term", "term", "phrase", "prefix", "fuzzy", "wild", "group"] if depth else
                                ["term", "phrase", "prefix", "fuzzy", "wild"]))  # fmt: skip
    boost = draw(st.sampled_from(["", "", "^2", "^0.5"]))
    if kind == "term":
        return draw(words) + boost
    if kind == "phrase":
        return '"' + " ".join(draw(st.lists(words, min_size=1, max_size=3))) + '"' + boost
    if kind == "prefix":
        return draw(words)[: draw(st.integers(1, 3))] + "*" + boost
    if kind == "fuzzy":
        return draw(words) + "~" + draw(st.sampled_from(["", "0", "1", "2"])) + boost
    if kind == "wild":
        w = draw(words)
        i = draw(st.integers(1, len(w) - 1)) if len(w) > 1 else 1
        return w[:i] + draw(st.sampled_from(["?", "*"])) + w[i + 1 :] + boost
    parts = [render(draw, depth - 1) for _ in range(draw(st.integers(1, 4)))]
    out = []
    for i, part in enumerate(parts):
        mod = draw(st.sampled_from(["", "", "+", "-", "NOT "]))
        conj = draw(st.sampled_from(["", "", "AND ", "OR ", "&& "])) if i else ""
        out.append(conj + mod + part)
    return "(" + " ".join(out) + ")" + boost


@st.composite
def queries(draw: Any) -> str:
    return " ".join(render(draw, 2) for _ in range(draw(st.integers(1, 3))))


@st.composite
def corpora(draw: Any) -> tuple[list[str], list[bool], list[int]]:
    docs = draw(st.lists(texts, min_size=1, max_size=40))
    alive = draw(st.lists(st.booleans(), min_size=len(docs), max_size=len(docs)))
    cuts = sorted(set(draw(st.lists(st.integers(0, len(docs)), max_size=3))))
    return docs, alive, cuts


def build(docs: list[str], alive: list[bool], cuts: list[int], layout: str) -> tuple[TextScorer, list[Any]]:
    """The corpus as blocks (``layout``: each block one postings part, a memtable-like prefix and tail
    per block, or the live rows gathered into one compacted block), and each block's docs."""
    bounds = [0, *cuts, len(docs)]
    blocks: list[tuple[BlockText, np.ndarray]] = []
    owned: list[list[int]] = []
    pieces = []
    for lo, hi in itertools.pairwise(bounds):
        rows = TextRows()
        rows.append([AN.analyze(d) for d in docs[lo:hi]])
        pieces.append((rows, lo, hi))
    if layout == "gathered":
        sources = []
        taken = 0
        for rows, lo, hi in pieces:
            live = np.array(alive[lo:hi], dtype=bool)
            new_row = np.where(live, taken + np.cumsum(live) - 1, -1)
            taken += int(live.sum())
            sources.append((rows.postings(0, hi - lo), new_row))
        g = TextPostings.gather(sources, taken)
        blocks.append((BlockText(((g, 0),), taken), np.ones(taken, dtype=bool)))
        owned.append([i for i in range(len(docs)) if alive[i]])
    else:
        for rows, lo, hi in pieces:
            m = hi - lo
            if layout == "tail" and m > 1:
                mid = m // 2
                parts = ((rows.postings(0, mid), 0), (rows.postings(mid, m), mid))
            else:
                parts = ((rows.postings(0, m), 0),)
            blocks.append((BlockText(parts, m), np.array(alive[lo:hi], dtype=bool)))
            owned.append(list(range(lo, hi)))
    corpus = FieldCorpus(blocks)
    return TextScorer({"body": (AN, corpus)}, [b.n for b, _ in blocks]), [blocks, owned]


def flat_rows(results: list[Any], blocks: list[Any], owned: list[list[int]]) -> dict[int, float]:
    """Doc index -> score of the live matching rows, from per-block (rows, scores) results (each row
    once)."""
    out: dict[int, float] = {}
    for (rows, scores), (_, alive), docs in zip(results, blocks, owned, strict=True):
        assert len(set(rows.tolist())) == len(rows), "a row twice"
        for row, score in zip(rows.tolist(), scores.tolist(), strict=True):
            if alive[row]:
                out[docs[row]] = float(score)
    return out


layouts = st.sampled_from(["blocks", "tail", "gathered"])


@settings(max_examples=150, deadline=None)
@given(corpora(), queries(), layouts)
def test_query_strings_match_the_oracle(corpus: Any, text: str, layout: str) -> None:
    docs, alive, cuts = corpus
    scorer, (blocks, owned) = build(docs, alive, cuts, layout)
    q = lucene.parse_query(text)
    got = flat_rows(scorer.query_rows(q, ["body"]), blocks, owned)
    oracle = Oracle([AN.analyze(d) for d, a in zip(docs, alive, strict=True) if a])
    expect: dict[int, float] = {}
    for i, d in enumerate(docs):
        if alive[i]:
            r = oracle.eval(q, AN.analyze(d))
            if r is not None and r[0]:
                expect[i] = r[1]
    assert set(got) == set(expect), text
    for i, score in expect.items():
        assert math.isclose(got[i], score, rel_tol=1e-9, abs_tol=1e-12), (text, i)


@settings(max_examples=150, deadline=None)
@given(corpora(), st.lists(words, min_size=1, max_size=5), layouts)
def test_bm25_matches_the_definition(corpus: Any, terms: list[str], layout: str) -> None:
    docs, alive, cuts = corpus
    scorer, (blocks, owned) = build(docs, alive, cuts, layout)
    qterms = [t for w in terms for t in AN.terms(w)]
    got = flat_rows(scorer.bm25_rows("body", qterms), blocks, owned)
    oracle = Oracle([AN.analyze(d) for d, a in zip(docs, alive, strict=True) if a])
    for i, d in enumerate(docs):
        if not alive[i]:
            continue
        dt = AN.terms(d)
        score = sum(oracle.idf(t) * oracle.sat(dt.count(t), len(dt)) for t in qterms if t in dt)
        assert (i in got) == any(t in dt for t in qterms)
        if i in got:
            assert math.isclose(got[i], score, rel_tol=1e-9, abs_tol=1e-12)


@settings(max_examples=100, deadline=None)
@given(corpora(), st.lists(words, min_size=1, max_size=3).map(" ".join), layouts,
       st.sampled_from(["$match_phrase", "$match_all", "$match_any"]))  # fmt: skip
def test_text_match_filters(corpus: Any, value: str, layout: str, mode: str) -> None:
    docs, alive, cuts = corpus
    _, (blocks, owned) = build(docs, alive, cuts, layout)
    got = set()
    for (text, _), ids in zip(blocks, owned, strict=True):
        got |= {ids[r] for r in match_rows(text, AN, mode, value).tolist()}
    qt, qp = AN.analyze(value)
    expect = set()
    for i, d in enumerate(docs):
        if layout == "gathered" and not alive[i]:
            continue
        terms, positions = AN.analyze(d)
        if mode == "$match_any":
            ok = any(t in terms for t in qt)
        elif mode == "$match_all":
            ok = bool(qt) and all(t in terms for t in qt)
        else:
            have = set(zip(terms, positions, strict=True))
            ok = bool(qt) and any(
                all((t, s + o - qp[0]) in have for t, o in zip(qt, qp, strict=True))
                for t0, s in have
                if t0 == qt[0]
            )
        if ok:
            expect.add(i)
    assert got == expect


def test_persisted_postings_read_back() -> None:
    rows = TextRows()
    rows.append([AN.analyze("the cat ran"), None, AN.analyze("cat cat apple")])
    p = rows.postings(0, 3)
    back = TextPostings.from_buffer(b"".join(bytes(x) for x in p.to_parts()), 3)
    assert back.words == p.words == ["apple", "cat", "ran", "the"]
    for name in ("ptr", "rows", "tf", "pos_ptr", "positions", "dl"):
        assert np.array_equal(getattr(back, name), getattr(p, name)), name
    assert back.dl.tolist() == [3, 0, 3]
