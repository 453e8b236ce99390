"""spruce server: ``spruce serve`` as a subprocess, driven through the official ``pinecone`` SDK (10.2.0).

Settings: engine defaults as for embedded; the server is started with ``--max-body-bytes 64 MiB`` so
batches of 1,000 x 384 floats fit (Pinecone's own 2 MB request cap would reject them). One client,
sequential calls; the SDK's request building and JSON decoding is part of what is measured, as a user
sees it. ``wait_indexed`` cannot force a flush over the Pinecone API (the server flushes an index after
2 s without writes), so it polls ``describe_index_stats`` until spruce's ``unindexedRecordCount``
extension is 0 (nothing left for background flush/compaction to move). SDK 10.2.0 drops unknown response
fields, so the count is read with a raw GET of the same endpoint when the SDK object does not carry it
(7.x keeps it). RSS is the server process's high-water mark.
"""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
import warnings

import numpy as np

from peers import Adapter, wait_until_indexed

READY = "spruce listening on "
API_KEY = "bench"


class SpruceServer(Adapter):
    name = "spruce-server"
    durable = "fsync per upsert (group commit)"
    stats_url = ""
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

        self.pc = Pinecone(api_key=API_KEY, host=self.url)
        if self.pc.has_index("bench"):
            self.idx = self.pc.Index(name="bench")

    def create(self, dim: int, metric: str) -> None:
        from pinecone import ServerlessSpec

        spec = ServerlessSpec(cloud="aws", region="us-east-1")
        self.pc.create_index(name="bench", dimension=dim, metric=metric, spec=spec)
        self.idx = self.pc.Index(name="bench")

    def ingest(self, ids, vectors, metadata, batch):  # type: ignore[no-untyped-def]
        """Upsert in batches; returns the records the server says it upserted. The suite's HTTP baseline
        calls this very method against the do-nothing server, so both time the same client work."""
        upserted = 0
        for s in range(0, len(ids), batch):
            e = min(s + batch, len(ids))
            rows = vectors[s:e].tolist()
            r = self.idx.upsert(
                vectors=[(str(ids[j]), rows[j - s], metadata[j]) for j in range(s, e)],
                show_progress=False,
            )
            upserted += r.upserted_count
        return upserted

    def unindexed(self) -> int:
        """spruce's ``unindexedRecordCount``: from the SDK's object if it keeps unknown keys, else raw."""
        stats = self.idx.describe_index_stats()
        to_dict = getattr(stats, "to_dict", None)
        value = to_dict().get("unindexedRecordCount") if to_dict else None
        if value is None:
            if not self.stats_url:
                self.stats_url = f"{self.pc.describe_index('bench').host}/describe_index_stats"
            req = urllib.request.Request(self.stats_url, headers={"Api-Key": API_KEY})
            with urllib.request.urlopen(req, timeout=60) as resp:
                value = json.loads(resp.read())["unindexedRecordCount"]
        return int(value)

    def wait_indexed(self) -> None:
        wait_until_indexed(self.unindexed)

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
