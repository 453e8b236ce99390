"""The route table and a tiny matcher over percent-decoded path segments.

Paths are split on ``/`` *before* percent-decoding, so a namespace named ``a/b`` (sent as ``a%2Fb``) stays
one segment; empty segments are dropped, which makes ``//vectors/upsert`` (SDK 7.x with a host ending in
``/``) and a trailing slash harmless. The table is also the one source of ``/openapi.json``: each route
names its request body, query parameters and response as types of :mod:`spruce.server.bodies`, and
:mod:`spruce.server.openapi` builds the document from exactly these entries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from spruce.errors import MethodNotAllowedError, NotFoundError
from spruce.server import bodies, control, data, documents, namespaces
from spruce.server import unsupported as _no
from spruce.server.config import Context
from spruce.server.http import Request, Response

__all__ = ["ROUTES", "UNSUPPORTED", "Handler", "Route", "ShortWhen", "always", "match", "split_path"]

Handler = Callable[[Context, Request], Response]
ShortWhen = Callable[[Request], bool]


def always(req: Request) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Route:
    """One operation: ``{name}`` segments of ``pattern`` become path parameters.

    ``short``: for reads only, tells from the request whether it is short enough to run on the event loop
    (see :mod:`spruce.server.app`); ``None`` (writes, control plane) always runs in the worker pool.
    ``body``, ``params`` and ``response`` are the :mod:`~spruce.server.bodies` types of the request body,
    the query parameters and the success body (``None``: there is none; a tuple: any one of these
    types, as the request's API version chooses); ``status`` is the success
    status, ``errors`` the statuses beyond those every route can answer (``spruce.server.openapi``).
    """

    method: str
    pattern: tuple[str, ...]
    handler: Handler
    operation_id: str
    short: ShortWhen | None = None
    body: Any = None
    body_required: bool = True
    params: Any = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    reads: bool = False  # changes nothing: allowed with the read-only API key (default: GET routes)

    @property
    def data_plane(self) -> bool:
        return self.pattern[0] == "index"

    @property
    def path(self) -> str:
        return "/" + "/".join(self.pattern)


def _r(method: str, path: str, handler: Handler, **kw: Any) -> Route:
    kw.setdefault("operation_id", handler.__name__)
    kw.setdefault("reads", method == "GET")
    return Route(method, tuple(path.strip("/").split("/")), handler, **kw)


_DP = "/index/{index}"
_DOCS = f"{_DP}/namespaces/{{namespace}}/documents"
_MODEL = bodies.IndexModel

ROUTES: tuple[Route, ...] = (
    _r("GET", "/indexes", control.list_indexes, response=bodies.IndexList),
    _r(
        "POST",
        "/indexes",
        control.create_index,
        body=(bodies.CreateIndexClassic, bodies.CreateIndexSchema),
        response=_MODEL,
        status=201,
        errors=(403, 409),
    ),
    _r("GET", "/indexes/{name}", control.describe_index, response=_MODEL),
    _r(
        "PATCH",
        "/indexes/{name}",
        control.configure_index,
        body=bodies.ConfigureIndexRequest,
        response=_MODEL,
        status=202,
    ),
    _r("DELETE", "/indexes/{name}", control.delete_index, status=202, errors=(403,)),
    _r(
        "POST",
        f"{_DP}/vectors/upsert",
        data.upsert,
        body=bodies.UpsertRequest,
        response=bodies.UpsertResponse,
    ),
    _r(
        "POST",
        f"{_DP}/query",
        data.query,
        reads=True,
        short=data.short_query,
        body=bodies.QueryRequest,
        response=bodies.QueryResponse,
    ),
    _r(
        "GET",
        f"{_DP}/vectors/fetch",
        data.fetch,
        short=data.short_fetch,
        params=bodies.FetchParams,
        response=bodies.FetchResponse,
    ),
    _r(
        "POST",
        f"{_DP}/vectors/fetch_by_metadata",
        data.fetch_by_metadata,
        reads=True,
        body=bodies.FetchByMetadataRequest,
        response=bodies.FetchByMetadataResponse,
    ),
    _r(
        "POST",
        f"{_DP}/vectors/update",
        data.update,
        body=bodies.UpdateRequest,
        response=bodies.UpdateResponse,
    ),
    _r("POST", f"{_DP}/vectors/delete", data.delete, body=bodies.DeleteRequest, response=bodies.Empty),
    _r(
        "GET",
        f"{_DP}/vectors/list",
        data.list_vectors,
        short=always,
        params=bodies.ListParams,
        response=bodies.ListResponse,
    ),
    _r(
        "POST",
        f"{_DP}/describe_index_stats",
        data.describe_index_stats,
        reads=True,
        short=data.short_stats,
        body=bodies.DescribeIndexStatsRequest,
        body_required=False,
        response=bodies.IndexStats,
    ),
    _r(
        "GET",
        f"{_DP}/describe_index_stats",
        data.describe_index_stats,
        operation_id="describe_index_stats_get",
        short=data.short_stats,
        response=bodies.IndexStats,
    ),
    _r("GET", f"{_DP}/spruce/storage", data.storage, response=bodies.IndexStorage),
    _r(
        "GET",
        f"{_DP}/namespaces",
        namespaces.list_namespaces,
        params=bodies.ListNamespacesParams,
        response=bodies.ListNamespacesResponse,
    ),
    _r(
        "POST",
        f"{_DP}/namespaces",
        namespaces.create_namespace,
        body=bodies.CreateNamespaceRequest,
        response=bodies.NamespaceDescription,
        errors=(409,),
    ),
    _r(
        "GET",
        f"{_DP}/namespaces/{{namespace}}",
        namespaces.describe_namespace,
        response=bodies.NamespaceDescription,
    ),
    _r("DELETE", f"{_DP}/namespaces/{{namespace}}", namespaces.delete_namespace, response=bodies.Empty),
    *(
        _r(
            "POST",
            f"{_DOCS}/{verb}",
            handler,
            operation_id=f"{verb}_documents",
            body=body,
            body_required=verb != "list",
            response=response,
            reads=verb in ("search", "fetch", "list"),
        )
        for verb, handler, body, response in (
            ("upsert", documents.upsert, bodies.UpsertDocumentsRequest, bodies.UpsertDocumentsResponse),
            ("search", documents.search, bodies.SearchDocumentsRequest, bodies.SearchDocumentsResponse),
            ("fetch", documents.fetch, bodies.FetchDocumentsRequest, bodies.FetchDocumentsResponse),
            ("delete", documents.delete, bodies.DeleteDocumentsRequest, bodies.MatchedRecords),
            ("update", documents.update, bodies.UpdateDocumentsRequest, bodies.MatchedRecords),
            ("list", documents.list_documents, bodies.ListDocumentsRequest, bodies.ListDocumentsResponse),
        )
    ),
)


_NO_INFERENCE = (
    "spruce embeds nothing: create an index with a dimension and upsert vectors, or a document index "
    "with a schema (the Documents API) for full-text search"
)
_EMPTY: dict[str, Any] = {"data": []}


def _unsupported(method: str, path: str, feature: str, op: str, hint: str = "") -> Route:
    return _r(method, path, _no.not_supported(feature, hint), operation_id=op, status=501)


def _empty(path: str, body: dict[str, Any], response: Any, op: str) -> Route:
    return _r("GET", path, _no.empty_list(body), operation_id=op, response=response)


def _absent(method: str, path: str, kind: str, param: str, op: str) -> Route:
    return _r(method, path, _no.absent(kind, param), operation_id=op, status=404)


# Pinecone's routes for features spruce has not yet (``spruce.server.unsupported``): 501 naming the
# feature, empty listings, 404 for one by id.
UNSUPPORTED: tuple[Route, ...] = (
    _unsupported(
        "POST", "/indexes/create-for-model", "integrated embedding", "create_index_for_model", _NO_INFERENCE
    ),
    _unsupported("POST", "/embed", "inference (embed)", "embed", _NO_INFERENCE),
    _unsupported("POST", "/rerank", "inference (rerank)", "rerank"),
    _empty("/models", {"models": []}, bodies.ModelList, "list_models"),
    _absent("GET", "/models/{model}", "model", "model", "describe_model"),
    _unsupported("POST", "/collections", "collections", "create_collection"),
    _empty("/collections", {"collections": []}, bodies.CollectionList, "list_collections"),
    _absent("GET", "/collections/{collection}", "collection", "collection", "describe_collection"),
    _absent("DELETE", "/collections/{collection}", "collection", "collection", "delete_collection"),
    _unsupported("POST", "/indexes/{name}/backups", "backups", "create_backup"),
    _empty("/indexes/{name}/backups", _EMPTY, bodies.ListData, "list_index_backups"),
    _empty("/backups", _EMPTY, bodies.ListData, "list_backups"),
    _absent("GET", "/backups/{backup}", "backup", "backup", "describe_backup"),
    _absent("DELETE", "/backups/{backup}", "backup", "backup", "delete_backup"),
    _absent("POST", "/backups/{backup}/create-index", "backup", "backup", "create_index_from_backup"),
    _empty("/restore-jobs", _EMPTY, bodies.ListData, "list_restore_jobs"),
    _absent("GET", "/restore-jobs/{job}", "restore job", "job", "describe_restore_job"),
    _unsupported("POST", "/indexes/{name}/backup-schedules", "backup schedules", "create_backup_schedule"),
    _empty("/indexes/{name}/backup-schedules", _EMPTY, bodies.ListData, "list_backup_schedules"),
    *(
        _absent(
            method, "/backup-schedules/{schedule}", "backup schedule", "schedule", f"{verb}_backup_schedule"
        )
        for method, verb in (("GET", "describe"), ("PATCH", "update"), ("DELETE", "delete"))
    ),
    _absent(
        "GET",
        "/backup-schedules/{schedule}/history",
        "backup schedule",
        "schedule",
        "backup_schedule_history",
    ),
    _unsupported(
        "POST",
        f"{_DP}/records/namespaces/{{namespace}}/upsert",
        "integrated embedding (upsert_records)",
        "upsert_records",
        _NO_INFERENCE,
    ),
    _unsupported(
        "POST",
        f"{_DP}/records/namespaces/{{namespace}}/search",
        "integrated embedding (search_records)",
        "search_records",
        _NO_INFERENCE,
    ),
    _unsupported("POST", f"{_DP}/bulk/imports", "bulk import", "start_import"),
    _empty(f"{_DP}/bulk/imports", _EMPTY, bodies.ListData, "list_imports"),
    _absent("GET", f"{_DP}/bulk/imports/{{import_id}}", "import", "import_id", "describe_import"),
    _absent("DELETE", f"{_DP}/bulk/imports/{{import_id}}", "import", "import_id", "cancel_import"),
)
ROUTES += UNSUPPORTED


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
