"""Coarse clusters for a large block that has no graph yet, so that a query need not scan all its rows.

Why: rows flushed while their namespace already has a graph get no graph of their own (the next merge
inserts them into the namespace's graph, and building one for them too would double the indexing work).
Until that merge ends, which takes tens of seconds under a bulk load, every query scanned them all: about
3 ms per 50,000 x 384 rows on one core, 15-20 ms at a backlog of 150,000 rows (``benchmarks/bench_stalls.py``,
the README there). With clusters, the same 150,000 rows beside a 50,000-row graph take 4.3-4.8 ms per
query (``benchmarks/bench_micro.py backlog``; 17.4 ms before). Clustering them costs about 0.3 s per
50,000 x 384 rows (a sampled k-means plus one assignment pass), against about 8 s to insert them into a
graph.

How: ``sqrt(n)`` centroids from k-means over a sample; the block's rows are *stored in cluster order* (the
builder permutes them before it writes the segment), so each cluster is a contiguous run of rows and a
query reads only the runs of the clusters nearest to it, in place. The scores of the rows read are exact;
only which rows are read is approximate. On 50,000 real 384-d sentence embeddings, reading the nearest
fifth of the clusters found recall@10 0.95 (a tenth: 0.89), hence ``PROBE_FRACTION`` at the default ``ef``.

Metrics: cosine clusters unit-normalised rows (spherical k-means) and ranks clusters by inner product with
the query; euclidean uses plain k-means and L2 distance to the centroids. Dot product gets no clusters:
nearest centroids are a poor guide to the largest inner products (the rows of large norm matter most), so
those blocks are scanned exactly as before.

Persisted form (the optional ``clusters`` section of a segment, see ``storage.segment``), little-endian::

    4 bytes   c = number of clusters (uint32)
    4 bytes   d = dimension (uint32)
    c*d*4     centroids, float32, row-major
    (c+1)*8   offsets, int64: cluster i is rows offsets[i] .. offsets[i+1]-1 (offsets[0] = 0, offsets[c] = n)
"""

from __future__ import annotations

import math
import struct
from typing import Any

import faiss as _faiss
import numpy as np

from spruce.index.omp import build_threads, search_thread

faiss: Any = _faiss  # untyped SWIG bindings

__all__ = ["PROBE_FRACTION", "Clusters", "supports"]

FloatArray = np.ndarray[Any, np.dtype[np.float32]]
IntArray = np.ndarray[Any, np.dtype[np.int64]]

PROBE_FRACTION = 0.2  # of the clusters read at the default ef (module docstring)
SAMPLE_PER_CLUSTER = 40  # k-means training rows per centroid (faiss asks for at least 39)
KMEANS_ITERATIONS = 10
SEED = 1234
MAX_ABS = 1e15  # squared float32 distances stay finite below this, even at 20,000 dimensions
_CHECK_ROWS = 16_384
_HEAD = struct.Struct("<II")


def supports(metric: str) -> bool:
    """Whether blocks of this metric are clustered (not dot product: module docstring)."""
    return metric in ("cosine", "euclidean")


def _unit(x: FloatArray) -> FloatArray:
    out: FloatArray = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-30)
    return out.astype(np.float32, copy=False)


