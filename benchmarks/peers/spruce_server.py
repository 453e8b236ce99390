"""spruce server: ``spruce serve`` as a subprocess, driven through the official ``pinecone`` SDK (10.2.0).

Settings: engine defaults as for embedded; the server is started with ``--max-body-bytes 64 MiB`` so
batches of 1,000 x 384 floats fit (Pinecone's own 2 MB request cap would reject them). One client,
sequential calls; the SDK's request building and JSON decoding is part of what is measured, as a user
sees it. ``wait_indexed`` cannot force a flush over the Pinecone API, so it polls
``describe_index_stats`` until the server reports nothing pending (when it can say so) — until then
"fully indexed" through the server equals "queryable". RSS is the server process's high-water mark.
"""

from __future__ import annotations

import subprocess
import sys
import time
import warnings

import numpy as np

from peers import Adapter

READY = "spruce listening on "


class SpruceServer(Adapter):
    name = "spruce-server"
    durable = "fsync per upsert (group commit)"
    settings = {"sdk": "pinecone 10.2.0", "max_body_bytes": 64 << 20, "batch": "upsert <= 1000 records"}

    def open(self, path: str) -> None:
        warnings.simplefilter("ignore")
        cmd = [sys.executable, "-m", "spruce.cli", "serve", "--data", path, "--port", "0"]
        cmd += ["--max-body-bytes", str(64 << 20), "--log-level", "warning"]
        self.proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
        assert self.proc.stderr is not None
        line = self.proc.stderr.readline()
        if not line.startswith(READY):
            raise RuntimeError(f"server did not start: {line}")
        self.url = line[len(READY) :].strip()
        from pinecone import Pinecone

        self.pc = Pinecone(api_key="bench", host=self.url)
        if self.pc.has_index("bench"):
            self.idx = self.pc.Index(name="bench")

    def create(self, dim: int, metric: str) -> None:
        from pinecone import ServerlessSpec

        spec = ServerlessSpec(cloud="aws", region="us-east-1")
        self.pc.create_index(name="bench", dimension=dim, metric=metric, spec=spec)
        self.idx = self.pc.Index(name="bench")

    def ingest(self, ids, vectors, metadata, batch):  # type: ignore[no-untyped-def]
        for s in range(0, len(ids), batch):
            e = min(s + batch, len(ids))
            rows = vectors[s:e].tolist()
            self.idx.upsert(
                vectors=[(str(ids[j]), rows[j - s], metadata[j]) for j in range(s, e)],
                show_progress=False,
            )

    def wait_indexed(self) -> None:
        for _ in range(36000):
            stats = self.idx.describe_index_stats()
            pending = getattr(stats, "pending_index_records", None) or getattr(stats, "unindexed", None)
            if not pending:
                return
            time.sleep(0.05)

    def query(self, vec: np.ndarray, k: int, filter: dict | None) -> list[int]:
        r = self.idx.query(vector=vec.tolist(), top_k=k, filter=filter)
        return [int(m.id) for m in r.matches]

    def fetch(self, ids: list[int]) -> int:
        return len(self.idx.fetch(ids=[str(i) for i in ids]).vectors)

    def delete_ids(self, ids: list[int]) -> None:
        self.idx.delete(ids=[str(i) for i in ids])

    def delete_filter(self, filter: dict) -> None:
        self.idx.delete(filter=filter)

    def count(self) -> int:
        return int(self.idx.describe_index_stats().total_vector_count)

    def pids(self) -> list[int]:
        return [self.proc.pid]

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(120)
