"""The ``unindexedRecordCount`` / ``pendingDeletionCount`` extensions of ``describe_index_stats``.

Pinecone has neither field, so the point is twofold: the server reports background work a client can
poll (a fresh upsert is unindexed, an idle index gets to 0 on its own after the 2 s idle flush), and both
SDK generations still accept the response. They expose it differently: 10.2.0 decodes into a msgspec
struct that silently drops unknown keys (only a raw HTTP call sees the field), 7.3.0 keeps unknown keys
as attributes under their wire name (``stats.unindexedRecordCount``, as a float) and in ``to_dict()``.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from spruce_server_proc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
SDK7_PYTHON = Path(os.environ.get("SPRUCE_SDK7_PYTHON", ROOT / ".venv-sdk7" / "bin" / "python"))
IDLE_DEADLINE_S = 20.0


def _raw_stats(http: httpx.Client, index: str) -> dict[str, Any]:
    r = http.get(f"/index/{index}/describe_index_stats", headers={"Api-Key": "k"})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _wait_indexed(http: httpx.Client, index: str) -> tuple[float, dict[str, Any]]:
    """Poll until ``unindexedRecordCount`` is 0; return the seconds it took and the last body."""
    t0 = time.monotonic()
    while True:
        body = _raw_stats(http, index)
        waited = time.monotonic() - t0
        if body["unindexedRecordCount"] == 0 or waited > IDLE_DEADLINE_S:
            return waited, body
        time.sleep(0.2)


def test_fresh_upsert_is_unindexed_then_idle_flush_reaches_zero(pc: Any, http: httpx.Client) -> None:
    from pinecone import ServerlessSpec

    pc.create_index(
        name="unidx", dimension=4, metric="cosine", spec=ServerlessSpec(cloud="aws", region="us-east-1")
    )
    idx = pc.Index(name="unidx")
    empty = _raw_stats(http, "unidx")
    assert (empty["unindexedRecordCount"], empty["pendingDeletionCount"]) == (0, 0)

    idx.upsert(vectors=[(f"v{i}", [1.0, float(i), 0.5, 0.25]) for i in range(200)])
    body = _raw_stats(http, "unidx")
    assert body["totalVectorCount"] == 200
    assert 0 < body["unindexedRecordCount"] <= 200, body
    # 10.2.0 accepts the extended body; its struct drops the unknown keys rather than failing.
    stats = idx.describe_index_stats()
    assert stats.total_vector_count == 200
    assert "unindexedRecordCount" not in stats.to_dict() and "unindexed_record_count" not in stats.to_dict()

    waited, body = _wait_indexed(http, "unidx")
    assert body["unindexedRecordCount"] == 0, f"still {body} after {waited:.1f} s idle"
    assert body["totalVectorCount"] == 200

    # Deleting records that now live in a segment leaves them stored until compaction purges them.
    idx.delete(ids=["v0", "v1", "v2"])
    body = _raw_stats(http, "unidx")
    assert body["totalVectorCount"] == 197
    assert body["pendingDeletionCount"] == 3, body


def test_openapi_declares_the_extension_fields(http: httpx.Client) -> None:
    schema = http.get("/openapi.json", headers={"Api-Key": "k"}).json()["components"]["schemas"]["IndexStats"]
    for name in ("unindexedRecordCount", "pendingDeletionCount"):
        assert schema["properties"][name]["type"] == "integer"
        assert name in schema["required"]


SDK7_SCRIPT = """
import json, sys, warnings
warnings.simplefilter("ignore")
import pinecone
from pinecone import Pinecone, ServerlessSpec
assert pinecone.__version__.startswith("7.3"), pinecone.__version__
pc = Pinecone(api_key="k", host=sys.argv[1])
spec = ServerlessSpec(cloud="aws", region="us-east-1")
pc.create_index(name="unidx7", dimension=4, metric="cosine", spec=spec)
idx = pc.Index(name="unidx7")
idx.upsert(vectors=[(f"v{i}", [1.0, float(i), 0.5, 0.25]) for i in range(50)])
s = idx.describe_index_stats()
print(json.dumps({"total": s.total_vector_count, "attr": s.unindexedRecordCount,
                  "item": s["unindexedRecordCount"], "dict": s.to_dict()["unindexedRecordCount"],
                  "deletions": s.pendingDeletionCount}))
"""


@pytest.mark.skipif(not SDK7_PYTHON.exists(), reason=f"no SDK 7.3.0 interpreter at {SDK7_PYTHON}")
def test_sdk7_accepts_and_exposes_the_extension(server: ServerProcess) -> None:
    run = subprocess.run(
        [str(SDK7_PYTHON), "-c", SDK7_SCRIPT, server.url], capture_output=True, text=True, timeout=120
    )
    assert run.returncode == 0, run.stdout + run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["total"] == 50
    assert got["attr"] == got["item"] == got["dict"] and 0 < got["attr"] <= 50, got
    assert got["deletions"] == 0
