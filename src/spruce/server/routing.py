"""The route table and a tiny matcher over percent-decoded path segments.

Paths are split on ``/`` *before* percent-decoding, so a namespace named ``a/b`` (sent as ``a%2Fb``) stays
one segment; empty segments are dropped, which makes ``//vectors/upsert`` (SDK 7.x with a host ending in
``/``) and a trailing slash harmless. The table is also the source of truth for ``/openapi.json``: a test
checks that both describe the same operations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from spruce.errors import MethodNotAllowedError, NotFoundError
from spruce.server import control, data, namespaces
from spruce.server.config import Context
from spruce.server.http import Request, Response

__all__ = ["ROUTES", "Handler", "Route", "ShortWhen", "always", "match", "split_path"]

Handler = Callable[[Context, Request], Response]
ShortWhen = Callable[[Request], bool]


def always(req: Request) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Route:
    """One operation: ``{name}`` segments of ``pattern`` become path parameters.

    ``short``: for reads only, tells from the request whether it is short enough to run on the event loop
    (see :mod:`spruce.server.app`); ``None`` (writes, control plane) always runs in the worker pool.
    """

    method: str
    pattern: tuple[str, ...]
    handler: Handler
    operation_id: str
    short: ShortWhen | None = None

    @property
    def data_plane(self) -> bool:
        return self.pattern[0] == "index"

    @property
    def path(self) -> str:
        return "/" + "/".join(self.pattern)


def _r(method: str, path: str, handler: Handler, short: ShortWhen | None = None) -> Route:
    return Route(method, tuple(path.strip("/").split("/")), handler, handler.__name__, short)


_DP = "/index/{index}"

ROUTES: tuple[Route, ...] = (
    _r("GET", "/indexes", control.list_indexes),
    _r("POST", "/indexes", control.create_index),
    _r("GET", "/indexes/{name}", control.describe_index),
    _r("PATCH", "/indexes/{name}", control.configure_index),
    _r("DELETE", "/indexes/{name}", control.delete_index),
    _r("POST", f"{_DP}/vectors/upsert", data.upsert),
    _r("POST", f"{_DP}/query", data.query, data.short_query),
    _r("GET", f"{_DP}/vectors/fetch", data.fetch, data.short_fetch),
    _r("POST", f"{_DP}/vectors/fetch_by_metadata", data.fetch_by_metadata),
    _r("POST", f"{_DP}/vectors/update", data.update),
    _r("POST", f"{_DP}/vectors/delete", data.delete),
    _r("GET", f"{_DP}/vectors/list", data.list_vectors, always),
    _r("POST", f"{_DP}/describe_index_stats", data.describe_index_stats, data.short_stats),
    Route(
        "GET",
        ("index", "{index}", "describe_index_stats"),
        data.describe_index_stats,
        "describe_index_stats_get",
        data.short_stats,
    ),
    _r("GET", f"{_DP}/namespaces", namespaces.list_namespaces),
    _r("POST", f"{_DP}/namespaces", namespaces.create_namespace),
    _r("GET", f"{_DP}/namespaces/{{namespace}}", namespaces.describe_namespace),
    _r("DELETE", f"{_DP}/namespaces/{{namespace}}", namespaces.delete_namespace),
)


def split_path(raw_path: bytes) -> list[str]:
    """Non-empty path segments, each percent-decoded on its own."""
    return [unquote(seg) for seg in raw_path.decode("latin-1").split("/") if seg]


def _bind(pattern: tuple[str, ...], segments: list[str]) -> dict[str, str] | None:
    params: dict[str, str] = {}
    for pat, seg in zip(pattern, segments, strict=True):
        if pat[0] == "{":
            params[pat[1:-1]] = seg
        elif pat != seg:
            return None
    return params


def match(
    method: str, segments: list[str], routes: tuple[Route, ...] = ROUTES
) -> tuple[Route, dict[str, str]]:
    """The route and path parameters for a request; :class:`~spruce.errors.NotFoundError` for an unknown
    path, :class:`~spruce.errors.MethodNotAllowedError` for a known path asked with another method."""
    allowed: list[str] = []
    for route in routes:
        if len(route.pattern) != len(segments):
            continue
        params = _bind(route.pattern, segments)
        if params is None:
            continue
        if route.method == method:
            return route, params
        allowed.append(route.method)
    path = "/" + "/".join(segments)
    if allowed:
        raise MethodNotAllowedError(
            f"Method {method} is not allowed on {path}; use {', '.join(allowed)}.", allowed=tuple(allowed)
        )
    raise NotFoundError(f"spruce serves no route {method} {path}.")
