"""Chroma, embedded: ``chromadb.PersistentClient(path)``.

Fair settings: HNSW space cosine / l2, max_neighbors (M) 32, ef_construction 200, ef_search 128
(the sweep in docs/ann-choice.md shows hnswlib-M32 needs ef ~32 for recall 0.95 unfiltered; Chroma's
filtered search pre-filters through its metadata index and then searches HNSW with the allow-list, so
a larger ef keeps filtered recall). Batches are capped at ``client.get_max_batch_size()``. Chroma
indexes metadata (including ``category``) automatically. Durability: the write-ahead log is SQLite;
Chroma does not document fsync per add (SQLite default synchronous mode) — not claimed as fsync'd.
``tags`` are stored as a comma-joined string (only ``category`` is filtered on).
"""

from __future__ import annotations

import numpy as np

from peers import Adapter, eq_filter

M, EF_C, EF_S = 32, 200, 128


class Chroma(Adapter):
    name = "chroma"
    durable = "SQLite WAL (default sync), not verified fsync'd"
    settings = {"hnsw": {"max_neighbors": M, "ef_construction": EF_C, "ef_search": EF_S}}

    def open(self, path: str) -> None:
        import chromadb
        from chromadb.config import Settings

        self.client = chromadb.PersistentClient(path=path, settings=Settings(anonymized_telemetry=False))
        try:
            self.col = self.client.get_collection("bench")
        except Exception:
            self.col = None

    def create(self, dim: int, metric: str) -> None:
        space = {"cosine": "cosine", "euclidean": "l2"}[metric]
        self.col = self.client.create_collection(
            "bench",
            embedding_function=None,
            configuration={
                "hnsw": {
                    "space": space,
                    "max_neighbors": M,
                    "ef_construction": EF_C,
                    "ef_search": EF_S,
                    "batch_size": 1000,
                    "sync_threshold": 10000,
                }
            },
        )

    def ingest(self, ids, vectors, metadata, batch):  # type: ignore[no-untyped-def]
        batch = min(batch, self.client.get_max_batch_size())
        for s in range(0, len(ids), batch):
            e = min(s + batch, len(ids))
            metas = [dict(m, tags=",".join(m["tags"])) for m in metadata[s:e]]
            self.col.add(ids=[str(i) for i in ids[s:e]], embeddings=vectors[s:e], metadatas=metas)

    def wait_indexed(self) -> None:
        pass  # the local (embedded) Chroma indexes during add

    def query(self, vec: np.ndarray, k: int, filter: dict | None) -> list[int]:
        where = None
        if filter:
            f, v = eq_filter(filter)
            where = {f: v}
        r = self.col.query(query_embeddings=[vec], n_results=k, where=where, include=[])
        return [int(i) for i in r["ids"][0]]

    def fetch(self, ids: list[int]) -> int:
        return len(self.col.get(ids=[str(i) for i in ids], include=["embeddings", "metadatas"])["ids"])

    def delete_ids(self, ids: list[int]) -> None:
        self.col.delete(ids=[str(i) for i in ids])

    def delete_filter(self, filter: dict) -> None:
        f, v = eq_filter(filter)
        self.col.delete(where={f: v})

    def count(self) -> int:
        return int(self.col.count())

    def close(self) -> None:
        self.client = None
        self.col = None
