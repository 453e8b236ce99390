from __future__ import annotations

import math

import numpy as np
import pytest

from spruce.index import exact_scores, top_candidates


def _sq(v: np.ndarray) -> np.ndarray:
    v64 = v.astype(np.float64)
    return np.einsum("ij,ij->i", v64, v64)


@pytest.mark.parametrize("metric", ["cosine", "dotproduct", "euclidean"])
def test_scores_match_definitions(metric: str) -> None:
    rng = np.random.default_rng(5)
    v = rng.normal(size=(50, 7)).astype(np.float32)
    q = rng.normal(size=7).astype(np.float32)
    got = exact_scores(v, _sq(v), q, metric)
    v64, q64 = v.astype(np.float64), q.astype(np.float64)
    if metric == "cosine":
        want = v64 @ q64 / (np.linalg.norm(v64, axis=1) * np.linalg.norm(q64))
    elif metric == "dotproduct":
        want = v64 @ q64
    else:
        want = ((v64 - q64) ** 2).sum(axis=1)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    rows = np.array([3, 1, 40])
    np.testing.assert_allclose(exact_scores(v, _sq(v), q, metric, rows), want[rows], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("metric", ["cosine", "dotproduct", "euclidean"])
def test_huge_finite_values_never_give_nan_or_inf(metric: str) -> None:
    v = np.array([[3e38, 3e38], [-3e38, 1.0]], dtype=np.float32)
    q = np.array([3e38, -3e38], dtype=np.float32)
    scores = exact_scores(v, _sq(v), q, metric)
    assert all(math.isfinite(s) for s in scores)


def test_top_candidates_keeps_ties_at_the_boundary() -> None:
    scores = np.array([0.9, 0.5, 0.5, 0.5, 0.1])
    assert sorted(top_candidates(scores, 2, "cosine").tolist()) == [0, 1, 2, 3]
    assert sorted(top_candidates(scores, 2, "euclidean").tolist()) == [1, 2, 3, 4]
    assert sorted(top_candidates(scores, 10, "cosine").tolist()) == [0, 1, 2, 3, 4]
