"""Full-text scoring: BM25 over a namespace's blocks, Lucene query trees, and the text-match filters.

BM25 as Lucene computes it (``BM25Similarity``, k1 = 1.2, b = 0.75), with exact statistics::

    idf(t)     = ln(1 + (N - df(t) + 0.5) / (df(t) + 0.5))
    score(t,d) = boost * idf(t) * tf / (tf + k1 * (1 - b + b * dl(d) / avgdl))

``N`` is the number of live documents of the namespace that hold the field (at least one term),
``df(t)`` the number of those holding ``t``, ``dl`` a document's number of terms in the field and
``avgdl`` the mean of ``dl`` over those ``N``. Unlike Lucene (whose statistics count deleted documents
until segments merge) and tantivy, the statistics are exact at every moment: counted over live rows
only, across all blocks of the namespace snapshot a query reads, so scores never depend on how the data
happens to be split into segments, and a deleted or replaced document stops counting at once. Lengths
are exact too (Lucene and tantivy store them in one lossy byte), so scores equal the textbook formula.

A phrase scores as one term whose frequency is the number of places the phrase occurs and whose idf is
the sum of its terms' idfs (Lucene's ``PhraseQuery``). Prefix, wildcard and fuzzy terms score a constant
``boost`` per matching document (Lucene's constant-score rewrite, tantivy's automaton queries). Boolean
queries sum their matching clauses (``spruce.text.lucene``).

Each query is worked out per block as the rows that match (ascending, distinct) and their scores
(``Hits``): terms from their postings, phrases from their position lists, Boolean nodes by intersecting,
uniting and subtracting their clauses' rows, so the cost follows the postings read, not the rows of the
block. Dead rows may match; the caller masks them (with the metadata filter) before ranking.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spruce.errors import InvalidArgumentError
from spruce.text import lucene
from spruce.text.analysis import Analyzer
from spruce.text.index import TextPostings

__all__ = [
    "BM25_B",
    "BM25_K1",
    "BlockText",
    "FieldCorpus",
    "TextScorer",
    "match_rows",
    "saturate",
    "sum_by_row",
]

BM25_K1 = 1.2
BM25_B = 0.75

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
Hits = tuple["np.ndarray[Any, np.dtype[np.int64]]", "np.ndarray[Any, np.dtype[np.float64]]"]
"""One block's matching rows (ascending, distinct) and their scores."""
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]


@dataclass(frozen=True, slots=True)
class BlockText:
    """One block's index of one field as of a snapshot: postings over consecutive row ranges, each with
    its first row (a segment: one part from row 0; a memtable: its indexed prefix and the tail)."""

    parts: tuple[tuple[TextPostings, int], ...]
    n: int

    def dl(self) -> np.ndarray[Any, np.dtype[np.uint32]]:
        if len(self.parts) == 1 and self.parts[0][1] == 0:
            return self.parts[0][0].dl
        out = np.zeros(self.n, dtype=np.uint32)
        for postings, first in self.parts:
            out[first : first + postings.n] = postings.dl
        return out


@dataclass
class FieldCorpus:
    """One field across a namespace snapshot: each block's index and its live rows."""

    blocks: Sequence[tuple[BlockText, BoolArray]]
    _docs: int = -1
    _avgdl: float = 0.0
    _df: dict[str, int] = field(default_factory=dict)
    _full: list[bool] = field(default_factory=list)

    def _all_live(self) -> list[bool]:
        """Per block, whether every row is live: then N, avgdl and df come from the postings' own counts
        (kept once per postings) instead of masking every row and posting with the liveness."""
        if not self._full:
            self._full = [int(np.count_nonzero(alive)) == len(alive) for _, alive in self.blocks]
        return self._full

    def stats(self) -> tuple[int, float]:
        """``N`` and ``avgdl`` (see the module docstring)."""
        if self._docs < 0:
            docs = total = 0
            for (text, alive), full in zip(self.blocks, self._all_live(), strict=True):
                if full:
                    for postings, _first in text.parts:
                        holders, terms = postings.totals()
                        docs += holders
                        total += terms
                    continue
                dl = text.dl()
                live = alive & (dl > 0)
                docs += int(np.count_nonzero(live))
                total += int(dl[live].sum(dtype=np.int64))
            self._docs, self._avgdl = docs, (total / docs if docs else 0.0)
        return self._docs, self._avgdl

    def df(self, term: str) -> int:
        got = self._df.get(term)
        if got is None:
            got = 0
            for (text, alive), full in zip(self.blocks, self._all_live(), strict=True):
                for postings, first in text.parts:
                    tid = postings.term_id(term)
                    if tid < 0:
                        continue
                    if full:
                        got += postings.df(tid)
                    else:
                        got += int(np.count_nonzero(alive[first + postings.term_rows(tid)]))
            self._df[term] = got
        return got

    def idf(self, term: str) -> float:
        docs, _ = self.stats()
        df = self.df(term)
        return math.log(1.0 + (docs - df + 0.5) / (df + 0.5))


