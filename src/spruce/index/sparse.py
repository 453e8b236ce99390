"""Sparse search: exact dot products over compressed rows, and an inverted index (gathered, or MaxScore).

A sparse query scores a record by the dot product of their sparse vectors (Pinecone's only sparse
metric). Two paths, both exact:

* ``dot_all`` / ``dot_rows`` read the rows themselves (``types.SparseRows``): the memtable and frozen
  blocks, which are small and still growing, and the rescoring of candidates.
* ``Postings`` is a segment's inverted index: for every dimension that occurs, the rows holding it in
  ascending order with their values, and the largest and smallest value. ``Postings.search`` takes one
  of two paths by the number of postings of the query's terms. Up to ``GATHER_MAX`` it *gathers* them
  all: one ``np.bincount`` sums them per row in C, float64, and only rows scoring at least a proven
  lower bound of the k-th score are sorted out. Measured on the BM25 benchmark (150,000 passages,
  queries of 3,000 to 250,000 postings, ``benchmarks/bench_sparse.py``), this is twice as fast as the
  MaxScore below at every query length, even with heavy-tailed query weights, because MaxScore's
  numpy form pays per term and for a dense accumulator it must zero and scan. Above ``GATHER_MAX``
  (concatenating that many postings would cost more memory than a query should) the search is
  *MaxScore* (Turtle and Flood, 1995) done term-at-a-time in numpy. Query terms are taken in order of
  their largest possible contribution; each is added in full to a dense accumulator while a record that
  holds none of the terms seen so far could still reach the top k. Once the contributions left (the sum
  of the remaining terms' bounds) fall below a proven lower bound of the k-th best score, the remaining
  terms are only looked up for the records already met (binary search in their postings, or one pass
  over a term's postings when those are fewer than the records left), and records
  whose bound falls below that lower bound are dropped as it rises. Long postings of common, low-weight
  terms are therefore never read in full, which is where a BM25 or SPLADE query spends most of a full
  scan's time (``benchmarks/bench_sparse.py`` prints how many postings a query touches).

Negative values are allowed (Pinecone allows them): a term's bound uses whichever of its extreme values
gives the larger contribution, and the lower bound of a record's final score adds the most negative
contribution each remaining term could make. Scores are accumulated in float32 and bounds compared with a
relative margin (``MARGIN``), so float rounding can keep an extra candidate but never drop a true one;
the caller rescores the survivors in float64 from the rows (``dot_rows``).

Persisted form (the optional ``sparse_postings`` section of a segment, see ``storage.segment``),
little-endian::

    8 bytes   t = number of distinct dimensions (uint64)
    8 bytes   e = number of postings (uint64)
    t*4       terms, uint32, ascending
    (t+1)*8   ptr, int64: term i's postings are entries ptr[i] .. ptr[i+1]-1
    e*4       rows, int32, ascending within a term
    e*4       values, float32
    t*4       largest value of each term, float32
    t*4       smallest value of each term, float32
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Any

import numpy as np

from spruce.types import IndexArray, SparseRows, Vector32, le_bytes

__all__ = ["GATHER_MAX", "MARGIN", "Postings", "SparseQuery", "dot_all", "dot_rows"]

BoolArray = np.ndarray[Any, np.dtype[np.bool_]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
FloatArray = np.ndarray[Any, np.dtype[np.float64]]

# Postings of the query's terms up to which a search gathers them all rather than run MaxScore (module
# docstring: gathering measured faster at every length tried, up to 250,000; the cap bounds a query's
# temporary arrays, about 24 bytes a posting).
GATHER_MAX = 1_000_000
MARGIN = 1e-4  # relative slack of every pruning comparison (float32 accumulation; module docstring)
_HEAD = struct.Struct("<QQ")


@dataclass(frozen=True, slots=True)
class SparseQuery:
    """A validated sparse query vector, its indices ascending (so entries can be matched by binary search)."""

    indices: IndexArray
    values: Vector32

    @classmethod
    def of(cls, indices: IndexArray, values: Vector32) -> SparseQuery:
        order = np.argsort(indices, kind="stable")
        return cls(
            np.ascontiguousarray(indices[order], dtype=np.uint32),
            np.ascontiguousarray(values[order], dtype=np.float32),
        )

    def __len__(self) -> int:
        return len(self.indices)

    def weights_of(self, indices: IndexArray) -> FloatArray:
        """The query's value at each of ``indices`` (0 where the query has none), as float64."""
        if not len(self) or not len(indices):
            return np.zeros(len(indices))
        pos = np.searchsorted(self.indices, indices)
        pos = np.minimum(pos, len(self) - 1)
        hit = self.indices[pos] == indices
        return np.where(hit, self.values[pos].astype(np.float64), 0.0)


