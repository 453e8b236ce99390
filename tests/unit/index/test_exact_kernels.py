"""``exact_scores`` through faiss's SIMD kernels (all rows / chosen rows, read in place) and the ``einsum``
fallback for arrays those kernels cannot take: every path must give the float64 definition's scores."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from spruce.index import exact
from spruce.index.exact import exact_scores

F64 = np.ndarray[Any, np.dtype[np.float64]]
I64 = np.ndarray[Any, np.dtype[np.int64]]
Arr = np.ndarray[Any, Any]

METRICS = ["cosine", "dotproduct", "euclidean"]
TOL = 1e-5


def _sq(v: Arr) -> F64:
    v64 = np.asarray(v, dtype=np.float64)
    out: F64 = np.einsum("ij,ij->i", v64, v64)
    return out


def _reference(v: Arr, q: Arr, metric: str, rows: Arr | None = None) -> F64:
    """The scores by definition, in float64, without the identities the implementation uses."""
    v64 = np.asarray(v, dtype=np.float64)
    if rows is not None:
        v64 = v64[np.asarray(rows, dtype=np.int64)]
    q64 = np.asarray(q, dtype=np.float64)
    out: F64
    if metric == "dotproduct":
        out = v64 @ q64
    elif metric == "cosine":
        norms = np.linalg.norm(v64, axis=1) * np.linalg.norm(q64)
        out = (v64 @ q64) / np.where(norms > 0, norms, 1.0)
    else:
        out = ((v64 - q64) ** 2).sum(axis=1)
    return out


def _data(n: int, dim: int, seed: int) -> tuple[np.ndarray[Any, np.dtype[np.float32]], Arr]:
    rng = np.random.default_rng(seed)
    v = (rng.normal(size=(n, dim)) / np.sqrt(dim)).astype(np.float32)
    q = (rng.normal(size=dim) / np.sqrt(dim)).astype(np.float32)
    return v, q


def _check(got: Arr, want: F64) -> None:
    assert got.dtype == np.float64
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


def _row_sets(n: int, seed: int) -> list[I64]:
    rng = np.random.default_rng(seed)
    picked = rng.choice(n, size=max(1, n // 3), replace=False).astype(np.int64)
    return [np.sort(picked), picked, np.array([n - 1, 0], dtype=np.int64), np.array([n // 2], dtype=np.int64)]


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize("dim", [1, 3, 8, 17, 64, 384])
def test_all_rows_and_chosen_rows_match_the_definition(metric: str, dim: int) -> None:
    v, q = _data(301, dim, seed=dim)
    sq = _sq(v)
    _check(exact_scores(v, sq, q, metric), _reference(v, q, metric))
    for rows in _row_sets(len(v), seed=dim + 1):
        _check(exact_scores(v, sq, q, metric, rows), _reference(v, q, metric, rows))


@pytest.mark.parametrize("metric", METRICS)
def test_rows_as_int32_and_as_a_strided_view(metric: str) -> None:
    v, q = _data(200, 24, seed=2)
    sq = _sq(v)
    rows64 = np.random.default_rng(3).permutation(200)[:90].astype(np.int64)
    want = exact_scores(v, sq, q, metric, rows64)
    _check(want, _reference(v, q, metric, rows64))
    np.testing.assert_array_equal(exact_scores(v, sq, q, metric, rows64.astype(np.int32)), want)
    strided = np.repeat(rows64, 2)[::2]  # the same rows, not contiguous
    assert not strided.flags.c_contiguous
    np.testing.assert_array_equal(exact_scores(v, sq, q, metric, strided), want)


@pytest.mark.parametrize("metric", METRICS)
def test_read_only_arrays(metric: str) -> None:
    """Segment vectors are memory-mapped read-only: the kernels must read them as they are."""
    v, q = _data(150, 20, seed=4)
    want_all, rows = _reference(v, q, metric), np.array([7, 3, 149, 0, 88], dtype=np.int64)
    sq = _sq(v)
    ro_v = np.frombuffer(v.tobytes(), dtype=np.float32).reshape(v.shape)  # read-only, as a mapped section
    assert not ro_v.flags.writeable
    for arr in (sq, q, rows):
        arr.flags.writeable = False
    _check(exact_scores(ro_v, sq, q, metric), want_all)
    _check(exact_scores(ro_v, sq, q, metric, rows), want_all[rows])
    v.flags.writeable = False
    _check(exact_scores(v, sq, q, metric, rows), want_all[rows])


def _layouts(v: np.ndarray[Any, np.dtype[np.float32]]) -> dict[str, Arr]:
    n, dim = v.shape
    wide = np.zeros((n, dim + 5), dtype=np.float32)
    wide[:, 2 : 2 + dim] = v
    every_other = np.zeros((2 * n, dim), dtype=np.float32)
    every_other[::2] = v
    return {
        "column slice": wide[:, 2 : 2 + dim],
        "row stride": every_other[::2],
        "fortran order": np.asfortranarray(v),
        "float64": v.astype(np.float64),
        "big-endian float32": v.astype(">f4"),
    }


@pytest.mark.parametrize("metric", METRICS)
@pytest.mark.parametrize(
    "layout", ["column slice", "row stride", "fortran order", "float64", "big-endian float32"]
)
def test_arrays_the_kernels_cannot_take_go_through_the_fallback(
    metric: str, layout: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    v, q = _data(120, 13, seed=5)
    arr = _layouts(v)[layout]
    np.testing.assert_array_equal(arr, v)
    sq = _sq(v)
    want = _reference(v, q, metric)
    rows = np.array([119, 4, 60, 0, 61], dtype=np.int64)

    def refuse(*args: Any) -> None:
        raise AssertionError(f"a faiss kernel was given a {layout} array")

    monkeypatch.setattr(exact.faiss, "fvec_inner_products_ny", refuse)
    monkeypatch.setattr(exact.faiss, "fvec_inner_products_by_idx", refuse)
    _check(exact_scores(arr, sq, q, metric), want)
    _check(exact_scores(arr, sq, q, metric, rows), want[rows])
    _check(exact_scores(arr, sq, q.astype(np.float64), metric, rows), want[rows])


def _counting(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    calls: list[int] = []
    real: Callable[..., Any] = getattr(exact.faiss, name)

    def spy(*args: Any) -> Any:
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(exact.faiss, name, spy)
    return calls


def test_contiguous_float32_goes_through_the_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    v, q = _data(100, 16, seed=6)
    sq = _sq(v)
    ny = _counting(monkeypatch, "fvec_inner_products_ny")
    by_idx = _counting(monkeypatch, "fvec_inner_products_by_idx")
    _check(exact_scores(v, sq, q, "cosine"), _reference(v, q, "cosine"))
    assert (len(ny), len(by_idx)) == (1, 0)
    rows = np.array([5, 1], dtype=np.int64)
    _check(exact_scores(v, sq, q, "cosine", rows), _reference(v, q, "cosine", rows))
    assert (len(ny), len(by_idx)) == (1, 1)
    # a float64 or strided query is fine: it is converted, the block is still read in place
    _check(exact_scores(v, sq, q.astype(np.float64), "euclidean", rows), _reference(v, q, "euclidean", rows))
    strided_q = np.repeat(q, 2)[::2]
    _check(exact_scores(v, sq, strided_q, "dotproduct"), _reference(v, q, "dotproduct"))
    assert (len(ny), len(by_idx)) == (2, 2)


@pytest.mark.parametrize("metric", METRICS)
def test_empty_inputs(metric: str) -> None:
    v, q = _data(50, 9, seed=7)
    none = np.empty(0, dtype=np.int64)
    for vectors in (v, v.astype(np.float64), v[:, :9:1][::-1]):
        got = exact_scores(vectors, _sq(vectors), q, metric, none)
        assert got.shape == (0,) and got.dtype == np.float64
        got32 = exact_scores(vectors, _sq(vectors), q, metric, none.astype(np.int32))
        assert got32.shape == (0,)
    for empty in (np.empty((0, 9), dtype=np.float32), np.empty((0, 9), dtype=np.float64)):
        got = exact_scores(empty, np.empty(0), q, metric)
        assert got.shape == (0,) and got.dtype == np.float64
        assert exact_scores(empty, np.empty(0), q, metric, none).shape == (0,)


@pytest.mark.parametrize("metric", METRICS)
def test_float64_query(metric: str) -> None:
    v, q = _data(80, 31, seed=8)
    q64 = q.astype(np.float64) + 1e-9  # not exactly representable in float32
    sq = _sq(v)
    _check(exact_scores(v, sq, q64, metric), _reference(v, q64, metric))
    rows = np.array([79, 2, 40], dtype=np.int64)
    _check(exact_scores(v, sq, q64, metric, rows), _reference(v, q64, metric, rows))


@pytest.mark.parametrize("metric", METRICS)
def test_tiny_rows_among_chosen_rows_are_redone_at_their_own_position(metric: str) -> None:
    """Products of tiny rows underflow in float32 and are redone in float64: with ``rows`` given, the
    redone row must be the block row that ``rows`` names, not the block row at the same position."""
    v, q = _data(40, 12, seed=9)
    v[17] *= np.float32(1e-40)  # subnormal float32: its float32 products with q lose most of their digits
    v[3] *= np.float32(1e-40)
    assert np.all(np.abs(v[17]) < np.finfo(np.float32).tiny)
    sq = _sq(v)
    rows = np.array([30, 17, 5, 3, 0], dtype=np.int64)
    got = exact_scores(v, sq, q, metric, rows)
    want = _reference(v, q, metric, rows)
    if metric == "cosine":
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)  # well defined whatever the scale
        assert got[1] != 0.0 and got[3] != 0.0
    else:
        np.testing.assert_allclose(got, want, rtol=TOL, atol=1e-30)
    # and a tiny row scores cosine 1 with itself, through every path
    if metric == "cosine":
        q17 = v[17].copy()
        assert exact_scores(v, sq, q17, metric, rows)[1] == pytest.approx(1.0, abs=1e-6)
        assert exact_scores(v, sq, q17, metric)[17] == pytest.approx(1.0, abs=1e-6)
        assert exact_scores(v.astype(np.float64), sq, q17, metric, rows)[1] == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("metric", METRICS)
def test_huge_rows_among_chosen_rows(metric: str) -> None:
    """float32 products that overflow are redone in float64, for the chosen rows only."""
    v, q = _data(30, 6, seed=10)
    q *= np.float32(1e19)
    v[11] = np.float32(3e38)
    v[12] = np.float32(-3e38)
    sq = _sq(v)
    rows = np.array([12, 0, 11, 29], dtype=np.int64)
    got = exact_scores(v, sq, q, metric, rows)
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, _reference(v, q, metric, rows), rtol=TOL)


@pytest.mark.parametrize("bad", [[10], [10**12], [-1], [0, 3, 11]])
def test_rows_out_of_range_raise_before_the_kernel_reads(bad: list[int]) -> None:
    """The by-index kernel reads wherever it is told (10**12 was a segfault): a bad row is an IndexError."""
    v, q = _data(10, 8, 4)
    with pytest.raises(IndexError):
        exact_scores(v, _sq(v), q, "dotproduct", np.asarray(bad, dtype=np.int64))
