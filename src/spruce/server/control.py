"""Control-plane handlers: ``/indexes`` CRUD and configure.

Each handler decodes the wire shape, calls one engine method, and encodes the index model in the shape
the caller's API version expects (see :mod:`spruce.server.index_model`). Creating and deleting an index
also opens and closes its own port (:mod:`spruce.server.ports`), whose address the model's ``host`` names.
"""

from __future__ import annotations

from spruce.errors import InvalidArgumentError
from spruce.server.config import Context
from spruce.server.http import Request, Response, json_response
from spruce.server.index_model import index_model, is_schema_api, parse_classic_create, parse_schema_create
from spruce.server.wire import json_object
from spruce.types import IndexConfig

__all__ = ["configure_index", "create_index", "delete_index", "describe_index", "list_indexes"]


def _host(ctx: Context, req: Request, cfg: IndexConfig) -> str:
    port = ctx.ports.port_of(cfg.name)
    if port is None and ctx.shared:
        port = ctx.ports.open(cfg)  # created by another process on the same store
    return ctx.config.index_host(cfg.name, port, req.host_header)


def _model(ctx: Context, req: Request, cfg: IndexConfig, status: int = 200) -> Response:
    return json_response(index_model(cfg, _host(ctx, req, cfg), req.api_version), status)


def list_indexes(ctx: Context, req: Request) -> Response:
    models = [index_model(cfg, _host(ctx, req, cfg), req.api_version) for cfg in ctx.db.list_indexes()]
    return json_response({"indexes": models})


def create_index(ctx: Context, req: Request) -> Response:
    body = json_object(req.body)
    parse = parse_schema_create if is_schema_api(req.api_version) else parse_classic_create
    args = parse(body)
    if args.schema is not None:
        cfg = ctx.db.create_from_schema(
            args.name,
            args.schema,
            spec=args.spec,
            deletion_protection=args.deletion_protection,
            tags=args.tags,
        )
        ctx.ports.open(cfg)
        return _model(ctx, req, cfg, 201)
    cfg = ctx.db.create_index(
        args.name,
        dimension=args.dimension,
        metric=args.metric,
        spec=args.spec,
        deletion_protection=args.deletion_protection,
        tags=args.tags,
        vector_type=args.vector_type,
    )
    ctx.ports.open(cfg)
    return _model(ctx, req, cfg, 201)


def describe_index(ctx: Context, req: Request) -> Response:
    return _model(ctx, req, ctx.db.describe_index(req.params["name"]))


_CONFIGURABLE = {"deletion_protection", "tags", "spec", "deployment", "embed", "schema", "read_capacity"}
_FIXED = {"dimension", "metric", "name", "vector_type", "cloud", "region"}


def configure_index(ctx: Context, req: Request) -> Response:
    """PATCH: deletion protection and tags. Replica/pod-size/read-capacity changes have no effect here."""
    body = json_object(req.body, empty_ok=True)
    if body.get("schema") is not None:
        raise InvalidArgumentError("an index's schema cannot change once it exists", field="schema")
    for key in body:
        if key not in _CONFIGURABLE:
            what = "cannot change once the index exists" if key in _FIXED else "is not a setting of an index"
            raise InvalidArgumentError(f"{key} {what}", field=key)
    # pod settings: classic ``spec.pod``, or 2026-07's ``deployment`` (SDK 10.x sends its replicas/pod_type)
    spec = body.get("spec")
    pod = spec.get("pod") if isinstance(spec, dict) else None
    if pod is None and isinstance(body.get("deployment"), dict):
        pod = body["deployment"]
    cfg = ctx.db.configure_index(
        req.params["name"],
        replicas=pod.get("replicas") if isinstance(pod, dict) else None,
        pod_type=pod.get("pod_type") if isinstance(pod, dict) else None,
        deletion_protection=body.get("deletion_protection"),
        tags=body.get("tags"),
        embed=body.get("embed"),
    )
    return _model(ctx, req, cfg, 202)


def delete_index(ctx: Context, req: Request) -> Response:
    ctx.db.delete_index(req.params["name"])
    ctx.ports.close(req.params["name"])
    return Response(202, b"")