def dot_all(rows: SparseRows, q: SparseQuery) -> FloatArray:
    """Every row's dot product with ``q`` (float64), by one pass over the rows' entries."""
    n = len(rows)
    nnz = rows.nnz
    if not nnz or not len(q):
        return np.zeros(n)
    w = q.weights_of(rows.indices[:nnz])
    hit = np.flatnonzero(w)
    if not len(hit):
        return np.zeros(n)
    owner = np.searchsorted(rows.indptr, hit, side="right") - 1  # the row holding each matched entry
    contrib = w[hit] * rows.values[hit].astype(np.float64)
    out: FloatArray = np.asarray(np.bincount(owner, weights=contrib, minlength=n), dtype=np.float64)
    return out


def dot_rows(rows: SparseRows, picked: IntArray, q: SparseQuery) -> FloatArray:
    """The dot products of the given rows with ``q`` (float64), in that order."""
    if not len(picked):
        return np.zeros(0)
    pos, lengths = rows.positions(picked)
    if not len(pos):
        return np.zeros(len(picked))
    owner = np.repeat(np.arange(len(picked)), lengths)
    contrib = q.weights_of(rows.indices[pos]) * rows.values[pos].astype(np.float64)
    out: FloatArray = np.asarray(np.bincount(owner, weights=contrib, minlength=len(picked)), np.float64)
    return out


def _positive(bound: float) -> float:
    """A bound of the k-th final score, used only when positive: below that, the k rows it rests on
    may end at exactly 0, which is dropped (Pinecone's rule), so it would prune rows that belong."""
    return bound if bound > 0 else -np.inf


def _below(bound: Any, theta: float) -> Any:
    """``bound < theta`` with the relative slack of ``MARGIN`` in the bound's favour (never, while no
    lower bound is known: ``theta`` is -inf)."""
    if theta == -np.inf:
        return np.zeros(np.shape(bound), dtype=bool)
    return bound < theta - MARGIN * abs(theta) - 1e-30


@dataclass(frozen=True, slots=True)
class SearchOutcome:
    """Candidate rows (a superset of the top k, ties at the k-th score included) with their scores, and
    how many postings the search read (in full or by lookup). ``exact``: the scores are complete float64
    sums (the gathering path) and need no rescoring; else float32 accumulations (MaxScore) the caller
    rescores from the rows."""

    rows: IntArray
    scores: np.ndarray[Any, Any]
    touched: int
    exact: bool = False


