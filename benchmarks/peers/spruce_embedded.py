"""spruce embedded: ``spruce.Client(path)`` in the benchmark's own process.

Settings: defaults of the engine (the ANN index parameters are the engine's own; see docs/ann-choice.md:
faiss HNSW M=24, efConstruction 80 at 256+ dimensions and 200 below, efSearch 48, filtered search with
an allow-set). Writes are durable when ``upsert`` returns (the log is fsync'd per group commit).
``wait_indexed`` = ``flush()`` + ``compact()`` (forces the background segment and ANN-index work now
rather than after the 2 s idle flush), then polls ``describe_index_stats().unindexed_records`` until 0,
the engine's own word that nothing is left for background work to move.
"""

from __future__ import annotations

import numpy as np

from peers import Adapter, wait_until_indexed


class SpruceEmbedded(Adapter):
    name = "spruce"
    durable = "fsync per upsert (group commit)"
    settings = {"index": "engine defaults", "batch": "upsert <= 1000 records"}

    def open(self, path: str) -> None:
        import spruce

        self.path = path
        self.client = spruce.Client(path)
        if self.client.has_index("bench"):
            self.idx = self.client.Index("bench")

    def create(self, dim: int, metric: str) -> None:
        self.client.create_index("bench", dimension=dim, metric=metric)
        self.idx = self.client.Index("bench")

    def ingest(self, ids, vectors, metadata, batch):  # type: ignore[no-untyped-def]
        for s in range(0, len(ids), batch):
            recs = [(str(ids[j]), vectors[j], metadata[j]) for j in range(s, min(s + batch, len(ids)))]
            self.idx.upsert(recs)

    def wait_indexed(self) -> None:
        eng = self.idx
        eng.flush()
        eng.compact()
        wait_until_indexed(lambda: self.idx.describe_index_stats().unindexed_records)

    def query(self, vec: np.ndarray, k: int, filter: dict | None) -> list[int]:
        r = self.idx.query(vector=vec, top_k=k, filter=filter)
        return [int(m.id) for m in r.matches]

    def fetch(self, ids: list[int]) -> int:
        return len(self.idx.fetch([str(i) for i in ids]).vectors)

    def delete_ids(self, ids: list[int]) -> None:
        self.idx.delete(ids=[str(i) for i in ids])

    def delete_filter(self, filter: dict) -> None:
        self.idx.delete(filter=filter)

    def count(self) -> int:
        return int(self.idx.describe_index_stats().total_vector_count)

    def close(self) -> None:
        self.client.close()
