"""OpenMP threads for faiss: builds (graphs, k-means) take every core the process may run on, searches one.

faiss parallelises with OpenMP. With libgomp (the OpenMP runtime faiss's wheels ship),
``omp_set_num_threads`` sets the thread count of the *calling thread* only, and a thread that never set it
starts from the process-wide default, one thread per core. So setting one thread once, on one thread, does
not hold for the server's worker threads, its event-loop thread or an embedder's own threads: each thread
that searches sets it for itself (``search_thread``, once per thread, then a thread-local flag read).

Searches run one thread each: a query is small, and OpenMP teams per call from several concurrent queries
would fight each other and the background build for the cores. (Today's single-query faiss calls on the
search path, an HNSW search of one query and the exact kernels, do not start a team even at the default;
the setting makes sure no search path ever does, e.g. a faiss call over several rows at once.)

A build (inserting rows into a graph, k-means) runs with ``build_thread_count()`` threads, every core the
process may run on (its CPU affinity, which containers and ``taskset`` narrow, not ``os.cpu_count()``),
and the build thread is back at one thread afterwards. Builds take turns (a lock): two at once would each
start a team as large as the machine.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import faiss as _faiss

faiss: Any = _faiss  # untyped SWIG bindings

__all__ = ["BUILD_THREADS", "build_thread_count", "build_threads", "search_thread"]

BUILD_THREADS: int | None = None
"""Threads of a build; None (the default) means every core the process may run on, read at each build (so
a changed affinity is followed). An override for experiments (``benchmarks/bench_stalls.py``)."""

_mu = threading.Lock()


class _PerThread(threading.local):
    single = False  # this thread's OpenMP thread count is known to be 1


_local = _PerThread()


def _usable_cores() -> int:
    """Cores this process may run on: its affinity mask where the platform has one (Linux), else all."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # no sched_getaffinity on macOS and Windows
        return os.cpu_count() or 1


def build_thread_count() -> int:
    """OpenMP threads a build runs with: ``BUILD_THREADS`` if set, else every core the process may use."""
    return max(1, BUILD_THREADS) if BUILD_THREADS is not None else _usable_cores()


def search_thread() -> None:
    """Make the calling thread search with one OpenMP thread (module docstring: the setting is per thread).

    Called at every search entry point; the OpenMP call is made once per thread, later calls only read a
    thread-local flag. (A thread that calls ``faiss.omp_set_num_threads`` itself afterwards keeps its own
    value: spruce does not re-check it on every query.)"""
    if not _local.single:
        faiss.omp_set_num_threads(1)
        _local.single = True


@contextmanager
def build_threads() -> Iterator[None]:
    """Run the body with ``build_thread_count()`` OpenMP threads on this thread, one afterwards."""
    with _mu:
        _local.single = False
        faiss.omp_set_num_threads(build_thread_count())
        try:
            yield
        finally:
            faiss.omp_set_num_threads(1)
            _local.single = True
