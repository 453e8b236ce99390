"""The ASGI application: auth, body caps, routing, running handlers off the loop, error mapping.

Everything cross-cutting happens here, once, so handlers stay a few lines each. A request goes:

1. split the raw path into segments (duplicate slashes collapse); on an index's own port
   (:mod:`spruce.server.ports`) the path is relative to that index, so ``/vectors/upsert`` there is
   ``/index/<name>/vectors/upsert``;
2. check the API key in constant time (401 ``text/plain``);
3. match a route (404 / 405);
4. refuse a body above the cap from ``Content-Length`` alone, or while streaming a chunked body (413), so
   an oversized upsert is never buffered whole;
5. run the handler (decode, one engine call, encode) on the event loop if it is a short read, else in
   the worker pool (see :meth:`SpruceApp._dispatch`), and map any exception to Pinecone's error body:
   ``SpruceError`` to its status, anything else to a logged 500;
6. answer with a request id (the client's ``X-Request-Id``, else one made up) in ``x-pinecone-request-id``,
   which the SDK puts in its errors; count the request by route and status (``spruce.telemetry``, served
   at ``GET /metrics``: ``server.metrics``) and log it, one line on ``spruce.access``.

The plane (control or data) decides the error body shape: paths under ``/index/<name>`` are data plane.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from typing import Any
from urllib.parse import parse_qs

from spruce import deadline
from spruce.console import asset
from spruce.errors import ForbiddenError, PayloadTooLargeError, SpruceError
from spruce.server.auth import Keys
from spruce.server.config import Context
from spruce.server.errors import error_response, internal_error
from spruce.server.http import MIN_LSN_HEADER, Request, Response, json_response
from spruce.server.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from spruce.server.metrics import Metrics
from spruce.server.openapi import openapi_bytes
from spruce.server.routing import ROUTES, Route, match, split_path
from spruce.telemetry import REQUEST_SECONDS, REQUESTS

__all__ = ["SpruceApp"]

log = logging.getLogger("spruce.server")
access_log = logging.getLogger("spruce.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _Disconnected(Exception):
    """The client went away before sending its whole body."""


class SpruceApp:
    """An ASGI 3 application serving one :class:`~spruce.server.config.Context`."""

    def __init__(self, ctx: Context, pool: ThreadPoolExecutor, routes: tuple[Route, ...] = ROUTES) -> None:
        self.ctx = ctx
        self.pool = pool
        self.routes = routes
        self._keys = Keys(ctx.config.api_key, ctx.config.read_only_api_key)
        self._openapi = openapi_bytes()
        self._scrape = Metrics(ctx.db)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}  # (route, method, status) -> metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Only HTTP: the server runs uvicorn with ``lifespan="off"``, since the CLI opens and closes the
        # database around it (``spruce.server.run``), so there is nothing to start or stop here.
        if scope["type"] == "http":
            await self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = time.perf_counter()
        segments = split_path(scope.get("raw_path") or scope["path"].encode())
        server = scope.get("server")
        index = self.ctx.ports.index_at(server[1]) if server else None
        if index is not None:  # an index's own port: its paths are the data plane's, without the prefix
            segments = ["index", index, *segments]
        data_plane = bool(segments) and segments[0] == "index"
        headers = _headers(scope)
        # the client's own request id if it sent one, else ours: answered in the header the SDK copies into
        # its errors (``x-pinecone-request-id``), and logged, so an error in a client's log finds its line
        request_id = headers.get(b"x-request-id") or os.urandom(8).hex().encode()
        try:
            response = await self._respond(scope, receive, segments, headers, data_plane)
        except _Disconnected:
            return
        except Exception as exc:  # a bug in this layer: still Pinecone's 500 body, and logged
            response = internal_error(exc, data_plane=data_plane, what=f"{scope['method']} {scope['path']}")
        response.headers.append((b"x-pinecone-request-id", request_id))
        await _send(send, response)
        self._observe(scope, response.status, time.perf_counter() - started, request_id)

    def _observe(self, scope: Scope, status: int, took: float, request_id: bytes) -> None:
        """Count the request (``spruce.telemetry``) and log it: a line per request on ``spruce.access`` at
        INFO (``--no-access-log`` turns it off), at WARNING if it took longer than ``--slow-request``."""
        route = scope.get("spruce.route", "unmatched")
        method = scope["method"]
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:  # (``labels`` looks up under a lock: ~4 us a request, kept for 1 us)
            children = self._children[key] = (
                REQUESTS.labels(route, method, str(status)),
                REQUEST_SECONDS.labels(route),
            )
        children[0].inc()
        children[1].observe(took)
        config = self.ctx.config
        level = logging.WARNING if took >= config.slow_request else logging.INFO
        if (config.access_log or level == logging.WARNING) and access_log.isEnabledFor(level):
            access_log.log(
                level,
                "%s %s %s %d %.2fms id=%s%s",
                method,
                scope["path"],
                route,
                status,
                took * 1e3,
                request_id.decode("latin-1"),
                " (slow)" if level == logging.WARNING else "",
                extra={
                    "method": method,
                    "path": scope["path"],
                    "route": route,
                    "status": status,
                    "duration_ms": round(took * 1e3, 3),
                    "request_id": request_id.decode("latin-1"),
                },
            )

    async def _respond(
        self,
        scope: Scope,
        receive: Receive,
        segments: list[str],
        headers: dict[bytes, bytes],
        data_plane: bool,
    ) -> Response:
        method: str = scope["method"]
        reading = method in ("GET", "HEAD")  # (uvicorn sends no body in answer to a HEAD)
        if reading and segments in (["health"], ["ready"]):  # no key: a probe has none
            scope["spruce.route"] = segments[0]
            return self._probe(segments[0])
        if reading and not data_plane and (not segments or segments[0] == "console"):
            scope["spruce.route"] = "console"
            return _console(segments)  # no key: the pages hold no data (``spruce.console``)
        cross = _cross_site(headers)
        if cross is not None:
            scope["spruce.route"] = "cross_site"
            return error_response(ForbiddenError(cross), data_plane=data_plane)
        metrics = method == "GET" and segments == ["metrics"]
        if metrics and self.ctx.config.metrics_public:
            scope["spruce.route"] = "metrics"
            return await self._metrics()
        try:
            role = self._keys.role(headers.get(b"api-key"), where="Api-Key header")
            if method == "GET" and segments == ["openapi.json"]:
                scope["spruce.route"] = "openapi"
                return Response(200, self._openapi)
            if metrics:
                scope["spruce.route"] = "metrics"
                return await self._metrics()
            route, params = match(method, segments, self.routes)
            scope["spruce.route"] = route.operation_id
            Keys.allow(role, reads=route.reads, what=route.operation_id)
            body = await _read_body(receive, headers, self.ctx.config.max_body_bytes)
        except SpruceError as exc:
            return _with_close(error_response(exc, data_plane=data_plane), headers)
        request = Request(
            method=method,
            params=params,
            query=parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
            body=body,
            api_version=headers.get(b"x-pinecone-api-version", b"").decode("latin-1"),
            host_header=headers.get(b"host", b"").decode("latin-1"),
            min_lsn=headers.get(MIN_LSN_HEADER, b"").decode("latin-1"),
        )
        return await self._dispatch(route, request)

    async def _dispatch(self, route: Route, request: Request) -> Response:
        """Short reads run right here on the event loop; writes and anything that can be long go to the pool.

        Why: the hop to a worker thread (``run_in_executor``: a queue, a thread wake-up, a GIL hand-off,
        then a wake-up of the loop through its self-pipe) costs more than a short read saves by leaving the
        loop free, on a machine whose cores the clients share. Measured with the loops of
        ``benchmarks/bench_server.py --reads`` in an interleaved A/B (an uncommitted harness: one server per
        dispatch on copies of one store, 5 rounds in alternating order, medians), 100,000 x 384 clustered
        records, pinecone SDK 10.2.0, 2 cores, load average 3-5 from other work on the machine:

        ======================  ============================  ===================================
        request                 one client p50, pool → loop    4 client processes, pool → loop
        ======================  ============================  ===================================
        query top-10             1.260 → 1.191 ms              950 → 1,066 req/s
        query top-10, filter     2.526 → 2.262 ms              420 → 500 req/s
        fetch 100 ids            5.003 → 4.753 ms              165 → 237 req/s
        ======================  ============================  ===================================

        Throughput varied ±30 % round to round with the machine's other load, but no median lost, so the
        loop wins single-client without costing concurrency: whatever overlap of engine work the pool
        allowed did not pay for its handoffs on 2 cores shared with the clients. A dedicated single worker
        thread (same handoff, no pool queue) was worse than the pool in a first run (query 1.32 ms, 883
        req/s) and was dropped. The win is small: the hop is not most of a server query's own ~0.45 ms
        (see benchmarks/README.md, "Server vs embedded", for where that goes).

        What counts as short is each route's ``short`` predicate (``spruce.server.data``): a query with
        ``topK`` <= 100 and no filter (a filter's cost is unbounded), a fetch of <= 100 ids, a list page
        (<= 100 ids), stats without a ``filter`` (which scans every record). Every request, on the loop or
        not, runs under the deadline of ``--request-timeout`` (``spruce.deadline``). Bigger reads, all
        writes (they wait for an fsync) and the control plane (its
        catalog commits fsync too) stay in the pool, so none of them stalls other connections. A short read
        may still wait briefly on the engine's lock while a write applies a batch in memory; it never waits
        on a pool thread, so it cannot deadlock, and graceful shutdown is unchanged (uvicorn finishes
        in-flight requests, loop or pool, before the pool is drained and the store closed).
        """
        # (a read that syncs with a shared store first makes a round trip that must not hold the loop: it
        # is awaited here, and the read goes to the pool if there is more to do; with a read staleness it
        # is made about once per that many seconds, which the loop can afford)
        if route.short is not None and route.short(request):
            if not (self.ctx.reads_sync or (self.ctx.shared and request.min_lsn)):
                return self._handle(route, request)
            synced = await self._synced(request)
            if synced is not None:
                with synced:
                    return self._handle(route, request)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, self._handle, route, request)

    async def _synced(self, request: Request) -> AbstractContextManager[None] | None:
        """The read barrier of the request's index, awaited on the loop (``Database.synced_read``); None
        sends the read to the pool, whose barrier does the rest (also for a client's read barrier, and for
        an index this process has not opened)."""
        name = request.params.get("index")
        if request.min_lsn or self.ctx.synced_read is None or not isinstance(name, str):
            return None
        try:
            return await self.ctx.synced_read(name)
        except Exception:  # (whatever it is, the pool's barrier meets it again and answers it properly)
            return None

    async def _metrics(self) -> Response:
        """``GET /metrics`` (``server.metrics``), in the pool: it takes each index's read lock briefly."""
        loop = asyncio.get_running_loop()
        body = await loop.run_in_executor(self.pool, self._scrape.render)
        return Response(200, body, METRICS_CONTENT_TYPE)

    def _probe(self, which: str) -> Response:
        """``/health``: the process answers. ``/ready``: the store is open (replay done: the server listens
        only after it) and takes writes (no failed fsync, disk not full). Neither needs a key, so neither
        says more than that."""
        if which == "health":
            return json_response({"status": "ok"})
        reason = self.ctx.db.not_ready()
        if reason is None:
            return json_response({"status": "ready"})
        return json_response({"status": "not ready", "reason": reason}, 503)

    def _handle(self, route: Route, request: Request) -> Response:
        """The handler, and the mapping of whatever it raises (on the loop or in a worker thread)."""
        try:
            with deadline.within(self.ctx.config.request_timeout):
                return route.handler(self.ctx, request)
        except SpruceError as exc:
            return error_response(exc, data_plane=route.data_plane)
        except Exception as exc:
            return internal_error(exc, data_plane=route.data_plane, what=f"{route.method} {route.path}")


def _cross_site(headers: dict[bytes, bytes]) -> str | None:
    """Why a request sent by a web page of another site is refused, or None.

    A browser lets any page it shows send a "simple" request (a POST with ``Content-Type: text/plain``,
    no custom headers, so no preflight) to any address, a server on loopback included. The page cannot
    read the answer, but the request runs: without an API key that is a delete of everything. Browsers
    say where such a request comes from (``Origin``, ``Sec-Fetch-Site``); SDKs and other programs send
    neither. So a request whose ``Origin`` is not this server (the console's own calls are same-origin)
    is refused before anything else. A client outside a browser that sets ``Origin`` on purpose must set
    it to the server it talks to."""
    site = headers.get(b"sec-fetch-site")
    if site is not None and site not in (b"same-origin", b"none"):
        return f"a request from another site (Sec-Fetch-Site: {site.decode('latin-1')}) is refused"
    origin = headers.get(b"origin")
    if origin is None:
        return None
    host = headers.get(b"host", b"")
    if origin.partition(b"://")[2] != host:
        where = origin.decode("latin-1")
        return f"a request from another origin ({where}) is refused: Origin must be this server"
    return None


# the console's pages: no script, style or frame from anywhere else, and never inside another site's frame
_CONSOLE_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]


