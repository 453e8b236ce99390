"""Coarse clusters (``spruce.index.clusters``): ordering, probing, the persisted form, and recall."""

from __future__ import annotations

import math
import struct
from typing import Any

import numpy as np
import pytest

from spruce.index.clusters import PROBE_FRACTION, Clusters, supports

F32 = np.ndarray[Any, np.dtype[np.float32]]
F64 = np.ndarray[Any, np.dtype[np.float64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]

METRICS = ["cosine", "euclidean"]
TIE = 1e-4  # slack for float32 near-ties between the implementation's ranking and the float64 one here


def _centres(count: int, dim: int, seed: int) -> F64:
    c: F64 = np.random.default_rng(seed).normal(size=(count, dim))
    c /= np.linalg.norm(c, axis=1, keepdims=True)
    return c


def _around(centres: F64, n: int, seed: int, noise: float = 0.35) -> F32:
    """``n`` unit vectors, each near one of ``centres`` (picked at random)."""
    rng = np.random.default_rng(seed)
    dim = centres.shape[1]
    x = centres[rng.integers(0, len(centres), size=n)] + rng.normal(size=(n, dim)) * noise / math.sqrt(dim)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def _clustered(n: int, dim: int, centres: int, seed: int) -> F32:
    return _around(_centres(centres, dim, seed), n, seed + 1)


def _centroid_key(clusters: Clusters, x: F64) -> F64:
    """Per row of ``x`` and per centroid, smaller is nearer, by the metric's rule (in float64)."""
    cen = clusters.centroids.astype(np.float64)
    if clusters.metric == "cosine":
        unit = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-300)
        key: F64 = -(unit @ cen.T)
        return key
    d2: F64 = (x * x).sum(axis=1)[:, None] - 2.0 * (x @ cen.T) + (cen * cen).sum(axis=1)[None, :]
    return d2


def _cluster_of(clusters: Clusters, rows: I64) -> I64:
    """The cluster each row (in cluster order) lies in (empty clusters are skipped by ``side='right'``)."""
    out: I64 = np.searchsorted(clusters.offsets, rows, side="right").astype(np.int64) - 1
    return out


def _ranges(clusters: Clusters, chosen: I64) -> I64:
    parts = [np.arange(clusters.offsets[i], clusters.offsets[i + 1], dtype=np.int64) for i in sorted(chosen)]
    out: I64 = np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)
    return out


def _order(vectors: np.ndarray, metric: str) -> tuple[Clusters, I64]:
    ordered = Clusters.order(vectors, metric)
    assert ordered is not None
    return ordered


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("where", [0, 4_999])  # in the k-means sample, and (at 5,001 rows) likely not
def test_values_too_large_for_float32_distances_are_left_unclustered(metric: str, where: int) -> None:
    """Legal but huge components would overflow faiss's float32 k-means (an abort inside OpenMP, or a -1
    assignment); such a block is not clustered at all, and moderate values still are."""
    vectors = np.random.default_rng(1).normal(size=(5_001, 4)).astype(np.float32)
    vectors[where] *= np.float32(1e20)
    assert Clusters.order(vectors, metric) is None
    vectors[where] = np.float32(1e12)  # large, but its squared distances fit in float32
    clusters, perm = _order(vectors, metric)
    assert sorted(perm.tolist()) == list(range(len(vectors))) and clusters.rows == len(vectors)


