"""The ASGI app in-process over a real store: faults the HTTP tests cannot provoke from outside.

An unexpected exception is a logged 500 in the plane's body shape, with no internals leaked; a closed store
is a 503 UNAVAILABLE. (No engine mock: the store is real, only an extra route raises on purpose.)
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from spruce.engine import Database
from spruce.server import Context, ServerConfig, SpruceApp
from spruce.server.config import Context as _Context
from spruce.server.http import Request, Response
from spruce.server.routing import ROUTES, Route


def _boom(ctx: _Context, req: Request) -> Response:
    raise RuntimeError("secret internal detail")


BOOM_ROUTES = (
    *ROUTES,
    Route("GET", ("boom",), _boom, "boom"),
    Route("GET", ("index", "{index}", "boom"), _boom, "boom_data"),
)


def _call(app: SpruceApp, method: str, path: str, **kwargs: object) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:5080") as client:
            return await client.request(method, path, **kwargs)  # type: ignore[arg-type]

    return asyncio.run(go())


@pytest.fixture()
def app(tmp_path: Path):  # type: ignore[no-untyped-def]
    db = Database.open(tmp_path / "data")
    pool = ThreadPoolExecutor(2)
    yield SpruceApp(Context(db, ServerConfig()), pool, BOOM_ROUTES)
    pool.shutdown()
    db.close()


def test_unexpected_exception_is_logged_500(app: SpruceApp, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="spruce.server"):
        r = _call(app, "GET", "/boom")
    assert r.status_code == 500
    assert r.json()["error"]["code"] == "INTERNAL" and r.json()["status"] == 500
    assert "secret" not in r.text
    assert any("secret internal detail" in str(rec.exc_info[1]) for rec in caplog.records if rec.exc_info)
    d = _call(app, "GET", "/index/x/boom")
    assert d.status_code == 500 and d.json() == {
        "code": 13,
        "message": "Internal server error; the server log has the details.",
        "details": [],
    }


def test_closed_store_is_503(app: SpruceApp) -> None:
    spec = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
    assert _call(app, "POST", "/indexes", json={"name": "c", "dimension": 2, "spec": spec}).status_code == 201
    app.ctx.db.close()
    r = _call(app, "POST", "/index/c/query", json={"topK": 1, "vector": [1, 2]})
    assert r.status_code == 503 and r.json()["code"] == 14


def test_advertised_host_follows_config(tmp_path: Path) -> None:
    db = Database.open(tmp_path / "d")
    pool = ThreadPoolExecutor(1)
    try:
        spec = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
        for config, host in (
            (ServerConfig(port=6000, advertise_host="spruce.local"), "http://spruce.local:6000/index/h"),
            (ServerConfig(host="0.0.0.0", port=6001), "http://127.0.0.1:6001/index/h"),
            (ServerConfig(host="::1", port=6002), "http://[::1]:6002/index/h"),
        ):
            app = SpruceApp(Context(db, config), pool)
            if not db.has_index("h"):
                _call(app, "POST", "/indexes", json={"name": "h", "dimension": 2, "spec": spec})
            assert _call(app, "GET", "/indexes/h").json()["host"] == host
    finally:
        pool.shutdown()
        db.close()
