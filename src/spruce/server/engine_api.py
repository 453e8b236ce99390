"""The slice of the engine the server calls, as structural types.

The server depends on behaviour, not on a class: writing the surface down here keeps the wire layer honest
about how little it needs (one engine method per request), and lets mypy check that the real
``spruce.engine.Database`` still fits whenever either side changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from spruce.types import (
    FetchByMetadataResponse,
    FetchResponse,
    IndexConfig,
    IndexStats,
    ListNamespacesResponse,
    ListResponse,
    NamespaceDescription,
    QueryResponse,
    UpdateResponse,
    UpsertResponse,
    WriteResponse,
)

__all__ = ["DatabaseLike", "IndexLike"]


class IndexLike(Protocol):
    """One open index: the data plane."""

    def upsert(self, vectors: Sequence[Any], namespace: str = "") -> UpsertResponse: ...

    def query(
        self,
        *,
        top_k: Any,
        vector: Any = None,
        id: Any = None,
        namespace: str = "",
        filter: Any = None,
        include_values: bool = False,
        include_metadata: bool = False,
        sparse_vector: Any = None,
        ef: Any = None,
    ) -> QueryResponse: ...

    def fetch(self, ids: Sequence[Any], namespace: str = "") -> FetchResponse: ...

    def fetch_by_metadata(
        self, filter: Any, namespace: str = "", limit: Any = None, pagination_token: Any = None
    ) -> FetchByMetadataResponse: ...

    def update(
        self,
        id: Any = None,
        values: Any = None,
        set_metadata: Any = None,
        namespace: str = "",
        filter: Any = None,
        dry_run: bool = False,
        sparse_values: Any = None,
    ) -> UpdateResponse: ...

    def delete(
        self, ids: Any = None, delete_all: bool = False, namespace: str = "", filter: Any = None
    ) -> WriteResponse: ...

    def list_paginated(
        self, prefix: Any = None, limit: Any = None, pagination_token: Any = None, namespace: str = ""
    ) -> ListResponse: ...

    def describe_index_stats(self, filter: Any = None) -> IndexStats: ...

    def list_namespaces(
        self, prefix: Any = None, limit: Any = None, pagination_token: Any = None
    ) -> ListNamespacesResponse: ...

    def describe_namespace(self, namespace: str) -> NamespaceDescription: ...

    def create_namespace(self, name: str) -> NamespaceDescription: ...

    def delete_namespace(self, namespace: str) -> WriteResponse: ...


class DatabaseLike(Protocol):
    """The store: the control plane, and the way to an index."""

    def create_index(
        self,
        name: str,
        dimension: Any,
        metric: str = "cosine",
        spec: Mapping[str, Any] | None = None,
        deletion_protection: str = "disabled",
        tags: Mapping[str, str] | None = None,
        vector_type: str = "dense",
    ) -> IndexConfig: ...

    def list_indexes(self) -> list[IndexConfig]: ...

    def describe_index(self, name: str) -> IndexConfig: ...

    def configure_index(
        self, name: str, deletion_protection: str | None = None, tags: Mapping[str, str] | None = None
    ) -> IndexConfig: ...

    def delete_index(self, name: str) -> None: ...

    def index(self, name: str) -> IndexLike: ...

    def close(self) -> None: ...
