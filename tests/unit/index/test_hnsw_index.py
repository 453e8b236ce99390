"""The HNSW wrapper: graphs built in chunks equal their rows, reserved storage never moves, clones are
independent, and the normalised copy is used only for non-unit cosine data."""

from __future__ import annotations

import numpy as np
import pytest

from spruce.index.hnsw import HnswIndex


def _data(n: int, dim: int, seed: int, unit: bool) -> np.ndarray:
    x = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True) if unit else x


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dotproduct"])
def test_chunked_build_with_reserve_keeps_one_buffer(metric: str) -> None:
    x = _data(3000, 16, 1, unit=metric != "euclidean")  # unit rows: each is its own best inner product
    idx = HnswIndex.empty(16, metric, own_storage=HnswIndex.needs_own_storage(x, metric))
    idx.reserve(len(x))
    idx.add(x[:1000])
    first = idx.vectors()
    assert first is not None
    address = first.__array_interface__["data"][0]
    idx.add(x[1000:2200])
    idx.add(x[2200:])
    view = idx.vectors()
    assert view is not None and view.__array_interface__["data"][0] == address  # never reallocated
    np.testing.assert_array_equal(view, x)
    # each row finds itself (its own nearest neighbour under every metric on this data)
    for row in (0, 1500, 2999):
        assert row in idx.search(x[row], 5, 64, None).tolist()


def test_clone_with_reserve_is_independent_of_its_source() -> None:
    x = _data(2000, 8, 2, unit=False)
    src = HnswIndex.build(x[:1200], "euclidean")
    view = src.vectors()
    assert view is not None
    copy = src.clone(view, "euclidean", reserve_rows=2000)
    copy.add(x[1200:])
    assert src.ntotal == 1200 and copy.ntotal == 2000
    got = copy.vectors()
    assert got is not None
    np.testing.assert_array_equal(got, x)
    assert 1900 in copy.search(x[1900], 3, 64, None).tolist()


def test_non_unit_cosine_gets_a_normalised_copy() -> None:
    x = _data(1500, 8, 3, unit=False)
    assert HnswIndex.needs_own_storage(x, "cosine")
    assert not HnswIndex.needs_own_storage(x / np.linalg.norm(x, axis=1, keepdims=True), "cosine")
    assert not HnswIndex.needs_own_storage(x, "euclidean")
    idx = HnswIndex.empty(8, "cosine", own_storage=True)
    idx.reserve(1500)
    idx.add(x[:700])
    idx.add(x[700:])
    assert idx.vectors() is None  # the stored rows are normalised, not the caller's
    assert 1000 in idx.search(x[1000] * 7.0, 3, 64, None).tolist()
    loaded = HnswIndex.load(idx.to_bytes(), None, x, "cosine", True, reserve_rows=1600)
    assert 42 in loaded.search(x[42], 3, 64, None).tolist()


def test_every_graph_owns_its_storage() -> None:
    """A graph must free its storage with itself: a storage nobody owned leaked about the raw vector
    bytes on every close and every merge."""
    x = _data(1200, 8, 4, unit=False)
    built = HnswIndex.build(x, "euclidean")
    view = built.vectors()
    assert view is not None
    loaded = HnswIndex.load(built.to_bytes(), None, x, "euclidean", False)
    cloned = built.clone(view, "euclidean", reserve_rows=1500)
    own = HnswIndex.load(HnswIndex.build(x, "cosine").to_bytes(), None, x, "cosine", True)
    for idx in (built, loaded, cloned, own):
        assert idx._graph.own_fields and not idx._storage.thisown