def test_supports_cosine_and_euclidean_only() -> None:
    assert supports("cosine")
    assert supports("euclidean")
    assert not supports("dotproduct")
    assert not supports("manhattan")


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("n", [2, 3, 10, 257, 1000, 5000])
def test_perm_and_offsets_are_well_formed(metric: str, n: int) -> None:
    rng = np.random.default_rng(n)
    vectors = rng.normal(size=(n, 8)).astype(np.float32)
    clusters, perm = _order(vectors, metric)
    assert perm.dtype == np.int64
    assert sorted(perm.tolist()) == list(range(n))
    offsets = clusters.offsets
    assert offsets[0] == 0 and offsets[-1] == n
    assert np.all(np.diff(offsets) >= 0)
    assert clusters.rows == n
    assert clusters.count == len(offsets) - 1 == len(clusters.centroids)
    assert clusters.centroids.shape == (clusters.count, 8)
    assert clusters.centroids.dtype == np.float32
    assert 1 <= clusters.count <= max(1, n // 2)
    if n >= 10:
        assert abs(clusters.count - math.sqrt(n)) <= 1
    # stable within a cluster: each run of the permutation is ascending
    for i in range(clusters.count):
        run = perm[offsets[i] : offsets[i + 1]]
        assert np.all(np.diff(run) > 0)


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("kind", ["clustered", "gaussian", "scaled"])
def test_every_row_lies_in_its_nearest_cluster(metric: str, kind: str) -> None:
    n, dim = 3000, 16
    if kind == "clustered":
        vectors = _clustered(n, dim, 20, seed=3)
    else:
        rng = np.random.default_rng(4)
        vectors = rng.normal(size=(n, dim)).astype(np.float32)
        if kind == "scaled":  # norms spread over decades: cosine must normalise, euclidean must not
            vectors *= (10.0 ** rng.uniform(-2, 2, size=(n, 1))).astype(np.float32)
    clusters, perm = _order(vectors, metric)
    if metric == "cosine":
        np.testing.assert_allclose(np.linalg.norm(clusters.centroids, axis=1), 1.0, rtol=1e-4)
    ordered = vectors[perm].astype(np.float64)
    key = _centroid_key(clusters, ordered)
    own = _cluster_of(clusters, np.arange(n, dtype=np.int64))
    own_key = key[np.arange(n), own]
    best = key.min(axis=1)
    scale = 1.0 if metric == "cosine" else np.maximum((ordered * ordered).sum(axis=1), 1.0)
    assert np.all(own_key - best <= TIE * scale), "a row is stored in a cluster that is not its nearest"


@pytest.mark.parametrize("metric", METRICS)
def test_probe_everything(metric: str) -> None:
    vectors = _clustered(2000, 12, 10, seed=5)
    clusters, _ = _order(vectors, metric)
    q = vectors[17]
    for fraction in (1.0, 1.5, 100.0):
        rows = clusters.probe(q, fraction)
        np.testing.assert_array_equal(rows, np.arange(2000))
        assert rows.dtype == np.int64


@pytest.mark.parametrize("metric", METRICS)
def test_probe_reads_the_nearest_clusters_whole(metric: str) -> None:
    n, dim = 4000, 16
    vectors = _clustered(n, dim, 25, seed=6)
    clusters, _ = _order(vectors, metric)
    count = clusters.count
    sizes = np.diff(clusters.offsets)
    rng = np.random.default_rng(7)
    queries = np.concatenate([rng.normal(size=(10, dim)), vectors[rng.integers(0, n, size=10)] * 3.0])
    for q64 in queries:
        q = q64.astype(np.float32)
        key = _centroid_key(clusters, q.astype(np.float64)[None, :])[0]
        scale = 1.0 if metric == "cosine" else max(float(q64 @ q64), 1.0)
        for fraction in (1e-9, 0.0, 0.03, 0.1, PROBE_FRACTION, 0.5, 0.99):
            want = min(count, max(1, math.ceil(fraction * count)))
            rows = clusters.probe(q, fraction)
            assert rows.dtype == np.int64
            assert np.all(np.diff(rows) > 0), "rows not strictly ascending"
            chosen = np.unique(_cluster_of(clusters, rows))
            # exactly the union of whole clusters: nothing missing from any cluster touched
            np.testing.assert_array_equal(rows, _ranges(clusters, chosen))
            assert len(chosen) <= want
            if want == count:
                continue
            kth = np.sort(key)[want - 1]
            # the chosen clusters are among the nearest ``want`` (ties allowed)...
            assert np.all(key[chosen] <= kth + TIE * scale)
            # ...and no clearly nearer non-empty cluster was left out
            clearly_nearer = np.flatnonzero((key < kth - TIE * scale) & (sizes > 0))
            assert set(clearly_nearer.tolist()) <= set(chosen.tolist())


@pytest.mark.parametrize("metric", METRICS)
def test_probe_returns_at_least_the_nearest_cluster(metric: str) -> None:
    """A query equal to a stored row: the smallest probe is exactly that row's cluster (or one tied)."""
    vectors = _clustered(3000, 16, 30, seed=8)
    clusters, perm = _order(vectors, metric)
    ordered = vectors[perm]
    for r in (0, 1234, 2999):
        q = ordered[r]
        own = int(_cluster_of(clusters, np.array([r], dtype=np.int64))[0])
        for fraction in (0.0, -1.0, 1e-12):
            rows = clusters.probe(q, fraction)
            assert len(rows) > 0
            got = np.unique(_cluster_of(clusters, rows))
            assert len(got) == 1
            if int(got[0]) != own:  # only legitimate on a tie
                key = _centroid_key(clusters, q.astype(np.float64)[None, :])[0]
                assert abs(key[int(got[0])] - key[own]) <= TIE
            else:
                assert r in set(rows.tolist())


@pytest.mark.parametrize("metric", METRICS)
def test_probe_takes_a_float64_query(metric: str) -> None:
    vectors = _clustered(2000, 12, 10, seed=9)
    clusters, _ = _order(vectors, metric)
    q = vectors[5].astype(np.float64)
    np.testing.assert_array_equal(clusters.probe(q, 0.2), clusters.probe(q.astype(np.float32), 0.2))


@pytest.mark.parametrize("metric", METRICS)
def test_recall_through_the_nearest_fifth(metric: str) -> None:
    """Wide clusters (noise about 1.5x the distance of a centre from the origin), so that many true
    neighbours lie in a neighbouring cluster: reading the nearest tenth found about 0.98 of them when
    this was written, the nearest twentieth 0.96, a random fifth would find about 0.2."""
    n, dim, k = 20_000, 64, 10
    centres = _centres(100, dim, seed=10)
    vectors = _around(centres, n, seed=11, noise=1.5)
    clusters, perm = _order(vectors, metric)
    ordered = vectors[perm].astype(np.float64)
    queries = _around(centres, 200, seed=99, noise=1.5).astype(np.float64)  # new points, same centres
    sq = (ordered * ordered).sum(axis=1)
    hits = 0
    probed_total = 0
    for q in queries:
        dots = ordered @ q
        score = -dots if metric == "cosine" else sq - 2.0 * dots + q @ q  # (rows are unit vectors)
        truth = set(np.argpartition(score, k)[:k].tolist())
        rows = clusters.probe(q.astype(np.float32), PROBE_FRACTION)
        probed_total += len(rows)
        got = rows[np.argpartition(score[rows], k)[:k]] if len(rows) > k else rows
        hits += len(truth & set(got.tolist()))
    recall = hits / (k * len(queries))
    assert recall >= 0.95, f"recall@{k} {recall:.3f}"
    # and it really is a fraction of the rows that is read, not all of them
    assert probed_total / len(queries) < 0.3 * n


@pytest.mark.parametrize("metric", METRICS)
def test_order_is_deterministic(metric: str) -> None:
    vectors = _clustered(5000, 24, 40, seed=11)
    a, perm_a = _order(vectors, metric)
    b, perm_b = _order(vectors.copy(), metric)
    np.testing.assert_array_equal(perm_a, perm_b)
    np.testing.assert_array_equal(a.offsets, b.offsets)
    np.testing.assert_array_equal(a.centroids, b.centroids)


@pytest.mark.parametrize("metric", METRICS)
def test_persisted_form_round_trips(metric: str) -> None:
    n, dim = 3000, 16
    vectors = _clustered(n, dim, 20, seed=12)
    clusters, _ = _order(vectors, metric)
    parts = clusters.to_parts()
    data = b"".join(parts)
    assert len(data) == 8 + clusters.count * dim * 4 + (clusters.count + 1) * 8
    for buf in (data, memoryview(data)):
        back = Clusters.from_buffer(buf, n, dim, metric)
        assert back.metric == metric
        assert back.count == clusters.count and back.rows == n
        np.testing.assert_array_equal(back.centroids, clusters.centroids)
        np.testing.assert_array_equal(back.offsets, clusters.offsets)
        assert back.centroids.dtype == np.float32 and back.offsets.dtype == np.int64
        q = vectors[99]
        for fraction in (0.05, 0.2, 1.0):
            np.testing.assert_array_equal(back.probe(q, fraction), clusters.probe(q, fraction))
    # the form read back writes the same bytes again
    assert b"".join(Clusters.from_buffer(data, n, dim, metric).to_parts()) == data


def _persisted(centroids: F32, offsets: I64) -> bytes:
    return b"".join(Clusters(centroids, offsets, "euclidean").to_parts())


_CEN = np.random.default_rng(13).normal(size=(4, 6)).astype(np.float32)
_GOOD = _persisted(_CEN, np.array([0, 3, 3, 7, 10], dtype=np.int64))  # 4 clusters, 10 rows, dim 6


def _offsets(*values: int) -> bytes:
    return _persisted(_CEN, np.array(values, dtype=np.int64))


def test_from_buffer_accepts_what_fits() -> None:
    back = Clusters.from_buffer(_GOOD, 10, 6, "euclidean")
    assert back.offsets.tolist() == [0, 3, 3, 7, 10]  # an empty cluster is fine
    np.testing.assert_array_equal(back.centroids, _CEN)


@pytest.mark.parametrize(
    ("data", "rows", "dim"),
    [
        pytest.param(_GOOD, 10, 5, id="dim-too-small"),
        pytest.param(_GOOD, 10, 7, id="dim-too-large"),
        pytest.param(_GOOD, 11, 6, id="too-many-rows"),
        pytest.param(_GOOD, 9, 6, id="too-few-rows"),
        pytest.param(_GOOD, 0, 6, id="no-rows"),
        pytest.param(b"", 10, 6, id="empty"),
        pytest.param(_GOOD[:5], 10, 6, id="cut-header"),
        pytest.param(_GOOD[:8], 10, 6, id="header-only"),
        pytest.param(_GOOD[:-1], 10, 6, id="truncated-by-a-byte"),
        pytest.param(_GOOD[:-8], 10, 6, id="truncated-by-an-offset"),
        pytest.param(_GOOD[: 8 + 4 * 6 * 4], 10, 6, id="no-offsets"),
        pytest.param(_GOOD + b"\x00", 10, 6, id="trailing-byte"),
        pytest.param(_offsets(0, 7, 3, 8, 10), 10, 6, id="decreasing-offsets"),
        pytest.param(_offsets(0, 3, 11, 7, 10), 10, 6, id="offset-past-the-end"),
        pytest.param(_offsets(0, -1, 3, 7, 10), 10, 6, id="negative-offset"),
        pytest.param(_offsets(1, 3, 3, 7, 10), 10, 6, id="first-offset-not-0"),
        pytest.param(
            struct.pack("<II", 0, 6) + np.array([10], dtype="<i8").tobytes(), 10, 6, id="no-clusters"
        ),
        pytest.param(
            struct.pack("<II", 0, 6) + np.array([0], dtype="<i8").tobytes(), 0, 6, id="no-clusters-no-rows"
        ),
    ],
)
def test_from_buffer_rejects_what_does_not_fit(data: bytes, rows: int, dim: int) -> None:
    with pytest.raises(ValueError):
        Clusters.from_buffer(data, rows, dim, "euclidean")