class Postings:
    """The inverted index of one segment's sparse rows (module docstring)."""

    def __init__(
        self,
        n: int,
        terms: IndexArray,
        ptr: IntArray,
        rows: np.ndarray[Any, np.dtype[np.int32]],
        values: Vector32,
        tmax: Vector32,
        tmin: Vector32,
    ) -> None:
        self.n = n
        self.terms = terms
        self.ptr = ptr
        self.rows = rows
        self.values = values
        self.tmax = tmax
        self.tmin = tmin

    @property
    def size(self) -> int:
        """Postings in all."""
        return len(self.rows)

    @classmethod
    def build(cls, sparse: SparseRows) -> Postings:
        n, nnz = len(sparse), sparse.nnz
        owner = np.repeat(np.arange(n, dtype=np.int32), np.diff(sparse.indptr))
        order = np.argsort(sparse.indices[:nnz], kind="stable")  # stable: rows stay ascending per term
        keys = sparse.indices[:nnz][order]
        rows = owner[order]
        values = sparse.values[:nnz][order].astype(np.float32)
        if nnz:
            starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1])))
        else:
            starts = np.empty(0, dtype=np.int64)
        terms = keys[starts].astype(np.uint32)
        ptr = np.append(starts, nnz).astype(np.int64)
        if nnz:
            tmax = np.maximum.reduceat(values, starts).astype(np.float32)
            tmin = np.minimum.reduceat(values, starts).astype(np.float32)
        else:
            tmax = tmin = np.empty(0, dtype=np.float32)
        return cls(n, terms, ptr, rows, values, tmax, tmin)

    def search(self, q: SparseQuery, k: int, allowed: BoolArray | None) -> SearchOutcome:
        """Rows that may be in the top ``k`` of ``q`` among ``allowed`` rows (all rows if ``None``), with
        their scores: by gathering every posting of the query's terms when they are few (at most
        ``GATHER_MAX``), else by MaxScore (module docstring). Rows that hold none of the query's terms
        score 0 and are never returned."""
        t_count = len(self.terms)
        empty = SearchOutcome(np.empty(0, dtype=np.int64), np.empty(0, dtype=np.float32), 0)
        if not t_count or not len(q):
            return empty
        pos = np.searchsorted(self.terms, q.indices)
        present = pos < t_count
        present[present] = self.terms[pos[present]] == q.indices[present]
        tids, w = pos[present], q.values[present].astype(np.float32)
        if not len(tids):
            return empty
        if int((self.ptr[tids + 1] - self.ptr[tids]).sum()) <= GATHER_MAX:
            return self._gather(tids, w, k, allowed)
        return self._maxscore(tids, w, k, allowed)

    def _gather(self, tids: IntArray, w: Vector32, k: int, allowed: BoolArray | None) -> SearchOutcome:
        """The path for short postings: every posting of the query's terms summed per row in one C pass
        (``np.bincount``), then the top ``k`` with ties among the rows met. A lower bound of the k-th
        score comes from ``k`` distinct rows' final scores (those of the shortest term with ``k`` allowed
        postings, else of every row met), so only the rows at or above it are sorted out."""
        spans = [(int(self.ptr[t]), int(self.ptr[t + 1])) for t in tids.tolist()]
        rows = np.concatenate([self.rows[a:b] for a, b in spans])
        lengths = np.array([b - a for a, b in spans], dtype=np.int64)
        contrib = np.concatenate([self.values[a:b] for a, b in spans]) * np.repeat(
            w.astype(np.float64), lengths
        )
        touched = len(rows)
        acc = np.bincount(rows, weights=contrib, minlength=self.n)
        if allowed is not None:
            rows = rows[allowed[rows]]
        if len(rows) > k:
            sample = None
            for j in np.argsort(lengths, kind="stable").tolist():  # the shortest term with k rows allowed
                if lengths[j] < k:
                    continue
                mine = self.rows[slice(*spans[j])]
                mine = mine if allowed is None else mine[allowed[mine]]
                if len(mine) >= k:
                    sample = mine
                    break
            if sample is None:  # few rows in all (a row of several terms is met once per term)
                sample = np.unique(rows)
            scores = acc[sample]
            scores = scores[scores != 0]  # a row scoring 0 is dropped later: it bounds nothing
            if len(scores) >= k:
                kth = float(np.partition(scores, len(scores) - k)[len(scores) - k])
                rows = rows[~_below(acc[rows], kth)]
        rows = np.unique(rows)
        return SearchOutcome(rows.astype(np.int64), acc[rows], touched, exact=True)

    def _maxscore(self, tids: IntArray, w: Vector32, k: int, allowed: BoolArray | None) -> SearchOutcome:
        """MaxScore, term at a time, over a dense accumulator of the segment's rows (module docstring)."""
        hi = np.maximum(w * self.tmax[tids], w * self.tmin[tids])
        lo = np.minimum(w * self.tmax[tids], w * self.tmin[tids])
        up = np.maximum(hi, 0.0).astype(np.float64)  # a row lacking the term gets 0 from it
        down = np.minimum(lo, 0.0).astype(np.float64)
        order = np.argsort(-up, kind="stable")
        tids, w, up, down = tids[order], w[order], up[order], down[order]
        m = len(tids)
        # up_left[i]: the most that terms i.. can still add to a row; down_left[i]: the least
        up_left = np.append(np.cumsum(up[::-1])[::-1], 0.0)
        down_left = np.append(np.cumsum(down[::-1])[::-1], 0.0)

        acc = np.zeros(self.n, dtype=np.float32)
        met = np.zeros(self.n, dtype=bool)
        theta = -np.inf  # a proven lower bound of the k-th best final score
        touched = 0
        i = 0
        while i < m and not _below(up_left[i], theta):
            a, b = int(self.ptr[tids[i]]), int(self.ptr[tids[i] + 1])
            r = self.rows[a:b]
            acc[r] += w[i] * self.values[a:b]  # rows are distinct within a term
            met[r] = True
            touched += b - a
            i += 1
            mine = r if allowed is None else r[allowed[r]]
            if len(mine) >= k:  # k distinct rows' partial scores: the k-th bounds the final k-th
                kth = float(np.partition(acc[mine], len(mine) - k)[len(mine) - k])
                theta = max(theta, _positive(kth + float(down_left[i])))

        cand = np.flatnonzero(met if allowed is None else met & allowed)
        scores = acc[cand]
        keep = ~_below(scores + up_left[i], theta)
        cand, scores = cand[keep], scores[keep]
        for j in range(i, m):  # the non-essential terms: only for the candidates left
            if not len(cand):
                break
            a, b = int(self.ptr[tids[j]]), int(self.ptr[tids[j] + 1])
            r = self.rows[a:b]
            if len(cand) < b - a:  # binary search of each candidate in the term's postings
                at = np.searchsorted(r, cand)
                inside = at < len(r)
                inside[inside] = r[at[inside]] == cand[inside]
                acc[cand[inside]] += w[j] * self.values[a + at[inside]]
                touched += len(cand)
            else:  # as many candidates as postings: reading them all is cheaper
                acc[r] += w[j] * self.values[a:b]
                touched += b - a
            scores = acc[cand]
            if len(cand) >= k:
                kth = float(np.partition(scores, len(cand) - k)[len(cand) - k])
                theta = max(theta, _positive(kth + float(down_left[j + 1])))
            keep = ~_below(scores + up_left[j + 1], theta)
            cand, scores = cand[keep], scores[keep]
        return SearchOutcome(cand.astype(np.int64), scores.astype(np.float32), touched)

    # ------------------------------------------------------------ persisted form

    def to_parts(self) -> list[bytes | memoryview]:
        return [
            _HEAD.pack(len(self.terms), len(self.rows)),
            le_bytes(self.terms, "<u4"),
            le_bytes(self.ptr, "<i8"),
            le_bytes(self.rows, "<i4"),
            le_bytes(self.values, "<f4"),
            le_bytes(self.tmax, "<f4"),
            le_bytes(self.tmin, "<f4"),
        ]

    @classmethod
    def from_buffer(cls, data: memoryview | bytes, rows: int) -> Postings:
        """Read the persisted form (module docstring); ``ValueError`` if it does not fit the segment."""
        if len(data) < _HEAD.size:
            raise ValueError("sparse postings section is truncated")
        t, e = _HEAD.unpack_from(data)
        if len(data) != _HEAD.size + t * 4 + (t + 1) * 8 + e * 8 + t * 8:
            raise ValueError("sparse postings section does not fit its counts")
        off = _HEAD.size

        def take(count: int, dtype: str) -> np.ndarray[Any, Any]:
            nonlocal off
            arr = np.frombuffer(data, dtype=dtype, count=count, offset=off)
            off += count * arr.itemsize
            return arr

        terms = take(t, "<u4").astype(np.uint32, copy=False)
        ptr = take(t + 1, "<i8").astype(np.int64, copy=False)
        post_rows = take(e, "<i4").astype(np.int32, copy=False)
        values = take(e, "<f4").astype(np.float32, copy=False)
        tmax = take(t, "<f4").astype(np.float32, copy=False)
        tmin = take(t, "<f4").astype(np.float32, copy=False)
        if ptr[0] != 0 or ptr[-1] != e or (e and (int(post_rows.min()) < 0 or int(post_rows.max()) >= rows)):
            raise ValueError("sparse postings section does not fit the segment")
        return cls(rows, terms, ptr, post_rows, values, tmax, tmin)
