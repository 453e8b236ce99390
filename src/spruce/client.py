"""The embedded API: ``spruce.Client(path=...)``, a thin facade over the engine shaped like the official
``pinecone`` SDK (method names, keyword arguments, result objects readable as ``r.matches`` or
``r["matches"]``), so code reads the same against either.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from spruce.engine import Database, IndexEngine
from spruce.engine.index import DEFAULT_FLUSH_ROWS
from spruce.engine.state import ANN_MIN_ROWS
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

__all__ = ["Client", "Index"]


class Index:
    """A handle on one index, with the SDK's data-plane methods."""

    def __init__(self, engine: IndexEngine) -> None:
        self._engine = engine

    @property
    def config(self) -> IndexConfig:
        return self._engine.config

    def upsert(self, vectors: Any, namespace: str = "") -> UpsertResponse:
        return self._engine.upsert(vectors, namespace)

    def query(
        self,
        *,
        top_k: int,
        vector: Any = None,
        id: str | None = None,
        namespace: str = "",
        filter: dict[str, Any] | None = None,
        include_values: bool = False,
        include_metadata: bool = False,
        ef: int | None = None,
    ) -> QueryResponse:
        """Like the SDK's ``query``; ``ef`` (spruce only) sets the HNSW search breadth, see the engine."""
        return self._engine.query(
            ef=ef,
            top_k=top_k,
            vector=vector,
            id=id,
            namespace=namespace,
            filter=filter,
            include_values=include_values,
            include_metadata=include_metadata,
        )

    def fetch(self, ids: list[str], namespace: str = "") -> FetchResponse:
        return self._engine.fetch(ids, namespace)

    def fetch_by_metadata(
        self,
        filter: dict[str, Any],
        namespace: str = "",
        limit: int | None = None,
        pagination_token: str | None = None,
    ) -> FetchByMetadataResponse:
        return self._engine.fetch_by_metadata(filter, namespace, limit, pagination_token)

    def update(
        self,
        id: str | None = None,
        values: Any = None,
        set_metadata: dict[str, Any] | None = None,
        namespace: str = "",
        filter: dict[str, Any] | None = None,
        dry_run: bool = False,
    ) -> UpdateResponse:
        return self._engine.update(
            id=id,
            values=values,
            set_metadata=set_metadata,
            namespace=namespace,
            filter=filter,
            dry_run=dry_run,
        )

    def delete(
        self,
        ids: list[str] | None = None,
        delete_all: bool = False,
        namespace: str = "",
        filter: dict[str, Any] | None = None,
    ) -> WriteResponse:
        return self._engine.delete(ids=ids, delete_all=delete_all, namespace=namespace, filter=filter)

    def list_paginated(
        self,
        prefix: str | None = None,
        limit: int | None = None,
        pagination_token: str | None = None,
        namespace: str = "",
    ) -> ListResponse:
        return self._engine.list_paginated(prefix, limit, pagination_token, namespace)

    def list(
        self, prefix: str | None = None, limit: int | None = None, namespace: str = ""
    ) -> Iterator[list[str]]:
        """Yield pages of ids, like the SDK's ``Index.list`` generator."""
        token: str | None = None
        while True:
            page = self.list_paginated(
                prefix=prefix, limit=limit, pagination_token=token, namespace=namespace
            )
            if page.vectors:
                yield [v.id for v in page.vectors]
            if page.pagination is None:
                return
            token = page.pagination.next

    def describe_index_stats(self, filter: dict[str, Any] | None = None) -> IndexStats:
        return self._engine.describe_index_stats(filter)

    def list_namespaces_paginated(
        self, prefix: str | None = None, limit: int | None = None, pagination_token: str | None = None
    ) -> ListNamespacesResponse:
        return self._engine.list_namespaces(prefix, limit, pagination_token)

    def list_namespaces(
        self, prefix: str | None = None, limit: int | None = None
    ) -> Iterator[NamespaceDescription]:
        token: str | None = None
        while True:
            page = self._engine.list_namespaces(prefix, limit, token)
            yield from page.namespaces
            if page.pagination is None:
                return
            token = page.pagination.next

    def describe_namespace(self, namespace: str) -> NamespaceDescription:
        return self._engine.describe_namespace(namespace)

    def create_namespace(self, name: str) -> NamespaceDescription:
        return self._engine.create_namespace(name)

    def delete_namespace(self, namespace: str) -> WriteResponse:
        return self._engine.delete_namespace(namespace)


class Client:
    """An embedded spruce database in a local directory (created if missing, locked while open)."""

    def __init__(
        self,
        path: str | os.PathLike[str] = "./spruce-data",
        *,
        flush_rows: int = DEFAULT_FLUSH_ROWS,
        ann_min_rows: int = ANN_MIN_ROWS,
    ) -> None:
        self._db = Database.open(path, flush_rows=flush_rows, ann_min_rows=ann_min_rows)

    @property
    def database(self) -> Database:
        return self._db

    def create_index(
        self,
        name: str,
        dimension: int,
        metric: str = "cosine",
        spec: dict[str, Any] | None = None,
        deletion_protection: str = "disabled",
        tags: dict[str, str] | None = None,
        vector_type: str = "dense",
    ) -> IndexConfig:
        return self._db.create_index(name, dimension, metric, spec, deletion_protection, tags, vector_type)

    def list_indexes(self) -> list[IndexConfig]:
        return self._db.list_indexes()

    def describe_index(self, name: str) -> IndexConfig:
        return self._db.describe_index(name)

    def has_index(self, name: str) -> bool:
        return self._db.has_index(name)

    def configure_index(
        self, name: str, deletion_protection: str | None = None, tags: dict[str, str] | None = None
    ) -> IndexConfig:
        return self._db.configure_index(name, deletion_protection, tags)

    def delete_index(self, name: str) -> None:
        self._db.delete_index(name)

    def Index(self, name: str) -> Index:
        return Index(self._db.index(name))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
