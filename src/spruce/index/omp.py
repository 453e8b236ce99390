"""OpenMP threads for background builds (graphs, clusters): all cores while one runs, one otherwise.

faiss parallelises with OpenMP. Searches stay on one thread (``omp_set_num_threads(1)``): a query is
small, and a multi-threaded one fights the other requests and the background build for two cores. A build
(inserting rows into a graph, k-means) takes ``BUILD_THREADS`` while it runs; the lock makes two builds
take turns, since the thread count is process-wide state.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import faiss as _faiss

faiss: Any = _faiss  # untyped SWIG bindings

__all__ = ["BUILD_THREADS", "build_threads"]

BUILD_THREADS = 2
_mu = threading.Lock()


@contextmanager
def build_threads() -> Iterator[None]:
    """Run the body with ``BUILD_THREADS`` OpenMP threads (back to one afterwards)."""
    with _mu:
        faiss.omp_set_num_threads(BUILD_THREADS)
        try:
            yield
        finally:
            faiss.omp_set_num_threads(1)
