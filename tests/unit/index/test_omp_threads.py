"""OpenMP thread counts per thread: every thread that searches does so with one thread, builds take every
core the process may run on and leave their thread at one.

With libgomp, ``omp_set_num_threads`` only sets the calling thread's count, and a new thread starts from
the default (one per core), so each check runs in a thread of its own, started for it, and reads
``faiss.omp_get_max_threads()`` (the calling thread's count) back in that same thread.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import faiss
import numpy as np
import pytest

import spruce.index.clusters
import spruce.index.hnsw
from spruce.engine import Database
from spruce.index import omp
from spruce.index.clusters import Clusters
from spruce.index.exact import exact_scores
from spruce.index.hnsw import HnswIndex

Runner = Callable[[Callable[[], Any]], Any]


def _in_thread(fn: Callable[[], Any]) -> Any:
    out: list[Any] = []
    errors: list[BaseException] = []

    def body() -> None:
        try:
            out.append(fn())
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    t = threading.Thread(target=body)
    t.start()
    t.join(60)
    if errors:
        raise errors[0]
    return out[0]


def _in_executor(fn: Callable[[], Any]) -> Any:
    with ThreadPoolExecutor(max_workers=1) as pool:  # a new pool: its worker thread is new too
        return pool.submit(fn).result(60)


RUNNERS = {"threading.Thread": _in_thread, "ThreadPoolExecutor": _in_executor}


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


@pytest.fixture
def fresh_default() -> int:
    """The OpenMP thread count a new thread starts with; the search checks are vacuous if it is 1."""
    default = int(_in_thread(faiss.omp_get_max_threads))
    if default == 1:
        pytest.skip(
            "a new thread already starts with 1 OpenMP thread (one core, or OMP_NUM_THREADS=1): "
            "a search that never sets its thread count could not be told from one that does"
        )
    return default


def _data(n: int = 3000, dim: int = 16) -> np.ndarray:
    x = np.random.default_rng(7).normal(size=(n, dim)).astype(np.float32)
    out: np.ndarray = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


@pytest.fixture(scope="module")
def graph() -> tuple[HnswIndex, np.ndarray]:
    x = _data()
    return HnswIndex.build(x, "cosine"), x


def _hnsw_search(graph: tuple[HnswIndex, np.ndarray]) -> Callable[[], int]:
    index, x = graph
    allow = np.ones(len(x), dtype=bool)
    allow[::3] = False

    def run() -> int:
        assert 0 in index.search(x[0], 5, 48, None).tolist()
        assert 1 in index.search(x[1], 5, 48, allow).tolist()
        return int(faiss.omp_get_max_threads())

    return run


def _exact_search(rows: bool) -> Callable[[], int]:
    x = _data(500)
    sq = np.einsum("ij,ij->i", x, x)

    def run() -> int:
        chosen = np.arange(0, 500, 2, dtype=np.int64) if rows else None
        scores = exact_scores(x, sq, x[0], "cosine", chosen)  # faiss's kernels: contiguous float32
        assert scores[0] == pytest.approx(1.0, abs=1e-6)
        return int(faiss.omp_get_max_threads())

    return run


@pytest.mark.parametrize("runner", RUNNERS.values(), ids=RUNNERS.keys())
@pytest.mark.parametrize("kind", ["hnsw", "exact-all", "exact-rows"])
def test_a_search_in_a_new_thread_runs_with_one_openmp_thread(
    runner: Runner, kind: str, graph: tuple[HnswIndex, np.ndarray], fresh_default: int
) -> None:
    search = _hnsw_search(graph) if kind == "hnsw" else _exact_search(rows=kind == "exact-rows")
    assert runner(search) == 1, f"the worker thread searched with the default ({fresh_default} threads)"


@pytest.mark.parametrize("runner", RUNNERS.values(), ids=RUNNERS.keys())
def test_an_engine_query_in_a_new_thread_runs_with_one_openmp_thread(
    runner: Runner, tmp_path: Path, fresh_default: int
) -> None:
    db = Database.open(tmp_path)
    try:
        db.create_index("ix", dimension=16, metric="cosine")
        idx = db.index("ix")
        x = _data(200)
        idx.upsert([(str(i), x[i], {}) for i in range(len(x))])

        def run() -> int:
            assert idx.query(top_k=3, vector=x[5].tolist()).matches[0].id == "5"
            return int(faiss.omp_get_max_threads())

        assert runner(run) == 1
    finally:
        db.close()


def test_search_thread_sets_the_count_once_per_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = faiss.omp_set_num_threads

    def counting(n: int) -> None:
        calls.append(n)
        real(n)

    monkeypatch.setattr(omp.faiss, "omp_set_num_threads", counting)

    def run() -> int:
        for _ in range(3):
            omp.search_thread()
        return int(faiss.omp_get_max_threads())

    assert _in_thread(run) == 1
    assert _in_thread(run) == 1
    assert calls == [1, 1]  # one call in each of the two threads, none for the repeats


# ------------------------------------------------------------------------------------------ builds


def _build_and_search(build: Callable[[], object]) -> tuple[list[int], int]:
    """Run ``build`` then a search in a new thread; the counts seen inside build bodies, and after."""
    seen: list[int] = []
    real = omp.build_threads

    @contextmanager
    def spy() -> Iterator[None]:
        with real():
            seen.append(int(faiss.omp_get_max_threads()))
            yield

    def run() -> int:
        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(spruce.index.hnsw, "build_threads", spy)
            mp.setattr(spruce.index.clusters, "build_threads", spy)
            build()
        after_build = int(faiss.omp_get_max_threads())
        _exact_search(rows=False)()
        assert int(faiss.omp_get_max_threads()) == 1  # and a search after the build still sees one
        return after_build

    after = _in_thread(run)
    return seen, after


@pytest.mark.skipif(
    _cores() == 1,
    reason="one core: a build's thread count (the affinity, 1) equals a search's, so using it is not seen",
)
def test_a_build_uses_every_core_of_the_affinity_and_leaves_its_thread_at_one() -> None:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert omp.BUILD_THREADS is None and omp.build_thread_count() == cores

    def body() -> tuple[int, int]:
        with omp.build_threads():
            inside = int(faiss.omp_get_max_threads())
        return inside, int(faiss.omp_get_max_threads())

    assert _in_thread(body) == (cores, 1)
    x = _data(2000)
    seen, after = _build_and_search(lambda: HnswIndex.build(x, "cosine"))
    assert (seen, after) == ([cores], 1)
    seen, after = _build_and_search(lambda: Clusters.order(x, "cosine"))
    assert (seen, after) == ([cores], 1)


def test_build_threads_override_and_affinity(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(omp, "BUILD_THREADS", 3)  # what benchmarks/bench_stalls.py --build-threads does

    def body() -> tuple[int, int]:
        with omp.build_threads():
            inside = int(faiss.omp_get_max_threads())
        return inside, int(faiss.omp_get_max_threads())

    assert _in_thread(body) == (3, 1)
    monkeypatch.setattr(omp, "BUILD_THREADS", None)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert omp.build_thread_count() == 1  # the affinity, not the machine's count
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert omp.build_thread_count() == 64  # no affinity on this platform: every core