def _console(segments: list[str]) -> Response:
    """``/`` redirects to ``/console/``; ``/console/<file>`` is a file of ``spruce.console``'s assets."""
    if not segments:
        return Response(302, b"", headers=[(b"location", b"/console/")])
    found = asset(segments[1] if len(segments) == 2 else "") if len(segments) <= 2 else None
    if found is None:
        return Response(404, b"no such console page", b"text/plain; charset=utf-8")
    body, kind = found
    return Response(200, body, kind.encode(), headers=list(_CONSOLE_HEADERS))


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {k: v for k, v in scope["headers"]}


async def _read_body(receive: Receive, headers: dict[bytes, bytes], cap: int) -> bytes:
    """The whole body, refusing more than ``cap`` bytes as early as possible."""
    length = headers.get(b"content-length")
    if length is not None and length.isdigit() and int(length) > cap:
        raise _too_large(cap)
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise _Disconnected
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > cap:
            raise _too_large(cap)
        if not message.get("more_body", False):
            if not chunks:
                return chunk
            chunks.append(chunk)
            return b"".join(chunks)
        chunks.append(chunk)


def _too_large(cap: int) -> PayloadTooLargeError:
    return PayloadTooLargeError(
        f"The request body exceeds the limit of {cap} bytes; send smaller batches "
        "(Pinecone allows at most 2 MB and 1000 records per upsert).",
        field="body",
    )


def _with_close(response: Response, headers: dict[bytes, bytes]) -> Response:
    """After refusing a chunked body unread, close the connection rather than drain an unbounded stream."""
    if response.status == 413 and b"content-length" not in headers:
        response.headers.append((b"connection", b"close"))
    return response


async def _send(send: Send, response: Response) -> None:
    out = [(b"content-length", str(len(response.body)).encode())]
    if response.body:
        out.append((b"content-type", response.content_type))
    out.extend(response.headers)
    await send({"type": "http.response.start", "status": response.status, "headers": out})
    await send({"type": "http.response.body", "body": response.body})
