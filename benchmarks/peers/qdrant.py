"""Qdrant local mode: ``QdrantClient(path=...)`` (no server; the ``qdrant-client`` package's own engine).

Local mode is what a user gets without running the Qdrant server. It has no HNSW and no payload
indexes: every query is an exact numpy scan over all points, filters are evaluated per point in Python,
and ``hnsw_config`` / ``create_payload_index`` are accepted but have no effect (the client says so). The
fair settings are therefore the defaults; the HNSW settings below are passed anyway (they would apply
against a real server). Persistence: points are pickled into a SQLite file per collection on each
upsert (SQLite default sync) — not claimed as fsync'd. Ids are ints (Qdrant accepts ints or UUIDs).
"""

from __future__ import annotations

import contextlib

import numpy as np

from peers import Adapter, eq_filter


class Qdrant(Adapter):
    name = "qdrant"
    durable = "SQLite (default sync), not verified fsync'd"
    settings = {"mode": "local (exact scan, no HNSW)", "hnsw_config": {"m": 32, "ef_construct": 200}}

    def open(self, path: str) -> None:
        from qdrant_client import QdrantClient

        self.client = QdrantClient(path=path)

    def create(self, dim: int, metric: str) -> None:
        from qdrant_client import models

        dist = {"cosine": models.Distance.COSINE, "euclidean": models.Distance.EUCLID}[metric]
        self.client.create_collection(
            "bench",
            vectors_config=models.VectorParams(size=dim, distance=dist),
            hnsw_config=models.HnswConfigDiff(m=32, ef_construct=200),
        )
        with contextlib.suppress(Exception):
            self.client.create_payload_index("bench", "category", models.PayloadSchemaType.KEYWORD)

    def ingest(self, ids, vectors, metadata, batch):  # type: ignore[no-untyped-def]
        from qdrant_client import models

        for s in range(0, len(ids), batch):
            e = min(s + batch, len(ids))
            self.client.upsert(
                "bench",
                points=models.Batch(
                    ids=[int(i) for i in ids[s:e]], vectors=vectors[s:e].tolist(), payloads=metadata[s:e]
                ),
                wait=True,
            )

    def wait_indexed(self) -> None:
        pass

    def _filter(self, filter: dict | None):  # type: ignore[no-untyped-def]
        if not filter:
            return None
        from qdrant_client import models

        f, v = eq_filter(filter)
        return models.Filter(must=[models.FieldCondition(key=f, match=models.MatchValue(value=v))])

    def query(self, vec: np.ndarray, k: int, filter: dict | None) -> list[int]:
        r = self.client.query_points("bench", query=vec, limit=k, query_filter=self._filter(filter))
        return [int(p.id) for p in r.points]

    def fetch(self, ids: list[int]) -> int:
        return len(self.client.retrieve("bench", ids=ids, with_vectors=True, with_payload=True))

    def delete_ids(self, ids: list[int]) -> None:
        from qdrant_client import models

        self.client.delete("bench", points_selector=models.PointIdsList(points=ids), wait=True)

    def delete_filter(self, filter: dict) -> None:
        from qdrant_client import models

        self.client.delete(
            "bench", points_selector=models.FilterSelector(filter=self._filter(filter)), wait=True
        )

    def count(self) -> int:
        return int(self.client.count("bench", exact=True).count)

    def close(self) -> None:
        self.client.close()
