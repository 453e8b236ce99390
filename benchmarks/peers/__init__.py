"""Adapters that run the bench suite's workload on spruce and on the peers a user would pick instead.

Every adapter has the same small interface (see :class:`Adapter`). Ids given to an adapter are ints
(the row number in the data set); each adapter turns them into its own id type and back, so the suite
computes recall on row numbers. Metadata is the data set's Pinecone-style dict
(``category`` str, ``year`` int, ``tags`` list of str); filters are the Pinecone-style
``{"category": {"$eq": value}}`` which each adapter translates to its own filter language.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np

SYSTEMS = {
    "spruce": "spruce_embedded:SpruceEmbedded",
    "spruce-server": "spruce_server:SpruceServer",
    "chroma": "chroma:Chroma",
    "qdrant": "qdrant:Qdrant",
    "milvus": "milvus:Milvus",
    "lancedb": "lancedb_peer:LanceDB",
}


class Adapter:
    """The interface. ``settings`` (a dict) is written into the results JSON."""

    name = "?"
    settings: dict[str, Any] = {}
    durable = "?"  # how acknowledged writes reach disk, said in the table

    def open(self, path: str) -> None: ...
    def create(self, dim: int, metric: str) -> None: ...  # metric: "cosine" or "euclidean"
    def ingest(self, ids: list[int], vectors: np.ndarray, metadata: list[dict], batch: int) -> None: ...
    def wait_indexed(self) -> None: ...
    def query(self, vec: np.ndarray, k: int, filter: dict | None) -> list[int]: ...
    def fetch(self, ids: list[int]) -> int: ...  # how many were found
    def delete_ids(self, ids: list[int]) -> None: ...
    def delete_filter(self, filter: dict) -> None: ...
    def count(self) -> int: ...
    def close(self) -> None: ...
    def pids(self) -> list[int]:  # extra processes whose RSS counts for this system (servers)
        return []


def wait_until_indexed(unindexed: Callable[[], int], timeout_s: float = 3600.0) -> None:
    """Poll a spruce adapter's count of unindexed records until it is 0; fail loudly past ``timeout_s``
    (a figure "to fully indexed" must never be taken before it is true)."""
    deadline = time.monotonic() + timeout_s
    while (left := unindexed()) > 0:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{left} records still unindexed after {timeout_s:.0f} s")
        time.sleep(0.05)


def get(system: str) -> Adapter:
    mod, cls = SYSTEMS[system].split(":")
    return getattr(importlib.import_module(f"peers.{mod}"), cls)()


def eq_filter(filter: dict) -> tuple[str, Any]:
    """The single ``{"field": {"$eq": v}}`` (or ``{"field": v}``) the suite uses, as (field, value)."""
    ((field, cond),) = filter.items()
    value = cond["$eq"] if isinstance(cond, dict) else cond
    return field, value
