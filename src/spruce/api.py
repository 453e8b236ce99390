"""The one declaration of spruce's operations: what the engine implements and every face reaches.

``DataPlane`` is one index's record and namespace operations, ``ControlPlane`` the store's index
operations. Names, keyword arguments, their defaults and the result shapes follow the official SDK 10.x
(``pinecone.Index`` and ``pinecone.Pinecone``), so code written for Pinecone runs unchanged against the
embedded client; ``tests/unit/test_api_matches_sdk.py`` compares these signatures with the installed SDK's
and fails on drift. The engine (:class:`spruce.engine.IndexEngine`, :class:`spruce.engine.Database`)
subclasses these Protocols, so mypy checks it against them; the embedded client *is* the engine, and the
server's handlers are typed against the Protocols only (they never import the engine).

Arguments are typed as what a caller may hand in; the engine validates every value and raises
:class:`~spruce.errors.InvalidArgumentError` naming the field and the limit. Where spruce differs from the
SDK it is on purpose and listed in that test:

- the first argument of most calls may also be passed positionally (the SDK's are keyword-only), and the
  namespace calls accept the SDK's legacy ``namespace=`` beside ``name=``;
- ``timeout``, ``total_timeout``, ``show_progress`` and ``max_concurrency`` are accepted and mean nothing
  in-process (a call does not time out; the server has its own limits);
- ``query(ef=...)`` is spruce's name for HNSW's search breadth (the SDK's ``max_candidates``);
- writes return the log sequence number they were written at (``lsn``) where the SDK returns ``None``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Protocol

from spruce.docschema import DocumentSchema
from spruce.doctypes import (
    DeleteDocumentsResponse,
    FetchDocumentsResponse,
    ListDocumentsResponse,
    SearchDocumentsResponse,
    UpdateDocumentsResponse,
    UpsertDocumentsResponse,
)
from spruce.types import (
    FetchByMetadataResponse,
    FetchResponse,
    IndexConfig,
    IndexList,
    IndexStats,
    IndexStorage,
    ListNamespacesResponse,
    ListResponse,
    NamespaceDescription,
    QueryResponse,
    UpdateResponse,
    UpsertResponse,
    WriteResponse,
)

__all__ = ["ControlPlane", "DataPlane", "DocumentPlane"]


class DocumentPlane(Protocol):
    """A document index's Documents API (SDK 10.x ``index.documents``; ``spruce.engine.documents``).
    Every argument is keyword-only and ``namespace`` is required, as in the SDK."""

    @property
    def schema(self) -> DocumentSchema:
        """The index's searched fields."""
        ...

    def upsert(
        self, *, namespace: str, documents: Sequence[Mapping[str, Any]], timeout: float | None = None
    ) -> UpsertDocumentsResponse:
        """Insert or replace whole documents (at most 1,000), as one durable write."""
        ...

    def search(
        self,
        *,
        namespace: str,
        score_by: Sequence[Mapping[str, Any]],
        top_k: int,
        include_fields: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> SearchDocumentsResponse:
        """The ``top_k`` best documents by the ``score_by`` clauses that pass ``filter``."""
        ...

    def fetch(
        self,
        *,
        namespace: str,
        ids: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        include_fields: Sequence[str] | None = None,
        pagination_token: str | None = None,
        limit: int | None = None,
        timeout: float | None = None,
    ) -> FetchDocumentsResponse:
        """Documents by ids, or a page of those matching ``filter``."""
        ...

    def delete(
        self,
        *,
        namespace: str,
        ids: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,
        delete_all: bool = False,
        timeout: float | None = None,
    ) -> DeleteDocumentsResponse:
        """By ids, by filter, or every document of the namespace."""
        ...

    def update(
        self,
        *,
        namespace: str,
        documents: Sequence[Mapping[str, Any]] | None = None,
        filter: Mapping[str, Any] | None = None,
        set_fields: Mapping[str, Any] | None = None,
        remove_fields: Sequence[str] | None = None,
        timeout: float | None = None,
    ) -> UpdateDocumentsResponse:
        """Partial updates, per document or by filter."""
        ...

    def list_page(
        self,
        *,
        namespace: str,
        prefix: str | None = None,
        limit: int | None = None,
        pagination_token: str | None = None,
        timeout: float | None = None,
    ) -> ListDocumentsResponse:
        """One page of document ids in id order."""
        ...


class DataPlane(Protocol):
    """One index: records and namespaces. ``list`` and ``list_namespaces`` are written here, once, on top
    of their paginated forms."""

    @property
    def documents(self) -> DocumentPlane:
        """A document index's Documents API (refused on a vector index)."""
        ...

    @property
    def lsn(self) -> int:
        """The LSN of the newest write this index has applied: every read from now on reflects it (the
        REST face reports it as ``x-pinecone-lsn-reconciled``, a write's own as ``-committed``)."""
        ...

    @property
    def behind(self) -> str | None:
        """Why the last read could not sync with a shared store (it answered from what was applied), or
        None (the REST face's ``x-spruce-stale``)."""
        ...

    def reading(self, min_lsn: int | None = None) -> AbstractContextManager[int]:
        """A read made of the calls inside the context, at the LSN it yields: the read barrier runs once,
        on entry (every write any process acknowledged before is applied; ``min_lsn``: that LSN at least),
        and reads inside do not sync again."""
        ...

    def upsert(
        self,
        vectors: Sequence[Any],
        namespace: str = "",
        batch_size: int | None = None,
        show_progress: bool = True,
        max_concurrency: int = 8,
        timeout: float | None = None,
        total_timeout: float | None = None,
    ) -> UpsertResponse:
        """Insert or overwrite records, whole: (id, values), (id, values, metadata), dicts or Vector-likes.
        Without ``batch_size`` the batch is one atomic, durable write; with it, one write per slice."""
        ...

    def query(
        self,
        *,
        top_k: int,
        vector: Sequence[float] | None = None,
        id: str | None = None,
        namespace: str = "",
        filter: Mapping[str, Any] | None = None,
        include_values: bool = False,
        include_metadata: bool = False,
        sparse_vector: Any = None,
        scan_factor: float | None = None,
        max_candidates: int | None = None,
        timeout: float | None = None,
        ef: int | None = None,
    ) -> QueryResponse:
        """The ``top_k`` records nearest ``vector`` (or the stored record ``id``) that pass ``filter``.
        ``max_candidates`` (alias ``ef``) or ``scan_factor`` (0.5 to 4, scaling the default) trade recall
        for speed on large segments."""
        ...

    def fetch(self, ids: Sequence[str], namespace: str = "", timeout: float | None = None) -> FetchResponse:
        """The records with these ids; missing ids are left out."""
        ...

    def fetch_by_metadata(
        self,
        filter: Mapping[str, Any],
        namespace: str = "",
        limit: int | None = None,
        pagination_token: str | None = None,
        timeout: float | None = None,
    ) -> FetchByMetadataResponse:
        """Records matching ``filter``, a page at a time in id order."""
        ...

    def update(
        self,
        id: str | None = None,
        values: Sequence[float] | None = None,
        sparse_values: Any = None,
        set_metadata: Mapping[str, Any] | None = None,
        namespace: str = "",
        filter: Mapping[str, Any] | None = None,
        dry_run: bool = False,
        timeout: float | None = None,
    ) -> UpdateResponse:
        """Change one record (by ``id``: values and/or merged metadata) or every record matching
        ``filter`` (metadata only; ``dry_run`` only counts them)."""
        ...

    def delete(
        self,
        ids: Sequence[str] | None = None,
        delete_all: bool = False,
        filter: Mapping[str, Any] | None = None,
        namespace: str = "",
        timeout: float | None = None,
    ) -> WriteResponse:
        """Delete by ids, by metadata filter, or everything in the namespace (exactly one of the three)."""
        ...

    def list_paginated(
        self,
        prefix: str | None = None,
        limit: int | None = None,
        pagination_token: str | None = None,
        namespace: str = "",
        timeout: float | None = None,
    ) -> ListResponse:
        """One page of ids (with ``prefix``), in id order."""
        ...

    def list(
        self,
        prefix: str | None = None,
        limit: int | None = None,
        namespace: str = "",
        timeout: float | None = None,
    ) -> Iterator[ListResponse]:
        """Every page of ids, following the pagination tokens (SDK 10.x yields the page objects)."""
        token: str | None = None
        while True:
            page = self.list_paginated(
                prefix=prefix, limit=limit, pagination_token=token, namespace=namespace, timeout=timeout
            )
            if page.vectors:
                yield page
            if page.pagination is None:
                return
            token = page.pagination.next

    def describe_index_stats(
        self, filter: Mapping[str, Any] | None = None, timeout: float | None = None
    ) -> IndexStats:
        """Exact record counts per namespace (those matching ``filter``, if given)."""
        ...

    def storage(self, *, objects: bool = True) -> IndexStorage:
        """spruce's own view of how the index is stored (segments, log, disk; ``IndexStorage``)."""
        ...

    def list_namespaces_paginated(
        self, prefix: str | None = None, limit: int | None = None, pagination_token: str | None = None
    ) -> ListNamespacesResponse:
        """One page of namespaces in name order."""
        ...

    def list_namespaces(
        self, prefix: str | None = None, limit: int | None = None
    ) -> Iterator[ListNamespacesResponse]:
        """Every page of namespaces, following the pagination tokens."""
        token: str | None = None
        while True:
            page = self.list_namespaces_paginated(prefix=prefix, limit=limit, pagination_token=token)
            if page.namespaces:
                yield page
            if page.pagination is None:
                return
            token = page.pagination.next

    def describe_namespace(
        self, name: str | None = None, *, namespace: str | None = None
    ) -> NamespaceDescription:
        """A namespace's record count (``__default__`` names the default namespace)."""
        ...

    def create_namespace(self, name: str, schema: Mapping[str, Any] | None = None) -> NamespaceDescription:
        """An empty named namespace. ``schema`` is accepted and ignored: every metadata field is indexed."""
        ...

    def delete_namespace(
        self, name: str | None = None, timeout: float | None = None, *, namespace: str | None = None
    ) -> WriteResponse:
        """Delete a namespace and every record in it."""
        ...


class ControlPlane(Protocol):
    """The store: creating, describing, configuring and deleting indexes, and the way to one."""

    def create_index(
        self,
        name: str,
        spec: Any = None,
        dimension: int | None = None,
        metric: str | None = None,
        timeout: int | None = None,
        deletion_protection: str | None = None,
        vector_type: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> IndexConfig:
        """A new empty index. ``spec`` (serverless or pod, a dict or the SDK's spec objects) is recorded as
        given; every index runs the same way here."""
        ...

    def create_document_index(
        self,
        name: str,
        schema: Mapping[str, Any],
        spec: Any = None,
        deletion_protection: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> IndexConfig:
        """A new empty document index (the 2026-07 Documents API): ``schema`` is ``{"fields": {...}}`` of
        searched fields (``spruce.docschema``)."""
        ...

    def create_from_schema(
        self,
        name: str,
        schema: Mapping[str, Any],
        spec: Any = None,
        deletion_protection: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> IndexConfig:
        """A new empty index from an API 2026-07 ``schema`` (SDK 10.x ``pc.indexes.create(schema=)``): a
        vector index for ``_values``/``_sparse_values``, else a document index."""
        ...

    def list_indexes(self) -> IndexList:
        """Every index, in creation order."""
        ...

    def describe_index(self, name: str) -> IndexConfig:
        """One index's configuration."""
        ...

    def has_index(self, name: str) -> bool:
        """Whether an index of that name exists."""
        ...

    def configure_index(
        self,
        name: str,
        replicas: int | None = None,
        pod_type: str | None = None,
        deletion_protection: str | None = None,
        tags: Mapping[str, str] | None = None,
        embed: Any = None,
        read_capacity: Mapping[str, Any] | None = None,
        serverless_read_capacity: Mapping[str, Any] | None = None,
    ) -> IndexConfig:
        """Change deletion protection and tags (a tag set to ``""`` is removed). Capacity settings
        (replicas, pod type, read capacity) are accepted and change nothing: one process serves all."""
        ...

    def delete_index(self, name: str, timeout: int | None = None) -> None:
        """Delete an index and all its data (refused while deletion protection is enabled)."""
        ...

    def index(self, name: str = "", host: str = "") -> DataPlane:
        """The index of that name."""
        ...

    def Index(self, name: str = "", host: str = "") -> DataPlane:
        """The index of that name (the SDK's older spelling of ``index``)."""
        return self.index(name, host)

    def close(self, *, flush: bool = True, wait: float | None = None) -> None:
        """Finish background work that must finish, and release the store (``flush=False`` and a
        ``wait`` in seconds bound the time it takes: a server's shutdown)."""
        ...

    def stop_background(self) -> None:
        """Ask background work to stop without waiting for it (the first step of a shutdown)."""
        ...

    def not_ready(self) -> str | None:
        """Why writes cannot succeed now (a failed fsync, a full disk), or None (``/ready``)."""
        ...
