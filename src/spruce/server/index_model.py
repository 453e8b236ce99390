"""The control-plane index model in both shapes, and the create-request shapes that produce it.

Which shape is spoken depends on ``X-Pinecone-Api-Version``: ``>= "2026-07"`` (SDK 10.x) uses the
schema/deployment model, anything older or missing the classic model (SDK 7.x/9.x). Each SDK rejects the
other's shape, so every index-model response goes through :func:`index_model`.

The engine stores ``spec`` in the classic form (``{"serverless": …}``, ``{"pod": …}``); the 2026-07
``deployment`` is derived from it on the way out, and translated into it on the way in.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from spruce.deployment import classic_spec, deployment_from_spec, spec_from_deployment
from spruce.errors import InvalidArgumentError, UnprocessableEntityError
from spruce.server.wire import opt_object, opt_str, require
from spruce.types import IndexConfig

__all__ = [
    "SCHEMA_API_VERSION",
    "CreateArgs",
    "index_model",
    "is_schema_api",
    "parse_classic_create",
    "parse_schema_create",
]

SCHEMA_API_VERSION = "2026-07"
_READY = {"ready": True, "state": "Ready"}


def is_schema_api(api_version: str) -> bool:
    """True for API versions that use the schema/deployment index model (string compare, as Pinecone)."""
    return api_version >= SCHEMA_API_VERSION


@dataclass(frozen=True, slots=True)
class CreateArgs:
    """The arguments of ``Database.create_index``, decoded from either wire shape."""

    name: str
    dimension: Any
    metric: Any
    spec: dict[str, Any]
    deletion_protection: Any
    tags: Any
    vector_type: Any
    schema: Any = None  # the 2026-07 ``schema`` as sent (``Database.create_from_schema`` reads it)


# ---------------------------------------------------------------- responses


def index_model(cfg: IndexConfig, host: str, api_version: str) -> dict[str, Any]:
    """The IndexModel body for ``cfg`` in the shape ``api_version`` expects; ``host`` is its data-plane
    host (:meth:`spruce.server.config.ServerConfig.index_host`)."""
    if is_schema_api(api_version):
        return _schema_model(cfg, host)
    return _classic_model(cfg, host)


def _classic_model(cfg: IndexConfig, host: str) -> dict[str, Any]:
    model: dict[str, Any] = {
        "name": cfg.name,
        "metric": cfg.metric,
        "vector_type": cfg.vector_type,
        "host": host,
        "spec": classic_spec(cfg.spec),
        "status": _READY,
        "deletion_protection": cfg.deletion_protection,
        "tags": dict(cfg.tags),
    }
    if cfg.vector_type != "sparse" and cfg.dimension:
        model["dimension"] = cfg.dimension
    return model


def _schema_model(cfg: IndexConfig, host: str) -> dict[str, Any]:
    deployment = deployment_from_spec(cfg.spec)
    fields = cfg.schema_fields()
    model: dict[str, Any] = {
        "name": cfg.name,
        "host": host,
        "status": _READY,
        "deployment": deployment,
        "schema": {"fields": fields},
        "deletion_protection": cfg.deletion_protection,
        "tags": dict(cfg.tags) if cfg.tags else None,
    }
    if deployment["deployment_type"] == "managed":
        model["read_capacity"] = {"mode": "OnDemand", "status": {"state": "Ready"}}
    return model


# ---------------------------------------------------------------- create requests


def parse_classic_create(body: dict[str, Any]) -> CreateArgs:
    """``POST /indexes`` in the classic shape (SDK 7.x/9.x)."""
    name = require(body, "name")
    spec = _classic_spec_in(require(body, "spec"))
    return CreateArgs(
        name=name,
        dimension=body.get("dimension"),
        metric=body.get("metric") or ("dotproduct" if body.get("vector_type") == "sparse" else "cosine"),
        spec=spec,
        deletion_protection=body.get("deletion_protection") or "disabled",
        tags=body.get("tags") or None,
        vector_type=body.get("vector_type") or "dense",
    )


def _classic_spec_in(spec: object) -> dict[str, Any]:
    if not isinstance(spec, dict):
        raise InvalidArgumentError(
            "spec must be an object with one of serverless, pod or byoc.", field="spec"
        )
    kinds = [k for k in ("serverless", "pod", "byoc") if spec.get(k) is not None]
    if len(kinds) != 1:
        raise InvalidArgumentError("spec must hold exactly one of serverless, pod or byoc.", field="spec")
    kind = kinds[0]
    inner = opt_object(spec, kind) or {}
    required = {"serverless": ("cloud", "region"), "pod": ("environment",), "byoc": ("environment",)}[kind]
    for key in required:
        if inner.get(key) is None:
            raise UnprocessableEntityError(
                f"Missing required field 'spec.{kind}.{key}'.", field=f"spec.{kind}"
            )
        if not isinstance(inner[key], str):
            raise InvalidArgumentError(f"spec.{kind}.{key} must be a string.", field=f"spec.{kind}.{key}")
    return {kind: inner}


def parse_schema_create(body: dict[str, Any]) -> CreateArgs:
    """``POST /indexes`` in the 2026-07 shape (SDK 10.x): ``schema.fields`` plus ``deployment``."""
    name = opt_str(body, "name") or f"index-{secrets.token_hex(4)}"
    schema = opt_object(body, "schema")
    if schema is None:
        raise UnprocessableEntityError("Missing required field 'schema' in the request body.", field="schema")
    fields = opt_object(schema, "fields")
    if fields is None:
        raise UnprocessableEntityError("Missing required field 'schema.fields'.", field="schema.fields")
    return CreateArgs(  # the engine reads the schema: a vector or a document index (``Database``)
        name=name,
        dimension=None,
        metric=None,
        spec=spec_from_deployment(opt_object(body, "deployment")),
        deletion_protection=body.get("deletion_protection") or "disabled",
        tags=body.get("tags") or None,
        vector_type=None,
        schema=schema,
    )
