"""Several ``spruce serve`` processes on one bucket, and the kill -9 soak run on them: shared by
``tests/integration/test_s3_shared.py`` (20 cycles in CI) and ``benchmarks/soak_s3_kill9.py`` (as many as
asked)."""

from __future__ import annotations

import random
import signal
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from spruce_server_proc import CLASSIC_API, ServerProcess

__all__ = ["Cluster", "SoakReport", "fetch_ids", "kill9_soak", "vec"]


def vec(i: int) -> list[float]:
    """A 4-dimension vector for record number ``i``."""
    return [1.0, float(i % 97), float(i % 13), 0.5]


class Cluster:
    """``n`` processes on one store, each with its own cache directory (as on separate machines)."""

    def __init__(
        self,
        root: Path,
        env: Mapping[str, str],
        url: str,
        n: int,
        extra: list[str] | None = None,
        lease_seconds: float = 2.0,
    ) -> None:
        self.root, self.env, self.url = root, dict(env), url
        self.extra = extra or []
        self.lease_seconds = lease_seconds
        self._caches = 0
        self.procs = [self._proc() for _ in range(n)]

    def _proc(self) -> ServerProcess:
        i = self._caches
        self._caches += 1
        args = ["--store", self.url, "--cache", str(self.root / f"cache{i}")]
        args += ["--lease-seconds", str(self.lease_seconds)]
        return ServerProcess(self.root / f"p{i}", [*args, *self.extra], env=self.env)

    def start(self) -> Cluster:
        for p in self.procs:
            p.start(timeout=60)
        return self

    def replace(self, i: int) -> None:
        """A brand-new process (an empty cache) in place of process ``i``."""
        self.procs[i] = self._proc()
        self.procs[i].start(timeout=60)

    def stop(self) -> str:
        """Stop every process (SIGTERM); their logs, joined."""
        logs = []
        for p in self.procs:
            if p.proc is not None and p.proc.poll() is None:
                p.proc.send_signal(signal.SIGCONT)  # (in case a test left it stopped)
                p.stop(signal.SIGTERM)
            logs.append("".join(p.log))
        return "\n".join(logs)

    def http(self, i: int) -> httpx.Client:
        return httpx.Client(base_url=self.procs[i].url, headers=CLASSIC_API, timeout=30)


def fetch_ids(http: httpx.Client, index: str, ids: list[str], ns: str = "") -> dict[str, Any]:
    """The records of ``ids`` that exist, fetched over REST 200 at a time (fetch takes at most 1,000)."""
    got: dict[str, Any] = {}
    for start in range(0, len(ids), 200):
        params = [("ids", x) for x in ids[start : start + 200]] + [("namespace", ns)]
        r = http.get(f"/index/{index}/vectors/fetch", params=params)
        assert r.status_code == 200, r.text
        got |= r.json()["vectors"]
    return got


@dataclass
class SoakReport:
    cycles: int = 0
    acked: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)  # answers a client must never get
    retried: int = 0  # 503s and connections refused by a killed process: retryable
    missing: dict[int, int] = field(default_factory=dict)  # acknowledged ids a process does not serve
    counts: dict[int, int] = field(default_factory=dict)  # totalVectorCount per process at the end


def kill9_soak(
    c: Cluster, index: str, cycles: int, *, clients: int = 4, period: float = 1.0, seed: int = 7
) -> SoakReport:
    """``clients`` threads upsert 20 fresh ids at a time through a random process while, every ``period``
    seconds, a random process is killed with SIGKILL and replaced (every other time by a brand-new process
    with an empty cache). Afterwards every acknowledged id must be served by every process."""
    report = SoakReport()
    mu = threading.Lock()
    stop = threading.Event()

    def client(t: int) -> None:
        rng = random.Random(seed * 100 + t)
        k = 0
        while not stop.is_set():
            ids = [f"c{t}-{k}-{j}" for j in range(20)]
            body = {"vectors": [{"id": x, "values": vec(j)} for j, x in enumerate(ids)]}
            try:
                with httpx.Client(
                    base_url=c.procs[rng.randrange(len(c.procs))].url, headers=CLASSIC_API, timeout=10
                ) as http:
                    r = http.post(f"/index/{index}/vectors/upsert", json=body)
            except httpx.HTTPError:
                with mu:
                    report.retried += 1
                continue  # that process is down: another one next time
            with mu:
                if r.status_code == 200:
                    report.acked.update(ids)
                    k += 1
                elif r.status_code == 503:
                    report.retried += 1
                else:
                    report.failures.append(f"{r.status_code} {r.text[:300]}")

    threads = [threading.Thread(target=client, args=(t,)) for t in range(clients)]
    for th in threads:
        th.start()
    rng = random.Random(seed)
    try:
        for cycle in range(cycles):
            time.sleep(period)
            i = rng.randrange(len(c.procs))
            c.procs[i].stop(signal.SIGKILL)
            if cycle % 2:
                c.replace(i)
            else:
                c.procs[i].start(timeout=60)
            report.cycles += 1
    finally:
        stop.set()
        for th in threads:
            th.join()
    ordered = sorted(report.acked)
    for i in range(len(c.procs)):
        with c.http(i) as http:
            got = set(fetch_ids(http, index, ordered))
            report.missing[i] = len(report.acked - got)
            report.counts[i] = int(
                http.post(f"/index/{index}/describe_index_stats", json={}).json()["totalVectorCount"]
            )
    return report
