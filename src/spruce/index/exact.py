"""Exact scoring, as Pinecone defines scores per metric (reference section 7.3).

- cosine: cosine similarity, higher is better;
- dotproduct: raw inner product, higher is better;
- euclidean: squared L2 distance, lower is better (computed as |v|^2 - 2 v.q + |q|^2, clipped at 0).

Dot products are computed in float32 on one thread, not with BLAS: a matrix-vector product is memory-bound,
so one thread is as fast, and multi-threaded BLAS on a busy 2-core machine (or beside faiss's OpenMP
threads) was measured 5-20x slower per query. The kernels are faiss's SIMD ones, which release the GIL:
``fvec_inner_products_ny`` over all rows, and ``fvec_inner_products_by_idx`` over chosen rows, read where
they lie (``einsum`` needed them copied first). On 50,000 x 384 on the 2-core machine
(``benchmarks/bench_micro.py kernels``): all rows 3.2 ms (``einsum`` 3.3-6.9 ms); a fifth of the rows
0.7 ms (copy + ``einsum`` 2.0 ms); half 1.7 ms (7.6-11 ms). Arrays those kernels cannot take (not
float32, not contiguous) go through ``einsum``.

Products are redone in float64 where float32 cannot represent them: a block whose products overflow (finite
values near 3.4e38 are legal), and rows (or a query) so small that their products underflow to zero. So a
score is never NaN or infinite, and a tiny vector still has cosine 1 with itself.

Selection keeps every row tied with the k-th best, so that the caller can break ties by id and the result
is deterministic whatever order rows happen to be stored in.
"""

from __future__ import annotations

from typing import Any

import faiss as _faiss
import numpy as np

from spruce.index.omp import search_thread

__all__ = ["exact_scores", "higher_is_better", "top_candidates"]

faiss: Any = _faiss  # untyped SWIG bindings
FloatArray = np.ndarray[Any, np.dtype[np.floating[Any]]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]
_TINY = 1e-20


def higher_is_better(metric: str) -> bool:
    return metric != "euclidean"


def _dots32(vectors: FloatArray, q: FloatArray, rows: IntArray | None) -> FloatArray:
    """float32 inner products of ``q`` with every row of ``vectors`` (or with ``rows`` of it)."""
    n, d = vectors.shape
    if n and vectors.dtype == np.float32 and vectors.flags.c_contiguous and d == len(q):
        q32 = np.ascontiguousarray(q, dtype=np.float32)
        ptr = faiss.swig_ptr
        out = np.empty(n if rows is None else len(rows), dtype=np.float32)
        if rows is None:
            faiss.fvec_inner_products_ny(ptr(out), ptr(q32), ptr(vectors), d, n)
        elif len(rows):
            idx = np.ascontiguousarray(rows, dtype=np.int64)
            if int(idx.min()) < 0 or int(idx.max()) >= n:  # the kernel reads wherever it is told
                raise IndexError(f"rows out of range for {n} rows")
            faiss.fvec_inner_products_by_idx(ptr(out), ptr(q32), ptr(vectors), ptr(idx), d, 1, len(idx))
        return out
    picked = vectors if rows is None else vectors[rows]
    dots: FloatArray = np.einsum("ij,j->i", picked, q)
    return dots


def exact_scores(
    vectors: FloatArray, sq_norms: FloatArray, q: FloatArray, metric: str, rows: IntArray | None = None
) -> FloatArray:
    """Scores of ``q`` against ``vectors`` (or just against ``rows`` of it, read in place), as float64.
    The calling thread is set to one OpenMP thread first (``omp.search_thread``): this is a search."""
    search_thread()
    with np.errstate(over="ignore", invalid="ignore"):
        dots: FloatArray = _dots32(vectors, q, rows).astype(np.float64)
    if rows is not None:
        sq_norms = sq_norms[rows]
    q64 = q.astype(np.float64)
    q_sq = float(np.dot(q64, q64))
    if not np.isfinite(dots).all() or q_sq < _TINY:
        dots = (vectors if rows is None else vectors[rows]).astype(np.float64) @ q64
    else:
        tiny = np.flatnonzero(sq_norms < _TINY)  # float32 products of tiny components underflow to 0
        if len(tiny):
            at = tiny if rows is None else rows[tiny]
            dots[tiny] = vectors[at].astype(np.float64) @ q64
    if metric == "dotproduct":
        return dots
    if metric == "cosine":
        denom = np.sqrt(sq_norms * q_sq)
        return dots / np.where(denom > 0, denom, 1.0)
    return np.maximum(sq_norms - 2.0 * dots + q_sq, 0.0)


def top_candidates(scores: FloatArray, k: int, metric: str) -> IntArray:
    """Positions of the best ``k`` scores plus every score tied with the k-th (unordered)."""
    n = len(scores)
    if n <= k:
        return np.arange(n, dtype=np.int64)
    key = scores if higher_is_better(metric) else -scores
    kth = np.partition(key, n - k)[n - k]
    return np.flatnonzero(key >= kth).astype(np.int64)
