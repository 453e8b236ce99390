"""The operators' commands beside a real ``spruce serve``: on a local directory the server holds, each is
refused in one line (one process per directory); on a bucket, ``stats`` reads alongside the server and
``compact`` is refused while the server holds the indexes' background work, then runs once it stopped.
The numbers are checked against what the server itself answers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from seaweed import SeaweedFS
from spruce_server_proc import CLASSIC_API, ServerProcess, make_index


def _cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spruce.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def _load(url: str) -> dict[str, Any]:
    """An index with records in two namespaces and a delete, written through the API; its stats."""
    with httpx.Client(base_url=url, timeout=30.0) as http:
        make_index(http, "ops", dimension=4)
        for ns, n in (("a", 120), ("b", 30)):
            vectors = [{"id": f"{ns}{i}", "values": [1.0, float(i), 0.5, -1.0]} for i in range(n)]
            r = http.post(
                "/index/ops/vectors/upsert", headers=CLASSIC_API, json={"vectors": vectors, "namespace": ns}
            )
            assert r.status_code == 200, r.text
        r = http.post(
            "/index/ops/vectors/delete", headers=CLASSIC_API, json={"ids": ["a1", "a2"], "namespace": "a"}
        )
        assert r.status_code == 200, r.text
        r = http.post("/index/ops/describe_index_stats", headers=CLASSIC_API, json={})
        assert r.status_code == 200, r.text
        return dict(r.json())


def _counts(report: dict[str, Any]) -> dict[str, int]:
    (ops,) = [i for i in report["indexes"] if i["name"] == "ops"]
    return {ns: s["records"] for ns, s in ops["namespaces"].items()}


def test_every_command_is_refused_on_a_directory_a_server_holds(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = ServerProcess(data).start()
    try:
        stats = _load(server.url)
        for command in ("stats", "compact", "verify", "repair"):
            done = _cli(command, "--data", str(data))
            assert done.returncode == 2, (command, done.stdout, done.stderr)
            assert done.stdout == "" and done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
            assert done.stderr.startswith(f"spruce {command}: {data} is in use by another process")
        assert "GET /index/<name>/spruce/storage" in _cli("stats", "--data", str(data)).stderr
    finally:
        assert server.stop() == 0
    # the server gone, the same commands work, and stats counts what the server counted
    done = _cli("stats", "--data", str(data), "--json")
    assert done.returncode == 0, done.stderr
    assert _counts(json.loads(done.stdout)) == {ns: s["vectorCount"] for ns, s in stats["namespaces"].items()}
    done = _cli("compact", "--data", str(data))
    assert done.returncode == 0 and done.stdout.endswith("1 index fully indexed\n"), done.stderr


@pytest.mark.usefixtures("s3_env")
def test_on_a_bucket_stats_reads_beside_the_server_and_compact_waits_for_it(
    seaweed: SeaweedFS, tmp_path: Path
) -> None:
    url = f"s3://{seaweed.bucket()}/ops"
    server = ServerProcess(
        tmp_path / "data", ["--store", url, "--cache", str(tmp_path / "c0")], env=seaweed.env()
    )
    server.start(timeout=60)
    try:
        stats = _load(server.url)
        done = _cli("stats", "--store", url, "--cache", str(tmp_path / "c1"), "--json")
        assert done.returncode == 0, done.stderr
        assert _counts(json.loads(done.stdout)) == {
            ns: s["vectorCount"] for ns, s in stats["namespaces"].items()
        }
        done = _cli("compact", "--store", url, "--cache", str(tmp_path / "c2"))
        assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
        assert "index 'ops': its background work is held by another process" in done.stderr
    finally:
        assert server.stop() == 0
    done = _cli("compact", "--store", url, "--cache", str(tmp_path / "c3"), "--json")
    assert done.returncode == 0, done.stderr
    (report,) = json.loads(done.stdout)
    assert report["unindexed_after"] == 0 and report["records"] == 148
    done = _cli("stats", "--store", url, "--cache", str(tmp_path / "c4"), "--json")
    (ops,) = json.loads(done.stdout)["indexes"]
    assert ops["unindexed_records"] == 0 and ops["unflushed_log_entries"] == 0