class TextScorer:
    """Evaluates full-text queries over one namespace snapshot: ``fields`` maps each full-text field to its
    analyzer and corpus; every corpus lists the same blocks in the same order."""

    def __init__(self, fields: Mapping[str, tuple[Analyzer, FieldCorpus]], sizes: Sequence[int]) -> None:
        self.fields = fields
        self.sizes = sizes

    # ------------------------------------------------------------ BM25 text clauses

    def bm25_rows(
        self, name: str, terms: Sequence[str], boost: float = 1.0
    ) -> list[tuple[IntArray, FloatArray]]:
        """Every block's BM25 score of the ``terms`` (summed; a repeated term counts again), as the rows
        holding any of them (ascending, distinct) and their scores: the cost follows the postings read,
        not the size of the blocks."""
        _, corpus = self.fields[name]
        docs, avgdl = corpus.stats()
        weights: dict[str, float] = {}
        for term in terms:
            weights[term] = weights.get(term, 0.0) + boost * corpus.idf(term)
        out: list[tuple[IntArray, FloatArray]] = []
        for text, _alive in corpus.blocks:
            got_rows: list[IntArray] = []
            got_scores: list[FloatArray] = []
            overlapping = False  # whether a row may appear twice (several terms in one part)
            if docs:
                for postings, first in text.parts:
                    tids = [postings.term_id(t) for t in weights]
                    known = [(tid, w) for tid, w in zip(tids, weights.values(), strict=True) if tid >= 0]
                    if not known:
                        continue
                    overlapping |= len(known) > 1
                    rows, tf, which = postings.hits([tid for tid, _ in known])
                    w = np.array([wt for _, wt in known])[which]
                    got_rows.append(first + rows)
                    got_scores.append(saturate(tf, postings.dl[rows], avgdl) * w)
            if overlapping:
                out.append(sum_by_row(got_rows, got_scores, text.n))
            else:  # one term per part, parts over disjoint ascending row ranges: ascending, distinct
                out.append(_joined(got_rows, got_scores))
        return out

    # ------------------------------------------------------------ Lucene trees

    def query_rows(self, q: lucene.Query, default_fields: Sequence[str]) -> list[Hits]:
        """Every block's rows matching the Lucene tree ``q`` (ascending, distinct) and their scores:
        every node of the tree is evaluated on the rows its postings name, never on arrays over all
        rows."""
        got = self._eval(q, default_fields)
        return got if got is not None else [_no_hits() for _ in self.sizes]

    def _fields_of(self, node_field: str | None, default_fields: Sequence[str]) -> Sequence[str]:
        return default_fields if node_field is None else (node_field,)

    def _eval(self, q: lucene.Query, defaults: Sequence[str]) -> list[Hits] | None:
        """None: the clause vanished (its text analyzed into no terms), as Lucene drops it."""
        if isinstance(q, lucene.Bool):
            return self._bool(q, defaults)
        names = self._fields_of(q.field, defaults)
        if len(names) > 1:  # an unqualified term over several default fields: any of them
            parts = [got for name in names if (got := self._eval_one(q, name)) is not None]
            return _combine([(lucene.Occur.SHOULD, p) for p in parts], 1.0, self.sizes) if parts else None
        return self._eval_one(q, names[0])

    def _eval_one(self, q: lucene.Query, name: str) -> list[Hits] | None:
        analyzer, corpus = self.fields[name]
        if isinstance(q, lucene.Term):
            terms = analyzer.terms(q.text)
            return self.bm25_rows(name, terms, q.boost) if terms else None
        if isinstance(q, lucene.Phrase):
            terms, positions = analyzer.analyze(q.text)
            if len(terms) <= 1:
                return self.bm25_rows(name, terms, q.boost) if terms else None
            return self._phrase(name, terms, [p - positions[0] for p in positions], q.boost)
        if isinstance(q, lucene.Prefix):
            prefix = analyzer.normalize(q.prefix)
            return self._constant(corpus, lambda p: list(p.prefixed(prefix)), q.boost)
        if isinstance(q, lucene.Wildcard):
            pattern = re.compile(q.pattern.lower() if analyzer.options.lowercase else q.pattern, re.DOTALL)
            return self._constant(corpus, lambda p: p.matching(pattern), q.boost)
        assert isinstance(q, lucene.Fuzzy)
        word = analyzer.normalize(q.text)
        return self._constant(corpus, lambda p: p.near(word, q.distance), q.boost) if word else None

    def _phrase(self, name: str, terms: list[str], offsets: list[int], boost: float) -> list[Hits]:
        _, corpus = self.fields[name]
        docs, avgdl = corpus.stats()
        weight = boost * sum(corpus.idf(t) for t in terms)
        out: list[Hits] = []
        for text, _alive in corpus.blocks:
            rows_parts: list[IntArray] = []
            score_parts: list[FloatArray] = []
            for postings, first in text.parts:  # parts cover ascending, disjoint row ranges
                tids = [postings.term_id(t) for t in terms]
                if min(tids) < 0:
                    continue
                rows, freq = postings.phrase(tids, offsets)
                rows_parts.append(first + rows)
                score_parts.append(
                    weight * saturate(freq, postings.dl[rows], avgdl) if docs else np.zeros(len(rows))
                )
            out.append(_joined(rows_parts, score_parts))
        return out

    def _constant(self, corpus: FieldCorpus, expand: Any, boost: float) -> list[Hits]:
        out: list[Hits] = []
        for text, _alive in corpus.blocks:
            rows_parts: list[IntArray] = []
            for postings, first in text.parts:
                tids = expand(postings)
                if tids:
                    rows_parts.append(first + np.unique(postings.hits(tids)[0]))
            rows = np.concatenate(rows_parts) if rows_parts else np.zeros(0, dtype=np.int64)
            out.append((rows.astype(np.int64), np.full(len(rows), float(boost))))
        return out

    def _bool(self, q: lucene.Bool, defaults: Sequence[str]) -> list[Hits] | None:
        clauses = []
        for occur, sub in q.clauses:
            got = self._eval(sub, defaults)
            if got is not None:
                clauses.append((occur, got))
        if not clauses:
            return None
        return _combine(clauses, q.boost, self.sizes)


