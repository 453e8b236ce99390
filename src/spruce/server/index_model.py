"""The control-plane index model in both shapes, and the create-request shapes that produce it.

Which shape is spoken depends on ``X-Pinecone-Api-Version``: ``>= "2026-07"`` (SDK 10.x) uses the
schema/deployment model, anything older or missing the classic model (SDK 7.x/9.x). Each SDK rejects the
other's shape, so every index-model response goes through :func:`index_model`.

The engine stores ``spec`` in the classic form (``{"serverless": …}``, ``{"pod": …}``); the 2026-07
``deployment`` is derived from it on the way out, and translated into it on the way in.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

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
_SERVERLESS_DEFAULT = {"serverless": {"cloud": "aws", "region": "us-east-1"}}


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
    documents: Any = None  # a document index's schema (``spruce.docschema``), as sent


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
    fields: dict[str, Any] = {"_sparse_values": {"type": "sparse_vector"}}
    if cfg.documents is not None:
        fields = {
            name: {k: v for k, v in spec.items() if v is not None}
            for name, spec in cfg.documents["fields"].items()
        }
    elif cfg.vector_type != "sparse":
        fields = {
            "_values": {"type": "dense_vector", "dimension": cfg.dimension, "metric": cfg.metric},
            **fields,
        }
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


def classic_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The stored spec with every field a classic client requires filled in."""
    if isinstance(spec.get("pod"), Mapping):
        pod = spec["pod"]
        replicas, shards = _int_or(pod.get("replicas"), 1), _int_or(pod.get("shards"), 1)
        out = {
            "environment": str(pod.get("environment") or "us-east-1-aws"),
            "pod_type": str(pod.get("pod_type") or "p1.x1"),
            "pods": _int_or(pod.get("pods"), replicas * shards),
            "replicas": replicas,
            "shards": shards,
        }
        for key in ("metadata_config", "source_collection"):
            if pod.get(key) is not None:
                out[key] = pod[key]
        return {"pod": out}
    if isinstance(spec.get("byoc"), Mapping):
        return {"byoc": {"environment": str(spec["byoc"].get("environment") or "")}}
    serverless = spec.get("serverless")
    if isinstance(serverless, Mapping):
        return {
            "serverless": {
                "cloud": str(serverless.get("cloud") or "aws"),
                "region": str(serverless.get("region") or "us-east-1"),
            }
        }
    return {"serverless": dict(_SERVERLESS_DEFAULT["serverless"])}


def deployment_from_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The 2026-07 ``deployment`` object equivalent to a classic spec."""
    classic = classic_spec(spec)
    if "pod" in classic:
        pod = classic["pod"]
        return {
            "deployment_type": "pod",
            "environment": pod["environment"],
            "pod_type": pod["pod_type"],
            "replicas": pod["replicas"],
            "shards": pod["shards"],
        }
    if "byoc" in classic:
        return {"deployment_type": "byoc", "environment": classic["byoc"]["environment"]}
    return {"deployment_type": "managed", **classic["serverless"]}


def _int_or(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


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
    common: dict[str, Any] = {
        "name": name,
        "spec": _spec_from_deployment(opt_object(body, "deployment")),
        "deletion_protection": body.get("deletion_protection") or "disabled",
        "tags": body.get("tags") or None,
    }
    if fields and not any(key in ("_values", "_sparse_values") for key in fields):
        # a document index: the engine checks the schema (``spruce.docschema``)
        return CreateArgs(dimension=None, metric=None, vector_type=None, documents=schema, **common)
    dense, sparse = _vector_fields(fields)
    if dense is None:
        dimension, metric, vector_type = None, "dotproduct", "sparse" if sparse else "dense"
    else:
        dimension, metric, vector_type = dense.get("dimension"), dense.get("metric") or "cosine", "dense"
    return CreateArgs(dimension=dimension, metric=metric, vector_type=vector_type, **common)


def _vector_fields(fields: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The ``_values`` and ``_sparse_values`` fields of a vector index (a schema naming neither is a document
    index's; one naming them beside other fields is refused)."""
    if not fields:
        raise InvalidArgumentError(
            "schema.fields must define _values or _sparse_values.", field="schema.fields"
        )
    for key, value in fields.items():
        path = f"schema.fields.{key}"
        if key not in ("_values", "_sparse_values"):
            raise InvalidArgumentError(
                f"{path}: a vector index's schema holds only _values and _sparse_values; a document "
                "index's schema names its own fields and no reserved ones.",
                field=path,
            )
        if not isinstance(value, dict):
            raise InvalidArgumentError(f"{path} must be an object.", field=path)
        expected = "dense_vector" if key == "_values" else "sparse_vector"
        if value.get("type") != expected:
            raise InvalidArgumentError(f"{path}.type must be '{expected}'.", field=f"{path}.type")
    return fields.get("_values"), fields.get("_sparse_values")


def _spec_from_deployment(deployment: dict[str, Any] | None) -> dict[str, Any]:
    if deployment is None:
        return {"serverless": dict(_SERVERLESS_DEFAULT["serverless"])}
    kind = deployment.get("deployment_type", "managed")
    rest = {k: v for k, v in deployment.items() if k != "deployment_type"}
    _check_types(rest)
    if kind == "managed":
        return {"serverless": {"cloud": rest.get("cloud", "aws"), "region": rest.get("region", "us-east-1")}}
    if kind == "pod":
        replicas, shards = _int_or(rest.get("replicas"), 1), _int_or(rest.get("shards"), 1)
        return {"pod": {**rest, "replicas": replicas, "shards": shards, "pods": replicas * shards}}
    if kind == "byoc":
        return {"byoc": rest}
    raise InvalidArgumentError(
        f"deployment.deployment_type must be managed, pod or byoc, got {kind!r}.",
        field="deployment.deployment_type",
    )


_DEPLOYMENT_TYPES = {
    "cloud": str,
    "region": str,
    "environment": str,
    "pod_type": str,
    "replicas": int,
    "shards": int,
}


def _check_types(deployment: dict[str, Any]) -> None:
    for key, kind in _DEPLOYMENT_TYPES.items():
        value = deployment.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            what = "a string" if kind is str else "an integer"
            raise InvalidArgumentError(f"deployment.{key} must be {what}.", field=f"deployment.{key}")
