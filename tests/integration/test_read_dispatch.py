"""Where handlers run: short reads on the event loop, writes and long reads in the worker pool.

Each real route's handler is wrapped to record the thread it ran on, so these tests check the real route
table and its ``short`` predicates, not a copy.
"""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from spruce.engine import Database
from spruce.server import Context, ServerConfig, SpruceApp
from spruce.server.config import Context as _Context
from spruce.server.http import Request, Response
from spruce.server.routing import ROUTES, Route

SPEC = {"serverless": {"cloud": "aws", "region": "us-east-1"}}


class Recorder:
    """Wraps every route's handler to note (operation id, ran on the loop thread?)."""

    def __init__(self) -> None:
        self.loop_thread: int | None = None
        self.calls: list[tuple[str, bool]] = []

    def routes(self, extra: tuple[Route, ...] = ()) -> tuple[Route, ...]:
        return tuple(dataclasses.replace(r, handler=self._wrap(r)) for r in (*ROUTES, *extra))

    def _wrap(self, route: Route) -> Any:
        def handler(ctx: _Context, req: Request) -> Response:
            self.calls.append((route.operation_id, threading.get_ident() == self.loop_thread))
            return route.handler(ctx, req)

        return handler

    def inline(self, operation_id: str) -> bool:
        """Whether the last call of ``operation_id`` ran on the event loop's thread."""
        return [on_loop for op, on_loop in self.calls if op == operation_id][-1]


@pytest.fixture()
def setup(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = Database.open(tmp_path / "data")
    pool = ThreadPoolExecutor(1)
    rec = Recorder()
    gate = threading.Event()

    def blocked(ctx: _Context, req: Request) -> Response:
        gate.wait(10)
        return Response(200, b"{}")

    app = SpruceApp(
        Context(db, ServerConfig()), pool, rec.routes((Route("POST", ("blocked",), blocked, "blocked"),))
    )
    yield app, rec, gate
    gate.set()
    pool.shutdown()
    db.close()


def _run(app: SpruceApp, rec: Recorder, calls: list[tuple[str, str, dict[str, Any]]]) -> list[httpx.Response]:
    async def go() -> list[httpx.Response]:
        rec.loop_thread = threading.get_ident()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:5080") as client:
            return [await client.request(m, p, **kw) for m, p, kw in calls]

    return asyncio.run(go())


def _seed(app: SpruceApp, rec: Recorder) -> None:
    vectors = [{"id": f"v{i}", "values": [float(i), 1.0], "metadata": {"g": i % 2}} for i in range(200)]
    rs = _run(
        app,
        rec,
        [
            (
                "POST",
                "/indexes",
                {"json": {"name": "d", "dimension": 2, "metric": "euclidean", "spec": SPEC}},
            ),
            ("POST", "/index/d/vectors/upsert", {"json": {"vectors": vectors}}),
        ],
    )
    assert [r.status_code for r in rs] == [201, 200]


def test_short_reads_run_on_the_loop_and_the_rest_in_the_pool(setup) -> None:  # type: ignore[no-untyped-def]
    app, rec, _ = setup
    _seed(app, rec)
    assert not rec.inline("create_index") and not rec.inline("upsert")
    cases = [
        ("POST", "/index/d/query", {"json": {"vector": [1.0, 1.0], "topK": 10}}, "query", True),
        ("POST", "/index/d/query", {"json": {"vector": [1.0, 1.0], "topK": 100}}, "query", True),
        ("POST", "/index/d/query", {"json": {"vector": [1.0, 1.0], "topK": 101}}, "query", False),
        (  # a filter's cost has no bound: never on the loop
            "POST",
            "/index/d/query",
            {"json": {"vector": [1.0, 1.0], "topK": 10, "filter": {"g": 1}}},
            "query",
            False,
        ),
        ("GET", "/index/d/vectors/fetch", {"params": [("ids", f"v{i}") for i in range(100)]}, "fetch", True),
        ("GET", "/index/d/vectors/fetch", {"params": [("ids", f"v{i}") for i in range(101)]}, "fetch", False),
        ("GET", "/index/d/vectors/list", {}, "list_vectors", True),
        ("POST", "/index/d/describe_index_stats", {"json": {}}, "describe_index_stats", True),
        ("POST", "/index/d/describe_index_stats", {}, "describe_index_stats", True),
        (
            "POST",
            "/index/d/describe_index_stats",
            {"json": {"filter": {"g": {"$eq": 1}}}},
            "describe_index_stats",
            False,
        ),
        ("GET", "/index/d/describe_index_stats", {}, "describe_index_stats_get", True),
        ("POST", "/index/d/vectors/delete", {"json": {"ids": ["v0"]}}, "delete", False),
        ("GET", "/indexes/d", {}, "describe_index", False),
    ]
    for method, path, kw, op, inline in cases:
        (r,) = _run(app, rec, [(method, path, kw)])
        assert r.status_code == 200, (path, r.text)
        assert rec.inline(op) is inline, (method, path, kw)
    # the predicate decoded the body once; the handler used it: answers are still right
    (r,) = _run(app, rec, [("POST", "/index/d/query", {"json": {"vector": [5.0, 1.0], "topK": 1}})])
    assert r.json()["matches"][0]["id"] == "v5"
    (r,) = _run(
        app, rec, [("POST", "/index/d/describe_index_stats", {"json": {"filter": {"g": {"$eq": 1}}}})]
    )
    assert r.json()["namespaces"][""]["vectorCount"] == 100  # the odd ids; v0 (even) was deleted


def test_malformed_short_read_is_still_a_4xx(setup) -> None:  # type: ignore[no-untyped-def]
    app, rec, _ = setup
    _seed(app, rec)
    bad = [
        ("POST", "/index/d/query", {"content": b"{not json"}),
        ("POST", "/index/d/query", {"content": b"[1, 2]"}),
        ("POST", "/index/d/describe_index_stats", {"content": b"nope"}),
        ("POST", "/index/d/query", {"json": {"vector": [1.0, 1.0], "topK": "10"}}),
    ]
    statuses = [r.status_code for r in _run(app, rec, bad)]
    assert statuses[:3] == [422, 422, 422] and statuses[3] == 400


def test_short_reads_do_not_wait_for_a_busy_pool(setup) -> None:  # type: ignore[no-untyped-def]
    """The one worker thread is stuck in a slow request; a query still answers meanwhile."""
    app, rec, gate = setup
    _seed(app, rec)

    async def go() -> tuple[int, bool]:
        rec.loop_thread = threading.get_ident()
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:5080") as client:
            slow = asyncio.ensure_future(client.post("/blocked"))
            await asyncio.sleep(0.05)
            r = await asyncio.wait_for(
                client.post("/index/d/query", json={"vector": [1.0, 1.0], "topK": 3}), 5
            )
            done_before_gate = not slow.done()
            gate.set()
            await slow
            return r.status_code, done_before_gate

    status, slow_was_pending = asyncio.run(go())
    assert status == 200 and slow_was_pending
