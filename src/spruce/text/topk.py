"""The exact top k of BM25 ``text`` clauses without scoring every posting: MaxScore over a namespace.

Each common query term t (of some field) has an upper bound on what it adds to any document's score:
its weight (idf) times the largest term-frequency factor ``tf / (tf + k1 * (1 - b + b * dl / avgdl))``
among its rows (``TextPostings.max_saturation``, kept per avgdl).

The rare terms (fewer postings than ``PRUNE_MIN_POSTINGS`` or an eighth of the rows) are read whole and
summed per row. ``theta``, the k-th best exact score of the ``2k`` rows with the best partial sums (the
common terms looked up for those rows only), is a lower bound of the final k-th best score. If the
bounds of the common terms sum below ``theta``, no row that no rare term reached can enter the top k;
otherwise the common term with the largest bound is read whole too, and the test repeated. The rows
reached whose partial score plus the bounds of the terms not read still reach ``theta`` are then
completed exactly: each remaining term's postings are searched for them (``searchsorted``), not read
whole. Common words (a query's "the", "of") are what this skips.

The result is every candidate that can be in the top k, with its exact score, ties included; the caller
ranks them. Scores are the same BM25 as ``TextScorer.bm25`` (``spruce.text.search``), summed in another
order, so they may differ from it in the last bit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from spruce.text.index import TextPostings
from spruce.text.search import TextScorer, saturate, sum_by_row

__all__ = ["PRUNE_MIN_POSTINGS", "bm25_top"]

PRUNE_MIN_POSTINGS = 2048
RARE_SHARE = 8
"""Terms in fewer than this share of the rows (1 / RARE_SHARE) are read whole too: measured on the
``real`` set's 150,000 passages with 16-term queries (``benchmarks/bench_documents.py``), mean latency
was 2.85 / 2.45 / 2.03 / 1.80 / 2.12 ms at 1/128, 1/32, 1/16, 1/8 and 1/4."""
"""A term with fewer postings is always read whole (cheaper than a check of ``theta``)."""

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
_SLACK = 1e-12  # the bound comparison leaves room for rounding in the sums


@dataclass(frozen=True, slots=True)
class _Term:
    weight: float
    avgdl: float
    size: int
    places: tuple[tuple[tuple[TextPostings, int, int], ...], ...]  # per block: (postings, first row, tid)

    @property
    def ub(self) -> float:
        """The most this term adds to any row's score (asked of common terms only)."""
        return self.weight * max(
            postings.max_saturation(tid, self.avgdl) for places in self.places for postings, _, tid in places
        )


def _terms(scorer: TextScorer, items: Sequence[tuple[str, Sequence[str]]]) -> list[_Term]:
    out: list[_Term] = []
    for name, words in items:
        _, corpus = scorer.fields[name]
        docs, avgdl = corpus.stats()
        if not docs:
            continue
        counts: dict[str, int] = {}
        for word in words:
            counts[word] = counts.get(word, 0) + 1
        for word, count in counts.items():
            weight = count * corpus.idf(word)
            places = []
            size = 0
            for text, _alive in corpus.blocks:
                mine = []
                for postings, first in text.parts:
                    tid = postings.term_id(word)
                    if tid >= 0:
                        mine.append((postings, first, tid))
                        size += postings.df(tid)
                places.append(tuple(mine))
            if size:
                out.append(_Term(weight, avgdl, size, tuple(places)))
    return out


def _kth(scores: Sequence[FloatArray], k: int) -> float:
    """The k-th best of the scores of all blocks (0 while there are fewer than k)."""
    values = np.concatenate(scores) if len(scores) > 1 else scores[0]
    if len(values) < k:
        return 0.0
    return float(np.partition(values, len(values) - k)[len(values) - k])


class _Evidence:
    """Exact scores of some rows, whose k-th best bounds the final k-th best score from below (a row's
    exact score is final: reading more terms later changes what is known of other rows only)."""

    def __init__(self, k: int) -> None:
        self.k = k
        self.exact: dict[tuple[int, int], float] = {}

    def add(self, found: Sequence[tuple[Any, FloatArray]], unread: Sequence[_Term]) -> None:
        """Make exact the scores of the ``2k`` rows of ``found`` with the best partial scores, by
        looking up the ``unread`` terms for them only (a row appears at most once per block)."""
        flat = np.concatenate([s for _, s in found]) if found else np.zeros(0)
        take = min(len(flat), 2 * self.k)
        if not take:
            return
        best = np.argpartition(-flat, take - 1)[:take]
        start = 0
        for b, (rows, scores) in enumerate(found):
            mine = np.sort(best[(best >= start) & (best < start + len(rows))] - start)
            start += len(rows)
            if not len(mine):
                continue
            picked = np.asarray(rows[mine], dtype=np.int64)
            order = np.argsort(picked)
            picked, got = picked[order], scores[mine][order].copy()
            for term in unread:
                got += _lookup(term, b, picked)
            self.exact.update(zip(((b, r) for r in picked.tolist()), got.tolist(), strict=True))

    def theta(self) -> float:
        """The k-th best exact score known (0 while fewer than k are known)."""
        if len(self.exact) < self.k:
            return 0.0
        values = np.fromiter(self.exact.values(), dtype=np.float64, count=len(self.exact))
        return float(np.partition(values, len(values) - self.k)[len(values) - self.k])


