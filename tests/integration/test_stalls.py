"""No request can stall the others, and a request's cost is bounded by its deadline.

A real server; one thread keeps sending a pathological query (top-10 with a 5,000-clause ``$or``, seconds
of filter work each) while the test measures a stream of ``GET /indexes`` and small queries: their p99
stays under 20 ms. With ``--request-timeout`` short, the same pathological query fails fast with a 400
naming the deadline (gRPC calls run under the same ``spruce.deadline``, answering DEADLINE_EXCEEDED), and
the server goes on serving.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from tests.support.spruce_server_proc import CLASSIC_API, ServerProcess

DIM = 16
ROWS = 20_000
# 5,000 clauses, each a conjunction with a negation: about a second of filter work per query here
PATHOLOGICAL = {"$or": [{"g": {"$nin": ["g1", "g2"]}, "n": {"$gte": i}} for i in range(5_000)]}


def _seed(url: str) -> None:
    rng = np.random.default_rng(0)
    with httpx.Client(base_url=url, headers=CLASSIC_API, timeout=60) as http:
        spec = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
        made = http.post(
            "/indexes", json={"name": "s", "dimension": DIM, "metric": "euclidean", "spec": spec}
        )
        assert made.status_code == 201, made.text
        vecs = rng.normal(size=(ROWS, DIM)).round(4)
        for start in range(0, ROWS, 1000):
            batch = [
                {"id": f"v{i}", "values": vecs[i].tolist(), "metadata": {"n": i % 20_000, "g": f"g{i % 7}"}}
                for i in range(start, start + 1000)
            ]
            assert http.post("/index/s/vectors/upsert", json={"vectors": batch}).status_code == 200


@pytest.fixture(scope="module")
def slow_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(tmp_path_factory.mktemp("stalls"), ["--request-timeout", "120"]).start()
    _seed(server.url)
    yield server
    server.stop()


def test_a_pathological_query_does_not_stall_other_requests(slow_server: ServerProcess) -> None:
    stop = threading.Event()
    slow_done: list[float] = []

    def hammer() -> None:
        with httpx.Client(base_url=slow_server.url, headers=CLASSIC_API, timeout=300) as http:
            while not stop.is_set():
                started = time.monotonic()
                r = http.post(
                    "/index/s/query", json={"vector": [0.0] * DIM, "topK": 10, "filter": PATHOLOGICAL}
                )
                assert r.status_code == 200, r.text
                slow_done.append(time.monotonic() - started)

    worker = threading.Thread(target=hammer, daemon=True)
    worker.start()
    time.sleep(0.5)  # the first pathological query is running
    latencies: list[float] = []
    try:
        with httpx.Client(base_url=slow_server.url, headers=CLASSIC_API, timeout=30) as http:
            window = time.monotonic() + 3.0  # about three pathological queries' worth
            i = 0
            while time.monotonic() < window or i < 300:
                i += 1
                started = time.monotonic()
                if i % 2:
                    r = http.get("/indexes")
                else:
                    r = http.post("/index/s/query", json={"vector": [0.1] * DIM, "topK": 10})
                latencies.append(time.monotonic() - started)
                assert r.status_code == 200
    finally:
        stop.set()
        worker.join(timeout=120)
    assert slow_done, "no pathological query finished"
    p99 = float(np.percentile(latencies, 99))
    print(
        f"\npathological query {np.median(slow_done):.2f} s each; other requests p50 "
        f"{np.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms"
    )
    assert min(slow_done) > 0.2, "the query meant to be pathological is not: the test would prove nothing"
    assert len(slow_done) >= 2, "the stream did not overlap pathological queries"
    assert p99 < 0.020, f"p99 {p99 * 1000:.1f} ms while a pathological query ran"


def test_the_deadline_stops_a_costly_query_with_a_clear_error(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "d", ["--request-timeout", "0.2"]).start()
    try:
        _seed(server.url)
        with httpx.Client(base_url=server.url, headers=CLASSIC_API, timeout=60) as http:
            started = time.monotonic()
            r = http.post("/index/s/query", json={"vector": [0.0] * DIM, "topK": 10, "filter": PATHOLOGICAL})
            took = time.monotonic() - started
            assert r.status_code == 400, r.text
            assert r.json()["code"] == 4 and "deadline of 0.2 s" in r.json()["message"]
            assert took < 1.5, f"stopped only after {took:.2f} s"
            ok = http.post("/index/s/query", json={"vector": [0.0] * DIM, "topK": 3, "filter": {"g": "g1"}})
            assert ok.status_code == 200 and len(ok.json()["matches"]) == 3
        assert not [line for line in server.log if "Traceback" in line]
    finally:
        server.stop()
