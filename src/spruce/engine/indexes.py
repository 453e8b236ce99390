"""``db.indexes``: SDK 10.x's ``pc.indexes`` namespace for the embedded client, so control-plane code
written against Pinecone's current docs (``pc.indexes.create(schema=...)``, ``describe``, ``exists`` …)
runs in-process unchanged.

Each call is one of the database's own (:class:`spruce.api.ControlPlane`); a ``deployment`` is read as
the server reads it (``spruce.deployment``). Results are the engine's :class:`~spruce.types.IndexConfig`,
whose ``schema.fields`` is the index's schema as the server describes it.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Mapping
from typing import Any

from spruce.api import ControlPlane
from spruce.deployment import spec_from_deployment
from spruce.errors import InvalidArgumentError
from spruce.types import IndexConfig

__all__ = ["Indexes"]


class Indexes:
    """SDK 10.x's ``pc.indexes`` over a :class:`~spruce.api.ControlPlane` (see the module docstring)."""

    def __init__(self, db: ControlPlane) -> None:
        self._db = db

    def create(
        self,
        *,
        schema: Any = None,
        name: str | None = None,
        deployment: Mapping[str, Any] | None = None,
        read_capacity: Mapping[str, Any] | None = None,
        deletion_protection: str | None = None,
        tags: Mapping[str, str] | None = None,
        cmek_id: str | None = None,
        timeout: int | None = None,
        spec: Any = None,
        dimension: int | None = None,
        metric: str | None = None,
        vector_type: str | None = None,
    ) -> IndexConfig:
        """A new index: from ``schema`` (a vector or a document index), or from the legacy ``dimension``
        / ``metric`` / ``vector_type``. ``read_capacity`` and ``cmek_id`` are accepted and change nothing.
        Without ``name``, one is made up (``index-<8 hex>``), as Pinecone does."""
        if deployment is not None and spec is not None:
            raise InvalidArgumentError("give either deployment or spec, not both", field="deployment")
        where = spec if spec is not None else spec_from_deployment(deployment)
        index_name = name if name is not None else f"index-{secrets.token_hex(4)}"
        if schema is not None:
            if dimension is not None or metric is not None or vector_type is not None:
                raise InvalidArgumentError(
                    "give either schema or dimension/metric/vector_type, not both", field="schema"
                )
            raw = schema.to_dict() if callable(getattr(schema, "to_dict", None)) else schema
            return self._db.create_from_schema(index_name, raw, where, deletion_protection, tags)
        return self._db.create_index(
            index_name,
            spec=where,
            dimension=dimension,
            metric=metric,
            deletion_protection=deletion_protection,
            vector_type=vector_type,
            tags=tags,
        )

    def describe(self, name: str) -> IndexConfig:
        return self._db.describe_index(name)

    def list(self, *, limit: int | None = None, pagination_token: str | None = None) -> Iterator[IndexConfig]:
        """Every index, in creation order (one page: an embedded store has no page limit)."""
        return iter(list(self._db.list_indexes()))

    def exists(self, name: str) -> bool:
        return self._db.has_index(name)

    def delete(self, name: str, *, timeout: int | None = None) -> None:
        self._db.delete_index(name, timeout=timeout)

    def configure(
        self,
        name: str,
        *,
        deployment: Mapping[str, Any] | None = None,
        schema: Any = None,
        read_capacity: Mapping[str, Any] | None = None,
        deletion_protection: str | None = None,
        tags: Mapping[str, str] | None = None,
        replicas: int | None = None,
        pod_type: str | None = None,
        serverless_read_capacity: Mapping[str, Any] | None = None,
    ) -> IndexConfig:
        """Deletion protection and tags; an index's schema cannot change once it exists (refused), and
        capacity settings change nothing in one process."""
        if schema is not None:
            raise InvalidArgumentError("an index's schema cannot change once it exists", field="schema")
        return self._db.configure_index(
            name,
            replicas=replicas,
            pod_type=pod_type,
            deletion_protection=deletion_protection,
            tags=tags,
            read_capacity=read_capacity,
            serverless_read_capacity=serverless_read_capacity,
        )
