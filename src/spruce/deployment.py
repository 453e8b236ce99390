"""Where an index "runs": the classic ``spec`` spruce stores (``{"serverless": …}``, ``{"pod": …}``,
``{"byoc": …}``) and the 2026-07 ``deployment`` object it is shown as and created from.

Both shapes are recorded and reported as given; spruce runs every index the same way. Shared by the
server's index models (``spruce.server.index_model``) and the embedded ``indexes`` namespace
(``spruce.engine.indexes``), so both read a deployment alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spruce.errors import InvalidArgumentError

__all__ = ["classic_spec", "deployment_from_spec", "spec_from_deployment"]

_SERVERLESS_DEFAULT = {"serverless": {"cloud": "aws", "region": "us-east-1"}}


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


def spec_from_deployment(deployment: Mapping[str, Any] | None) -> dict[str, Any]:
    """The classic spec stored for a 2026-07 ``deployment`` (managed: serverless; pod; byoc)."""
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


def _check_types(deployment: Mapping[str, Any]) -> None:
    for key, kind in _DEPLOYMENT_TYPES.items():
        value = deployment.get(key)
        if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
            what = "a string" if kind is str else "an integer"
            raise InvalidArgumentError(f"deployment.{key} must be {what}.", field=f"deployment.{key}")
