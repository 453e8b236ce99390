"""A real full disk: a small tmpfs holds the store of a real server driven by the SDK.

Upserts go on until the disk is full; then the write is refused with 507 and a message saying so (not a
500 the SDK would retry), nothing partial is left (no temporary files, the refused batch invisible),
reads keep working, the stats say the disk is full; once the operator frees space (a ballast file is
removed) writes resume with no restart, and after a restart every acknowledged record is there.

Needs root to mount the tmpfs (CI runs as root); skipped elsewhere, saying why.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from pinecone import ApiError, Pinecone, ServerlessSpec
from tests.support.spruce_server_proc import NEW_API, ServerProcess

# The ballast fills the disk early; freeing it must leave room for the merge that background work then
# runs over every row (an extend step rewrites its graph segment too: about 1 KiB per row at 64 dimensions)
SIZE_MB = 72
BALLAST_MB = 58
DIM = 64


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (CI runs as root)")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SIZE_MB}m", "tmpfs", str(mnt)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _batch(rng: np.random.Generator, start: int, n: int) -> list[dict[str, object]]:
    vecs = rng.normal(size=(n, DIM)).astype(np.float32)
    return [
        {"id": f"r{start + i}", "values": vecs[i].tolist(), "metadata": {"pad": "x" * 200, "i": start + i}}
        for i in range(n)
    ]


def test_disk_full_refuses_writes_keeps_reads_and_resumes_by_itself(small_disk: Path) -> None:
    ballast = small_disk / "ballast"
    ballast.write_bytes(b"\0" * (BALLAST_MB << 20))
    data = small_disk / "store"
    server = ServerProcess(data, ["--disk-reserve-mb", "4", "--flush-rows", "2000"]).start()
    rng = np.random.default_rng(0)
    acked: list[str] = []
    try:
        pc = Pinecone(api_key="k", host=server.url)
        pc.create_index(
            name="full", dimension=DIM, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1")
        )
        idx = pc.Index(name="full")
        refused: tuple[int, ApiError] | None = None
        started = time.monotonic()
        for start in range(0, 2_000_000, 200):
            try:
                idx.upsert(vectors=_batch(rng, start, 200))
            except ApiError as exc:
                refused = (start, exc)
                break
            acked.extend(f"r{start + i}" for i in range(200))
        assert refused is not None, "the disk never filled"
        start, exc = refused
        assert exc.status_code == 507, exc
        assert time.monotonic() - started < 60
        assert "disk is full" in str(exc), str(exc)
        assert not list((data / ".tmp").iterdir()), "a failed put left its temporary file"
        # the refused batch is invisible; reads keep working
        assert set(idx.fetch(ids=[f"r{start}", acked[-1]]).vectors) == {acked[-1]}
        assert len(idx.query(vector=rng.normal(size=DIM).tolist(), top_k=5).matches) == 5
        with httpx.Client(base_url=server.url, timeout=30.0, headers=NEW_API) as http:
            stats = http.post("/index/full/describe_index_stats", json={}).json()
        assert stats["totalVectorCount"] == len(acked)
        assert "disk is full" in stats.get("backgroundError", ""), stats
        with pytest.raises(ApiError) as still:  # still full: still refused, with the same status
            idx.upsert(vectors=_batch(rng, start, 200))
        assert still.value.status_code == 507
        # a restart while full: a clean exit, no traceback, and the store opens and serves reads again
        assert server.stop() == 0
        assert not [line for line in server.log if "Traceback" in line], server.log
        server.start()
        idx = Pinecone(api_key="k", host=server.url).Index(name="full")
        assert idx.describe_index_stats().total_vector_count == len(acked)
        # the operator frees space: writes resume, no restart
        ballast.unlink()
        idx.upsert(vectors=_batch(rng, start, 200))
        acked.extend(f"r{start + i}" for i in range(200))
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=server.url, timeout=30.0, headers=NEW_API) as http:
            while time.monotonic() < deadline:
                stats = http.post("/index/full/describe_index_stats", json={}).json()
                if "backgroundError" not in stats:
                    break
                time.sleep(0.5)
        assert "backgroundError" not in stats, stats["backgroundError"]
        assert server.stop() == 0
        server.start()
        idx = Pinecone(api_key="k", host=server.url).Index(name="full")
        missing = []
        for i in range(0, len(acked), 100):
            chunk = acked[i : i + 100]
            found = idx.fetch(ids=chunk).vectors
            missing += [r for r in chunk if r not in found]
        assert not missing, f"{len(missing)} of {len(acked)} acknowledged records lost"
        assert idx.describe_index_stats().total_vector_count == len(acked)
    finally:
        server.stop()
