"""``GET /metrics`` and the request log, on real servers driven by the official SDK: the numbers a scrape
shows equal what the SDK did and what the engine reports; the key is needed unless ``--metrics-public``;
each request is one log line (text or JSON) whose id is the one the client sees."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pinecone import Pinecone, ServerlessSpec
from pinecone.errors import ApiError
from prometheus_client.parser import text_string_to_metric_families
from seaweed import SeaweedFS
from spruce_server_proc import ServerProcess

SPEC = ServerlessSpec(cloud="aws", region="us-east-1")
KEY = "metrics-key"


def _scrape(url: str, key: str | None = KEY) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape, by name and sorted labels."""
    r = httpx.get(f"{url}/metrics", headers={"Api-Key": key} if key else {})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def _wait_for(line: str, server: ServerProcess, timeout: float = 5.0) -> list[str]:
    """The server's log lines containing ``line``, once there is one (the log is read by a thread)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [x for x in list(server.log) if line in x]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no log line with {line!r} in:\n{''.join(server.log[-20:])}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("data"), ["--api-key", KEY, "--flush-rows", "50"])
    proc.start(timeout=60)
    yield proc
    proc.stop()


def test_metrics_need_the_key(server: ServerProcess) -> None:
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    assert httpx.get(f"{server.url}/metrics", headers={"Api-Key": "wrong"}).status_code == 401


def test_scrape_matches_what_was_done(server: ServerProcess) -> None:
    pc = Pinecone(api_key=KEY, host=server.url)
    pc.create_index(name="m", dimension=3, metric="euclidean", spec=SPEC)
    ix = pc.Index(name="m")
    before = _scrape(server.url)
    upserts = 4
    for b in range(upserts):
        ix.upsert(
            vectors=[(f"{b}-{i}", [float(i), 1.0, 2.0], {"b": b}) for i in range(30)], namespace=f"ns{b % 2}"
        )
    for _ in range(3):
        ix.query(vector=[1.0, 1.0, 1.0], top_k=2, namespace="ns0")
    with pytest.raises(ApiError):
        ix.query(vector=[1.0], top_k=2)  # wrong dimension: a 400
    stats = ix.describe_index_stats()
    after = _scrape(server.url)

    def delta(name: str, **labels: str) -> float:
        key = (name, tuple(sorted(labels.items())))
        return after.get(key, 0.0) - before.get(key, 0.0)

    # the SDK's requests, by route and status (the index's own port or the main one: both count)
    assert delta("spruce_requests_total", route="upsert", method="POST", status="200") == upserts
    assert delta("spruce_requests_total", route="query", method="POST", status="200") == 3
    assert delta("spruce_requests_total", route="query", method="POST", status="400") == 1
    assert delta("spruce_request_duration_seconds_count", route="query") == 4
    assert delta("spruce_request_duration_seconds_sum", route="query") > 0
    # each acknowledged upsert was fsynced at least once
    assert delta("spruce_fsync_duration_seconds_count") >= upserts
    # what describes the index equals what the SDK reads
    assert after[("spruce_index_records", (("index", "m"),))] == stats.total_vector_count == upserts * 30
    assert after[("spruce_index_namespaces", (("index", "m"),))] == len(stats.namespaces) == 2
    # 120 records at 50 rows a memtable: flushes ran, and the report says what the log still holds
    ix_url = server.url
    report = httpx.get(f"{ix_url}/index/m/spruce/storage", headers={"Api-Key": KEY}).json()
    now = _scrape(server.url)
    assert now[("spruce_index_flushes_total", (("index", "m"),))] == report["flushes"] >= 1
    assert now[("spruce_index_written_bytes_total", (("index", "m"),))] == report["bytes_written"] > 0
    assert now[("spruce_index_unflushed_log_entries", (("index", "m"),))] == report["unflushed_log_entries"]
    assert now[("spruce_index_segments", (("index", "m"),))] == sum(
        n["segments"] for n in report["namespaces"].values()
    )
    # a deleted index leaves the scrape
    pc.delete_index("m")
    gone = _scrape(server.url)
    assert not [k for k in gone if ("index", "m") in k[1]]


def test_each_request_is_a_log_line_with_the_id_the_client_sees(server: ServerProcess) -> None:
    r = httpx.get(f"{server.url}/indexes", headers={"Api-Key": KEY, "X-Request-Id": "req-abc-123"})
    assert r.status_code == 200
    assert r.headers["x-pinecone-request-id"] == "req-abc-123"
    (line,) = _wait_for("id=req-abc-123", server)
    assert " INFO spruce.access: GET /indexes list_indexes 200 " in line
    # without one, the server makes one up, answers it, and logs it
    r = httpx.get(f"{server.url}/indexes/absent", headers={"Api-Key": KEY})
    assert r.status_code == 404
    made = r.headers["x-pinecone-request-id"]
    assert len(made) == 16
    (line,) = _wait_for(f"id={made}", server)
    assert "GET /indexes/absent describe_index 404" in line
    # the SDK puts the id of a failed request in its error
    pc = Pinecone(api_key=KEY, host=server.url)
    with pytest.raises(ApiError) as err:
        pc.describe_index("absent-too")
    assert err.value.request_id
    _wait_for(f"id={err.value.request_id}", server)


@pytest.fixture
def quiet_json_server(tmp_path: Path) -> Iterator[ServerProcess]:
    args = ["--log-format", "json", "--no-access-log", "--slow-request", "0", "--metrics-public"]
    proc = ServerProcess(tmp_path / "data", args).start(timeout=60)
    yield proc
    proc.stop()


def test_json_lines_slow_requests_and_a_public_scrape(quiet_json_server: ServerProcess) -> None:
    server = quiet_json_server
    _scrape(server.url, key=None)  # --metrics-public: no key needed
    r = httpx.get(f"{server.url}/indexes", headers={"X-Request-Id": "json-1"})
    assert r.status_code == 200
    (line,) = _wait_for('"request_id":"json-1"', server)
    record = json.loads(line)
    # no access log, but every request is slower than 0 s: each one is logged as slow, at WARNING
    assert record["level"] == "warning" and record["logger"] == "spruce.access"
    assert (record["method"], record["path"], record["route"], record["status"]) == (
        "GET",
        "/indexes",
        "list_indexes",
        200,
    )
    assert record["duration_ms"] > 0 and record["message"].endswith("(slow)")
    assert record["ts"].endswith("+00:00")


def test_a_bucket_reports_its_cache_and_requests(seaweed: SeaweedFS, tmp_path: Path) -> None:
    args = [
        "--store",
        f"s3://{seaweed.bucket()}/metrics",
        "--cache",
        str(tmp_path / "cache"),
        "--flush-rows",
        "20",
    ]
    proc = ServerProcess(tmp_path / "data", [*args, "--metrics-public"], env=seaweed.env()).start(timeout=60)
    try:
        pc = Pinecone(api_key="any", host=proc.url)
        pc.create_index(name="b", dimension=2, metric="euclidean", spec=SPEC)
        ix = pc.Index(name="b")
        ix.upsert(vectors=[(str(i), [float(i), 1.0]) for i in range(50)])
        ix.query(vector=[1.0, 1.0], top_k=3)
        scrape = _scrape(proc.url, key=None)
        assert scrape[("spruce_object_store_request_duration_seconds_count", (("op", "put"),))] >= 1
        assert ("spruce_cache_hit_ratio", ()) in scrape and 0 <= scrape[("spruce_cache_hit_ratio", ())] <= 1
        assert scrape[("spruce_cache_bytes", ())] >= 0
        assert scrape[("spruce_index_records", (("index", "b"),))] == 50
    finally:
        proc.stop()