def _no_hits() -> Hits:
    return np.zeros(0, dtype=np.int64), np.zeros(0)


def _values_at(rows: IntArray, hits: Hits) -> tuple[BoolArray, FloatArray]:
    """For each of ``rows``: whether ``hits`` holds it, and its score there (0 where not)."""
    have, scores = hits
    if not len(have) or not len(rows):
        return np.zeros(len(rows), dtype=np.bool_), np.zeros(len(rows))
    pos = np.minimum(np.searchsorted(have, rows), len(have) - 1)
    found = have[pos] == rows
    return found, np.where(found, scores[pos], 0.0)


def _joined(rows: Sequence[IntArray], scores: Sequence[FloatArray]) -> tuple[IntArray, FloatArray]:
    if not rows:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    if len(rows) == 1:
        return rows[0], scores[0]
    return np.concatenate(rows), np.concatenate(scores)


def sum_by_row(rows: Sequence[IntArray], scores: Sequence[FloatArray], n: int) -> tuple[IntArray, FloatArray]:
    """(row, score) pairs with the scores of each row summed, rows ascending (a row may appear in several
    parts and several times in one): by sorting when the pairs are few next to the ``n`` rows of the
    block, else by counting over all of them."""
    if not rows:
        return _joined(rows, scores)
    r = np.concatenate(rows) if len(rows) > 1 else rows[0]
    s = np.concatenate(scores) if len(scores) > 1 else scores[0]
    if len(r) * 16 < n:
        uniq, inverse = np.unique(r, return_inverse=True)
        summed: FloatArray = np.bincount(inverse, weights=s, minlength=len(uniq)).astype(np.float64)
        return uniq.astype(np.int64), summed
    dense: FloatArray = np.bincount(r, weights=s, minlength=n).astype(np.float64)
    if len(s) and float(s.min()) > 0:
        found: IntArray = np.flatnonzero(dense > 0).astype(np.int64)
    else:  # a zero score still matches (a Lucene clause boosted by 0)
        found = np.flatnonzero(np.bincount(r, minlength=n)).astype(np.int64)
    return found, dense[found]


