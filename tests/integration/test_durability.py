"""Acknowledged writes survive SIGTERM (graceful) and SIGKILL; the port is reusable at once after either.

A writer thread upserts small batches as fast as it can while the server is signalled; every batch that
got a 200 was acknowledged and must be there after a restart on the same port and data directory.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import httpx
import pytest
from spruce_server_proc import ServerProcess

SPEC = {"serverless": {"cloud": "aws", "region": "us-east-1"}}


def _writer(url: str, acked: list[str], stop: threading.Event) -> None:
    with httpx.Client(base_url=url, timeout=10) as client:
        n = 0
        while not stop.is_set():
            ids = [f"w{n}-{j}" for j in range(10)]
            body = {"vectors": [{"id": i, "values": [1.0, 2.0, float(n)]} for i in ids], "namespace": "w"}
            try:
                r = client.post("/index/dur/vectors/upsert", json=body)
            except httpx.TransportError:
                return
            if r.status_code == 200:
                acked.extend(ids)
            n += 1


def _all_ids(url: str) -> set[str]:
    out: set[str] = set()
    token = None
    with httpx.Client(base_url=url, timeout=30) as client:
        while True:
            params = {"namespace": "w", "limit": 100, **({"paginationToken": token} if token else {})}
            page = client.get("/index/dur/vectors/list", params=params).json()
            out.update(v["id"] for v in page["vectors"])
            token = page.get("pagination", {}).get("next")
            if not token:
                return out


def _crash_cycle(tmp_path: Path, sig: int) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    try:
        r = httpx.post(proc.url + "/indexes", json={"name": "dur", "dimension": 3, "spec": SPEC})
        assert r.status_code == 201
        # A write that is not an upsert: it must survive too.
        httpx.post(
            proc.url + "/index/dur/vectors/upsert",
            json={"vectors": [{"id": "gone", "values": [1, 1, 1]}], "namespace": "w"},
        )
        httpx.post(
            proc.url + "/index/dur/vectors/delete", json={"ids": ["gone"], "namespace": "w"}
        ).raise_for_status()
        acked: list[str] = []
        stop = threading.Event()
        writers = [threading.Thread(target=_writer, args=(proc.url, acked, stop)) for _ in range(3)]
        for w in writers:
            w.start()
        time.sleep(1.0)
        code = proc.stop(sig)
        stop.set()
        for w in writers:
            w.join(30)
        assert len(acked) >= 30, "the writers barely ran"
        if sig == signal.SIGTERM:
            assert code == 0, "".join(proc.log)
        proc.restart()
        assert httpx.get(proc.url + "/indexes/dur").status_code == 200
        present = _all_ids(proc.url)
        missing = set(acked) - present
        assert not missing, f"{len(missing)} acknowledged records lost, e.g. {sorted(missing)[:5]}"
        assert "gone" not in present
    finally:
        proc.stop(signal.SIGKILL)


def test_acknowledged_writes_survive_sigterm(tmp_path: Path) -> None:
    _crash_cycle(tmp_path, signal.SIGTERM)


def test_acknowledged_writes_survive_sigkill(tmp_path: Path) -> None:
    _crash_cycle(tmp_path, signal.SIGKILL)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_graceful_stop_releases_port_and_lock(tmp_path: Path, sig: int) -> None:
    proc = ServerProcess(tmp_path / "data").start()
    assert proc.stop(sig, timeout=20) == 0
    assert any("stopped" in line for line in proc.log), "".join(proc.log)
    proc.restart()
    assert httpx.get(proc.url + "/indexes").status_code == 200
    proc.stop()


def test_second_server_on_same_data_dir_is_refused(tmp_path: Path) -> None:
    first = ServerProcess(tmp_path / "data").start()
    try:
        second = ServerProcess(tmp_path / "data")
        with pytest.raises(RuntimeError, match="cannot open"):
            second.start(timeout=10)
        assert second.proc is not None and second.proc.wait(10) == 2
    finally:
        first.stop()
