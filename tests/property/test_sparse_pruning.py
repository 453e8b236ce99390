"""Neither search path drops a true top-k hit (``spruce.index.sparse.Postings.search``: gathering every
posting, or MaxScore above ``GATHER_MAX``), against a brute-force dot product over the same rows: random
rows and queries (positive and negative values, shared and missing dimensions, repeated values for
ties), with and without an allowed-rows mask, any k. Also: MaxScore reads fewer postings than a full
scan on skewed (BM25-like) data, which is what pruning is for, and the persisted form reads back the
same index."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import spruce.index.sparse as sparse_module
from spruce.index.sparse import Postings, SparseQuery, dot_all, dot_rows
from spruce.types import SparseRows

values = st.one_of(
    st.sampled_from([0.5, 1.0, 2.0, -1.0, 0.25]),  # exact in float32: real ties
    st.floats(-10, 10, width=32).filter(lambda v: abs(v) > 1e-3),
)


@st.composite
def cases(draw: Any) -> tuple[SparseRows, SparseQuery, int, np.ndarray | None]:
    vocab = draw(st.integers(1, 30))
    n = draw(st.integers(1, 80))
    rows = []
    for _ in range(n):
        dims = draw(st.lists(st.integers(0, vocab - 1), max_size=8, unique=True))
        vals = [draw(values) for _ in dims]
        rows.append((np.array(dims, dtype=np.uint32), np.array(vals, dtype=np.float32)) if dims else None)
    qdims = draw(st.lists(st.integers(0, vocab + 3), min_size=1, max_size=8, unique=True))
    qvals = [draw(values) for _ in qdims]
    q = SparseQuery.of(np.array(qdims, dtype=np.uint32), np.array(qvals, dtype=np.float32))
    k = draw(st.integers(1, 12))
    mask = None
    if draw(st.booleans()):
        mask = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    return SparseRows.from_rows(rows), q, k, mask


@contextlib.contextmanager
def gather_max(value: int) -> Iterator[None]:
    """Run searches with ``GATHER_MAX`` = ``value`` (0: always MaxScore; huge: always gather)."""
    saved = sparse_module.GATHER_MAX
    sparse_module.GATHER_MAX = value
    try:
        yield
    finally:
        sparse_module.GATHER_MAX = saved


@settings(max_examples=600, deadline=None, derandomize=True)
@given(cases(), st.sampled_from([0, 10**9]))
def test_search_keeps_every_true_top_k_hit(case: tuple[SparseRows, SparseQuery, int, Any], path: int) -> None:
    with gather_max(path):
        check_top_k(*case)


def check_top_k(rows: SparseRows, q: SparseQuery, k: int, mask: Any) -> None:
    exact = dot_all(rows, q)
    assert np.allclose(dot_rows(rows, np.arange(len(rows)), q), exact)
    allowed = np.ones(len(rows), dtype=bool) if mask is None else mask
    candidates = np.flatnonzero(allowed & (exact != 0))
    found = Postings.build(rows).search(q, k, mask)
    assert set(found.rows.tolist()) <= set(np.flatnonzero(allowed).tolist()), "a row outside the mask"
    if not len(candidates):
        return
    order = np.sort(exact[candidates])[::-1]
    kth = order[min(k, len(order)) - 1]
    tol = 1e-5 * max(1.0, abs(kth))
    must = set(candidates[exact[candidates] >= kth + tol].tolist())  # clearly in the top k
    tied = set(candidates[np.abs(exact[candidates] - kth) <= tol].tolist())  # at the k-th score
    got = set(found.rows.tolist())
    assert must <= got, f"pruning dropped {sorted(must - got)}"
    assert tied <= got, f"pruning dropped rows tied at the k-th score: {sorted(tied - got)}"
    scored = dict(zip(found.rows.tolist(), found.scores.tolist(), strict=True))
    for row in must | tied:  # the survivors' scores are complete, not partial
        assert abs(scored[row] - exact[row]) <= 1e-4 * max(1.0, abs(exact[row]))


def test_maxscore_reads_fewer_postings_than_a_full_scan() -> None:
    """On BM25-shaped data (Zipf-distributed dimensions weighted by inverse document frequency) a top-10
    MaxScore query reads under a third of the postings of its dimensions; a full scan (and the gathering
    path, which is faster on short postings all the same) reads them all."""
    rng = np.random.default_rng(0)
    n, vocab = 20_000, 5_000
    weights = 1 / np.arange(1, vocab + 1)  # Zipf: a few dimensions in most rows, most in few
    weights /= weights.sum()
    drawn = [np.unique(rng.choice(vocab, size=12, p=weights)).astype(np.uint32) for _ in range(n)]
    df = np.bincount(np.concatenate(drawn), minlength=vocab)
    idf = np.log(1 + (n - df + 0.5) / (df + 0.5))  # BM25's: rare dimensions weigh more
    rows = [(dims, (idf[dims] * rng.uniform(0.5, 1.5, len(dims))).astype(np.float32)) for dims in drawn]
    sparse = SparseRows.from_rows(rows)
    index = Postings.build(sparse)
    read, full = 0, 0
    for i in range(50):
        dims = rows[i][0][:6]
        q = SparseQuery.of(dims, np.ones(len(dims), dtype=np.float32))
        with gather_max(0):
            found = index.search(q, 10, None)
        at = np.searchsorted(index.terms, q.indices)
        full += int((index.ptr[at + 1] - index.ptr[at]).sum())
        read += found.touched
        exact = dot_all(sparse, q)
        kth = np.sort(exact)[::-1][9]
        assert set(np.flatnonzero(exact > kth + 1e-5).tolist()) <= set(found.rows.tolist())
    assert read < full / 3, f"pruning read {read} of {full} postings"


def test_persisted_postings_read_back() -> None:
    rows = SparseRows.from_rows(
        [
            (np.array([3, 1], dtype=np.uint32), np.array([0.5, -2.0], dtype=np.float32)),
            None,
            (np.array([1, 7], dtype=np.uint32), np.array([1.0, 4.0], dtype=np.float32)),
        ]
    )
    index = Postings.build(rows)
    data = b"".join(bytes(part) for part in index.to_parts())
    back = Postings.from_buffer(memoryview(data), 3)
    for name in ("terms", "ptr", "rows", "values", "tmax", "tmin"):
        assert np.array_equal(getattr(back, name), getattr(index, name)), name
    q = SparseQuery.of(np.array([1, 7], dtype=np.uint32), np.array([1.0, 1.0], dtype=np.float32))
    assert back.search(q, 1, None).rows.tolist() == index.search(q, 1, None).rows.tolist()
    try:
        Postings.from_buffer(memoryview(data[:-4]), 3)
    except ValueError:
        pass
    else:
        raise AssertionError("a truncated postings section was accepted")
    try:
        Postings.from_buffer(memoryview(data), 2)  # rows beyond the segment's
    except ValueError:
        pass
    else:
        raise AssertionError("postings naming rows beyond the segment were accepted")