class Clusters:
    """Centroids, and the row range of each cluster in a block stored in cluster order."""

    def __init__(self, centroids: FloatArray, offsets: IntArray, metric: str) -> None:
        self.centroids = centroids
        self.offsets = offsets
        self.metric = metric
        self._c_sq = np.einsum("ij,ij->i", centroids, centroids)

    @property
    def count(self) -> int:
        return len(self.centroids)

    @property
    def rows(self) -> int:
        return int(self.offsets[-1])

    # ------------------------------------------------------------ building

    @classmethod
    def order(cls, vectors: FloatArray, metric: str) -> tuple[Clusters, IntArray] | None:
        """Cluster ``vectors`` (n x d, n >= 2); returns the clusters and the permutation ``perm`` such that
        row ``i`` of the block stored in cluster order is ``vectors[perm[i]]`` (stable within a cluster).

        None when a component exceeds ``MAX_ABS``: faiss's k-means works in float32, where the squared
        distances of such rows overflow (its assignment then fails inside OpenMP, which aborts the
        process). Values that large are legal, so such a block is simply left unclustered (scanned)."""
        n, dim = vectors.shape
        for start in range(0, n, _CHECK_ROWS):
            if float(np.max(np.abs(vectors[start : start + _CHECK_ROWS]), initial=0.0)) > MAX_ABS:
                return None
        count = max(1, min(n // 2, round(math.sqrt(n))))
        rng = np.random.default_rng(SEED)
        take = min(n, SAMPLE_PER_CLUSTER * count)
        pick = np.sort(rng.choice(n, size=take, replace=False)) if take < n else np.arange(n)
        sample = np.ascontiguousarray(vectors[pick], dtype=np.float32)
        spherical = metric == "cosine"
        if spherical:
            sample = _unit(sample)
        kmeans = faiss.Kmeans(
            dim, count, niter=KMEANS_ITERATIONS, spherical=spherical, seed=SEED, verbose=False,
            max_points_per_centroid=SAMPLE_PER_CLUSTER, min_points_per_centroid=1,
        )  # fmt: skip
        with build_threads():
            kmeans.train(sample)
            centroids = np.ascontiguousarray(kmeans.centroids, dtype=np.float32)
            quantizer = faiss.IndexFlatIP(dim) if spherical else faiss.IndexFlatL2(dim)
            quantizer.add(centroids)
            assign = np.empty(n, dtype=np.int64)
            step = 16_384  # a chunk at a time: a normalised copy of all rows would double the block
            for start in range(0, n, step):
                chunk = np.ascontiguousarray(vectors[start : start + step], dtype=np.float32)
                _, label = quantizer.search(_unit(chunk) if spherical else chunk, 1)
                assign[start : start + len(chunk)] = label[:, 0]
        perm = np.argsort(assign, kind="stable").astype(np.int64)
        offsets = np.zeros(count + 1, dtype=np.int64)
        np.cumsum(np.bincount(assign, minlength=count), out=offsets[1:])
        return cls(centroids, offsets, metric), perm

    # ------------------------------------------------------------ searching

    def probe(self, q: FloatArray, fraction: float) -> IntArray:
        """The rows (ascending) of the ``fraction`` of clusters nearest to ``q`` (at least one cluster).

        A search entry point, so it sets the calling thread to one OpenMP thread (``omp.search_thread``) like
        the others, although its own work is numpy only today: a faiss call added here is then covered."""
        search_thread()
        count = self.count
        want = min(count, max(1, math.ceil(fraction * count)))
        if want == count:
            return np.arange(self.rows, dtype=np.int64)
        q32 = np.asarray(q, dtype=np.float32)
        dots = self.centroids @ q32
        key = -dots if self.metric == "cosine" else self._c_sq - 2.0 * dots  # smaller is nearer
        chosen = np.sort(np.argpartition(key, want - 1)[:want])
        starts = self.offsets[chosen]
        lengths = self.offsets[chosen + 1] - starts
        # rows of all chosen clusters in one vectorised pass: each run's start, shifted by where it lands
        firsts = np.cumsum(lengths) - lengths
        rows: IntArray = np.arange(int(lengths.sum()), dtype=np.int64) + np.repeat(starts - firsts, lengths)
        return rows

    # ------------------------------------------------------------ persisted form

    def to_parts(self) -> list[bytes | memoryview]:
        c, d = self.centroids.shape
        return [
            _HEAD.pack(c, d),
            np.ascontiguousarray(self.centroids, dtype="<f4").data.cast("B"),
            np.ascontiguousarray(self.offsets, dtype="<i8").data.cast("B"),
        ]

    @classmethod
    def from_buffer(cls, data: memoryview | bytes, rows: int, dim: int, metric: str) -> Clusters:
        """Read the persisted form (module docstring); ``ValueError`` if it does not fit the segment."""
        if len(data) < _HEAD.size:
            raise ValueError("clusters section is truncated")
        c, d = _HEAD.unpack_from(data)
        end = _HEAD.size + c * d * 4
        if d != dim or c < 1 or len(data) != end + (c + 1) * 8:
            raise ValueError("clusters section does not fit the segment")
        centroids = np.frombuffer(data, dtype="<f4", count=c * d, offset=_HEAD.size).reshape(c, d)
        offsets = np.frombuffer(data, dtype="<i8", count=c + 1, offset=end).astype(np.int64)
        if offsets[0] != 0 or offsets[-1] != rows or np.any(np.diff(offsets) < 0):
            raise ValueError("clusters section offsets do not fit the segment")
        return cls(centroids.astype(np.float32), offsets, metric)