def saturate(tf: Any, dl: Any, avgdl: float) -> FloatArray:
    """BM25's term-frequency part, ``tf / (tf + k1 * (1 - b + b * dl / avgdl))``, as float64."""
    tf64 = tf.astype(np.float64)
    norm = BM25_K1 * (1.0 - BM25_B + BM25_B * dl.astype(np.float64) / avgdl)
    out: FloatArray = tf64 / (tf64 + norm)
    return out


def _combine(
    clauses: Sequence[tuple[lucene.Occur, list[Hits]]], boost: float, sizes: Sequence[int]
) -> list[Hits]:
    """A Boolean query's result from its clauses' (Lucene's rules, ``spruce.text.lucene``): the rows of
    every required clause (else of any optional one), less those of a prohibited one; the score the sum
    of the matching clauses' scores, times ``boost``."""
    must = [got for occur, got in clauses if occur is lucene.Occur.MUST]
    should = [got for occur, got in clauses if occur is lucene.Occur.SHOULD]
    must_not = [got for occur, got in clauses if occur is lucene.Occur.MUST_NOT]
    out: list[Hits] = []
    for b, n in enumerate(sizes):
        if must:
            rows = must[0][b][0]
            for got in must[1:]:
                rows = np.intersect1d(rows, got[b][0], assume_unique=True)
            score = np.zeros(len(rows))
            for got in must + should:
                score += _values_at(rows, got[b])[1]
        elif should:
            rows, score = sum_by_row([got[b][0] for got in should], [got[b][1] for got in should], n)
        else:  # only prohibited clauses: matches nothing
            out.append(_no_hits())
            continue
        for got in must_not:
            keep = ~_values_at(rows, got[b])[0]
            rows, score = rows[keep], score[keep]
        out.append((rows.astype(np.int64), score * boost))
    return out


def match_rows(text: BlockText, analyzer: Analyzer, mode: str, value: str) -> IntArray:
    """The rows of one block whose field matches a text-match filter (``$match_phrase``: the phrase;
    ``$match_all``: every term of ``value``; ``$match_any``: one of them), ascending. A value that
    analyzes into no terms matches no row."""
    if mode == "$match_phrase":
        terms, positions = analyzer.analyze(value)
    else:
        terms, positions = analyzer.terms(value), []
    if not terms:
        return np.zeros(0, dtype=np.int64)
    found: list[IntArray] = []
    distinct = list(dict.fromkeys(terms))
    for postings, first in text.parts:
        tids = [postings.term_id(t) for t in distinct]
        if mode == "$match_any":
            known = [t for t in tids if t >= 0]
            if known:
                found.append(first + np.unique(postings.hits(known)[0]))
            continue
        if min(tids) < 0:
            continue
        if mode == "$match_all" or len(terms) == 1:
            rows = postings.term_rows(tids[0])
            for tid in tids[1:]:
                rows = np.intersect1d(rows, postings.term_rows(tid), assume_unique=True)
            found.append(first + rows)
        else:
            all_tids = [postings.term_id(t) for t in terms]
            rows, _ = postings.phrase(all_tids, [p - positions[0] for p in positions])
            found.append(first + rows)
    if not found:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(found).astype(np.int64)


def check_fields(q: lucene.Query, allowed: Mapping[str, object], field_name: str) -> None:
    """Refuse a query naming a field that is not a full-text field (400 naming it)."""
    stack: list[lucene.Query] = [q]
    while stack:
        node = stack.pop()
        if isinstance(node, lucene.Bool):
            stack.extend(sub for _, sub in node.clauses)
        elif node.field is not None and node.field not in allowed:
            raise InvalidArgumentError(
                f"{field_name}: field {node.field!r} is not a full-text field of this index "
                f"(full-text fields: {', '.join(sorted(allowed)) or 'none'})",
                field=field_name,
            )
