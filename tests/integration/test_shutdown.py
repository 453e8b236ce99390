"""Shutdown ends in bounded time whatever the backlog, and loses nothing.

A store of 120,000 x 64 rows is written embedded as one flushed segment without a graph, so that the
server, once it opens it, starts a graph build of many seconds at once. SIGTERM then lands mid-build: the
process exits 0 within 5 s, with no traceback in its log; restarted, every record is there. A second
signal ends a shutdown at once.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import httpx
import numpy as np
from tests.support.spruce_server_proc import CLASSIC_API, ServerProcess

import spruce

ROWS, DIM = 120_000, 64
RESTART_ROWS = 60_000  # a graph build of about 30 s at 64 dimensions on two cores, restarts every 6 s


def _backlogged_store(path: Path, flush_rows: int = 50_000, *, merged: bool = True, rows: int = ROWS) -> None:
    """``merged``: one segment of every row, without a graph (its graph is one long build); else the
    segments as flushed, ``flush_rows`` each."""
    rng = np.random.default_rng(0)
    # no graph here: the server builds it
    db = spruce.Client(path=path, ann_min_rows=10**9, flush_rows=flush_rows)
    db.create_index("big", dimension=DIM, metric="euclidean")
    idx = db.Index("big")
    if not merged:
        db.index("big")._maint.stop()  # no background merge: the segments stay as flushed
    for start in range(0, rows, 10_000):
        vecs = rng.normal(size=(10_000, DIM)).astype(np.float32)
        idx.upsert([(f"v{start + i}", vecs[i]) for i in range(10_000)], batch_size=1000)
    idx.flush()
    if merged:
        idx.compact()
    db.close()


def _stats(url: str) -> dict[str, object]:
    with httpx.Client(base_url=url, headers=CLASSIC_API, timeout=30) as http:
        body: dict[str, object] = http.post("/index/big/describe_index_stats", json={}).json()
        return body


def test_sigterm_during_a_long_graph_build_exits_within_5_s(tmp_path: Path) -> None:
    _backlogged_store(tmp_path / "s")
    server = ServerProcess(tmp_path / "s").start()
    try:
        time.sleep(1.5)  # the graph build is under way
        assert _stats(server.url)["unindexedRecordCount"] == ROWS, "no backlog: the test would prove nothing"
        started = time.monotonic()
        code = server.stop(signal.SIGTERM, timeout=30)
        took = time.monotonic() - started
        log = "".join(server.log)
        assert code == 0, log
        assert took < 5.0, f"shutdown took {took:.1f} s"
        assert "Traceback" not in log, log
        server.start()
        assert _stats(server.url)["totalVectorCount"] == ROWS
    finally:
        server.stop(signal.SIGKILL)
    print(f"\nSIGTERM mid graph build: exit in {took:.2f} s")


def test_a_second_signal_exits_at_once(tmp_path: Path) -> None:
    _backlogged_store(tmp_path / "s")
    server = ServerProcess(tmp_path / "s").start()
    try:
        time.sleep(1.5)
        assert server.proc is not None
        server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
        started = time.monotonic()
        code = server.stop(signal.SIGINT, timeout=30)
        assert time.monotonic() - started < 1.0
        assert code in (0, 1)  # the first signal's shutdown may already be done
    finally:
        server.stop(signal.SIGKILL)


def test_restarted_every_few_seconds_under_writes_it_still_reaches_fully_indexed(tmp_path: Path) -> None:
    """The whole graph build here takes longer than the time between restarts; in committed steps (about
    1.5 s of graph building each, ``--graph-step-seconds``, over flushed segments of 2,000 rows) it
    progresses anyway, writes and all. (A step takes whole segments: at least one flushed segment.)"""
    _backlogged_store(tmp_path / "s", flush_rows=2_000, merged=False, rows=RESTART_ROWS)
    args = ["--graph-step-seconds", "1.5"]
    server = ServerProcess(tmp_path / "s", args).start()
    rng = np.random.default_rng(1)
    written = RESTART_ROWS
    restarts = 0
    try:
        for cycle in range(30):
            writing = cycle < 6  # writes continue through the first restarts
            until = time.monotonic() + 6.0
            with httpx.Client(base_url=server.url, headers=CLASSIC_API, timeout=30) as http:
                while time.monotonic() < until:
                    if writing:
                        vecs = rng.normal(size=(100, DIM)).round(3)
                        batch = [{"id": f"w{written + i}", "values": vecs[i].tolist()} for i in range(100)]
                        assert (
                            http.post("/index/big/vectors/upsert", json={"vectors": batch}).status_code == 200
                        )
                        written += 100
                    time.sleep(0.1)
            stats = _stats(server.url)
            print(f"cycle {cycle}: {stats['unindexedRecordCount']} unindexed of {written}")
            assert stats["totalVectorCount"] == written
            if not writing and stats["unindexedRecordCount"] == 0:
                break
            assert server.stop(signal.SIGTERM, timeout=30) == 0
            restarts += 1
            server.start()
        else:
            tail = "".join(server.log)[-4000:]
            raise AssertionError(f"not fully indexed after {restarts} restarts: {_stats(server.url)}\n{tail}")
    finally:
        server.stop(signal.SIGKILL)
    print(f"\nfully indexed after {restarts} restarts, {written} records")