def _read(acc: FloatArray, term: _Term, block: int) -> Any:
    """Add ``term``'s contributions to one block's accumulator; the rows it touched (distinct)."""
    touched = []
    for postings, first, tid in term.places[block]:
        lo, hi = int(postings.ptr[tid]), int(postings.ptr[tid + 1])
        rows = postings.rows[lo:hi]
        at = rows + first if first else rows
        acc[at] += saturate(postings.tf[lo:hi], postings.dl[rows], term.avgdl) * term.weight
        touched.append(at)
    if not touched:
        return np.zeros(0, dtype=np.int64)
    return touched[0] if len(touched) == 1 else np.concatenate(touched)


def _gather(terms: Sequence[_Term], block: int, n: int) -> tuple[IntArray, FloatArray]:
    """The rows of one block holding any of ``terms``, ascending, and what those terms add up to."""
    rows: list[Any] = []  # int32 as stored, or int64 once offset: both index alike
    scores: list[FloatArray] = []
    for term in terms:
        for postings, first, tid in term.places[block]:
            lo, hi = int(postings.ptr[tid]), int(postings.ptr[tid + 1])
            got = postings.rows[lo:hi]
            rows.append(got + first if first else got)
            scores.append(saturate(postings.tf[lo:hi], postings.dl[got], term.avgdl) * term.weight)
    return sum_by_row(rows, scores, n)


def _lookup(term: _Term, block: int, cand: Any) -> FloatArray:
    """What ``term`` adds to each of the rows ``cand`` (ascending) of one block."""
    out = np.zeros(len(cand))
    if not len(cand):
        return out
    for postings, first, tid in term.places[block]:
        lo, hi = int(postings.ptr[tid]), int(postings.ptr[tid + 1])
        rows = postings.rows[lo:hi]  # searched as stored (int32): casting it would copy every posting
        if first == 0 and int(cand[-1]) < postings.n:  # a segment: every candidate is in this part
            where: Any = slice(None)
            needle = cand.astype(rows.dtype, copy=False)
        else:
            local = cand - first
            inside = np.flatnonzero((local >= 0) & (local < postings.n))
            where, needle = inside, local[inside].astype(rows.dtype)
        pos = np.searchsorted(rows, needle)
        np.minimum(pos, len(rows) - 1, out=pos)
        hit = rows[pos] == needle
        found = needle[hit]
        contrib = saturate(postings.tf[lo + pos[hit]], postings.dl[found], term.avgdl) * term.weight
        if isinstance(where, slice):
            out[hit] += contrib
        else:
            out[where[hit]] += contrib
    return out


def bm25_top(
    scorer: TextScorer, items: Sequence[tuple[str, Sequence[str]]], k: int, allowed: Sequence[BoolArray]
) -> list[tuple[IntArray, FloatArray]]:
    """Per block: the allowed rows that can be among the best ``k`` by the summed BM25 of ``items``
    (``(field, terms)`` pairs) over all blocks, ascending, with their exact scores (see the module
    docstring)."""
    terms = _terms(scorer, items)
    sizes = scorer.sizes
    cut = max(PRUNE_MIN_POSTINGS, sum(sizes) // RARE_SHARE)
    rare = [t for t in terms if t.size < cut]
    common = [t for t in terms if t.size >= cut]
    if common and not rare:
        rare, common = common, []  # nothing to bound the common terms with: read them all
    bounds = {id(t): t.ub for t in common}
    common.sort(key=lambda t: -bounds[id(t)])
    found = []
    for b, n in enumerate(sizes):
        rows, scores = _gather(rare, b, n)
        keep = allowed[b][rows]
        found.append((rows[keep], scores[keep]))
    if not common:
        return found
    evidence = _Evidence(k)
    evidence.add(found, common)
    theta = evidence.theta()
    rest = sum(bounds.values())
    if common and rest * (1.0 + _SLACK) >= theta:
        # a row holding only common terms could still make the top k: read the common terms that could
        # add the most whole, into one accumulator per block, until the others' bounds fall below theta
        dense = [np.zeros(n) for n in sizes]
        for acc, (rows, scores) in zip(dense, found, strict=True):
            acc[rows] = scores
        while common and rest * (1.0 + _SLACK) >= theta:
            term = common.pop(0)
            rest -= bounds[id(term)]
            best = []
            for b, acc in enumerate(dense):
                rows = _read(acc, term, b)
                rows = rows[allowed[b][rows]]
                best.append((rows, acc[rows]))
            evidence.add(best, common)
            theta = evidence.theta()
        found = []
        for b, acc in enumerate(dense):
            cand = np.flatnonzero((acc > 0) & allowed[b])
            found.append((cand, acc[cand]))
    for term in common:  # complete the candidates that can still reach theta, term by term
        pruned = []
        for b, (rows, scores) in enumerate(found):
            reach = scores + rest * (1.0 + _SLACK) >= theta
            rows, scores = rows[reach], scores[reach]
            pruned.append((rows, scores + _lookup(term, b, rows)))
        found = pruned
        rest -= bounds[id(term)]
        theta = max(theta, _kth([s for _, s in found], k))
    return found
