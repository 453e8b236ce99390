"""The REST bodies, declared once as typed msgspec Structs: what ``/openapi.json`` describes, and what the
data-plane encoder fills in and serialises.

Field names are Python's; ``rename="camel"`` gives the wire's camelCase (``top_k`` is ``topK``), except on
the namespace and control-plane bodies, which Pinecone spells in snake_case. A field that may be absent is
``UNSET`` by default: it is left out of the encoded body (never sent as ``null``, which the 9.x/10.x SDKs
reject where they expect a value) and is optional, not nullable, in the schema. The schema of every type
here comes from :func:`msgspec.json.schema_components` (``spruce.server.openapi``), so a body and its
description cannot drift apart.

Request bodies are described here but decoded leniently in the handlers (``spruce.server.wire``): values
are the engine's to validate, with messages that name the field and the limit.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

__all__ = [
    "ClassicIndexModel",
    "CollectionList",
    "ConfigureIndexRequest",
    "ControlError",
    "CreateIndexClassic",
    "CreateIndexSchema",
    "CreateNamespaceRequest",
    "DataError",
    "DeleteDocumentsRequest",
    "DeleteRequest",
    "DescribeIndexStatsRequest",
    "Empty",
    "FetchByMetadataRequest",
    "FetchByMetadataResponse",
    "FetchDocumentsRequest",
    "FetchDocumentsResponse",
    "FetchParams",
    "FetchResponse",
    "FetchedVector",
    "IndexList",
    "IndexModel",
    "IndexStats",
    "IndexStorage",
    "ListData",
    "ListDocumentsRequest",
    "ListDocumentsResponse",
    "ListNamespacesParams",
    "ListNamespacesResponse",
    "ListParams",
    "ListResponse",
    "MatchedRecords",
    "ModelList",
    "NamespaceDescription",
    "NamespaceStorage",
    "QueryRequest",
    "QueryResponse",
    "SchemaIndexModel",
    "SearchDocumentsRequest",
    "SearchDocumentsResponse",
    "UpdateDocumentsRequest",
    "UpdateRequest",
    "UpdateResponse",
    "UpsertDocumentsRequest",
    "UpsertDocumentsResponse",
    "UpsertRequest",
    "UpsertResponse",
]

MetadataValue = str | float | bool | list[str]
Metadata = dict[str, MetadataValue]
Filter = dict[str, Any]
Tags = dict[str, str]
Metric = Literal["cosine", "euclidean", "dotproduct"]
Protection = Literal["enabled", "disabled"]


class _Camel(msgspec.Struct, rename="camel", omit_defaults=True, kw_only=True):
    """A data-plane body: camelCase on the wire, absent fields left out."""


class _Snake(msgspec.Struct, omit_defaults=True, kw_only=True):
    """A namespace or control-plane body: snake_case on the wire, absent fields left out."""


# ---------------------------------------------------------------- shared pieces


class SparseValues(_Camel):
    indices: list[int]
    values: list[float]


class Usage(_Camel):
    read_units: int


class Pagination(_Camel):
    next: str


class ControlErrorDetail(_Snake):
    code: str
    message: str


class ControlError(_Snake):
    error: ControlErrorDetail
    status: int


class DataError(_Camel):
    code: int
    message: str
    details: list[dict[str, Any]]


class Empty(msgspec.Struct, forbid_unknown_fields=True):
    """``{}``: what delete and delete_namespace answer."""


# ---------------------------------------------------------------- records


class Vector(_Camel):
    id: str
    values: list[float] | UnsetType = UNSET
    sparse_values: SparseValues | UnsetType = UNSET
    metadata: Metadata | UnsetType = UNSET


class UpsertRequest(_Camel):
    vectors: list[Vector]
    namespace: str | UnsetType = UNSET


class UpsertResponse(_Camel):
    upserted_count: int


class QueryRequest(_Camel):
    top_k: int
    namespace: str | UnsetType = UNSET
    vector: list[float] | UnsetType = UNSET
    id: str | UnsetType = UNSET
    sparse_vector: SparseValues | UnsetType = UNSET
    filter: Filter | UnsetType = UNSET
    include_values: bool | UnsetType = UNSET
    include_metadata: bool | UnsetType = UNSET
    max_candidates: int | UnsetType = UNSET
    scan_factor: float | UnsetType = UNSET


class ScoredVector(_Camel):
    id: str
    score: float
    values: list[float] | UnsetType = UNSET
    metadata: Metadata | UnsetType = UNSET


class QueryResponse(_Camel):
    matches: list[ScoredVector]
    namespace: str
    usage: Usage


class FetchedVector(_Camel):
    id: str
    values: list[float]
    metadata: Metadata | UnsetType = UNSET


class FetchParams(_Camel):
    """Query parameters of ``GET /vectors/fetch``."""

    ids: list[str]
    namespace: str | UnsetType = UNSET


class FetchResponse(_Camel):
    vectors: dict[str, FetchedVector]
    namespace: str
    usage: Usage


class FetchByMetadataRequest(_Camel):
    filter: Filter
    namespace: str | UnsetType = UNSET
    limit: int | UnsetType = UNSET
    pagination_token: str | UnsetType = UNSET


class FetchByMetadataResponse(_Camel):
    vectors: dict[str, FetchedVector]
    namespace: str
    usage: Usage
    pagination: Pagination | UnsetType = UNSET


class UpdateRequest(_Camel):
    id: str | UnsetType = UNSET
    values: list[float] | UnsetType = UNSET
    sparse_values: SparseValues | UnsetType = UNSET
    set_metadata: Metadata | UnsetType = UNSET
    namespace: str | UnsetType = UNSET
    filter: Filter | UnsetType = UNSET
    dry_run: bool | UnsetType = UNSET


class UpdateResponse(_Camel):
    matched_records: int


class DeleteRequest(_Camel):
    ids: list[str] | UnsetType = UNSET
    delete_all: bool | UnsetType = UNSET
    namespace: str | UnsetType = UNSET
    filter: Filter | UnsetType = UNSET


class ListParams(_Camel):
    """Query parameters of ``GET /vectors/list``."""

    namespace: str | UnsetType = UNSET
    prefix: str | UnsetType = UNSET
    limit: int | UnsetType = UNSET
    pagination_token: str | UnsetType = UNSET


class ListItem(_Camel):
    id: str


class ListResponse(_Camel):
    vectors: list[ListItem]
    namespace: str
    usage: Usage
    pagination: Pagination | UnsetType = UNSET


class DescribeIndexStatsRequest(_Camel):
    filter: Filter | UnsetType = UNSET


class NamespaceSummary(_Camel):
    vector_count: int


class IndexStats(_Camel):
    """Pinecone's stats, plus two spruce extensions a client can poll to know background work is done:
    ``unindexedRecordCount`` (live records flush/compaction has still to move; 0 = fully indexed and idle)
    and ``pendingDeletionCount`` (deleted or overwritten records still stored until compaction purges them);
    ``backgroundError``, only while background work is failing, says how.
    Both SDK generations ignore unknown fields (tests/integration/test_unindexed_stat.py)."""

    namespaces: dict[str, NamespaceSummary]
    dimension: int
    index_fullness: float
    total_vector_count: int
    metric: str
    vector_type: str
    unindexed_record_count: int
    pending_deletion_count: int
    background_error: str | UnsetType = UNSET


class NamespaceStorage(_Snake):
    records: int
    segments: int
    segments_with_graph: int
    memtable_records: int
    pending_deletions: int


class IndexStorage(_Snake):
    """spruce's own, not Pinecone's: how an index is stored (``spruce.types.IndexStorage`` says what
    each field means). For operators, ``spruce stats`` and the console."""

    name: str
    lsn: int
    manifest_version: int
    manifest_lsn: int
    unflushed_log_entries: int
    unflushed_log_bytes: int
    unindexed_records: int
    objects: int
    local_bytes: int
    namespaces: dict[str, NamespaceStorage]
    flushes: int
    flush_seconds: float
    compactions: int
    compaction_seconds: float
    bytes_written: int
    background_error: str | UnsetType = UNSET


# ---------------------------------------------------------------- namespaces (snake_case)


class ListNamespacesParams(_Camel):
    """Query parameters of ``GET /namespaces`` (``pagination_token`` is accepted too)."""

    prefix: str | UnsetType = UNSET
    limit: int | UnsetType = UNSET
    pagination_token: str | UnsetType = UNSET


class NamespaceDescription(_Snake):
    name: str
    record_count: int


class ListNamespacesResponse(_Snake):
    namespaces: list[NamespaceDescription]
    total_count: int
    pagination: Pagination | UnsetType = UNSET


class CreateNamespaceRequest(_Snake):
    name: str
    schema: dict[str, Any] | UnsetType = UNSET


# ---------------------------------------------------------------- the control plane (snake_case)


class Status(_Snake):
    ready: bool
    state: str


class ClassicIndexModel(_Snake):
    """The index model of API versions before 2026-07 (SDK 7.x, 9.x)."""

    name: str
    metric: Metric
    host: str
    spec: dict[str, Any]
    status: Status
    deletion_protection: Protection
    dimension: int | UnsetType = UNSET
    vector_type: str | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET


class Deployment(_Snake):
    deployment_type: str
    cloud: str | UnsetType = UNSET
    region: str | UnsetType = UNSET
    environment: str | UnsetType = UNSET
    pod_type: str | UnsetType = UNSET
    replicas: int | UnsetType = UNSET
    shards: int | UnsetType = UNSET


class FullTextSearch(_Snake):
    language: str
    stemming: bool
    stop_words: bool
    lowercase: bool
    max_term_len: int
    ngram: dict[str, Any] | UnsetType = UNSET


class SchemaField(_Snake):
    """A vector index's ``_values``/``_sparse_values``, or a document index's searched field."""

    type: str
    dimension: int | UnsetType = UNSET
    metric: str | UnsetType = UNSET
    description: str | UnsetType = UNSET
    full_text_search: FullTextSearch | UnsetType = UNSET
    store_text: bool | UnsetType = UNSET


class IndexSchema(_Snake):
    fields: dict[str, SchemaField]


class ReadCapacityState(_Snake):
    state: str


class ReadCapacity(_Snake):
    mode: str
    status: ReadCapacityState


class SchemaIndexModel(_Snake):
    """The index model of API version 2026-07 (SDK 10.x): schema and deployment."""

    name: str
    host: str
    status: Status
    deployment: Deployment
    schema: IndexSchema
    deletion_protection: Protection
    tags: Tags | None = None
    read_capacity: ReadCapacity | UnsetType = UNSET


# Either shape, as the request's API version chooses. msgspec decodes a union of Structs only when they are
# tagged, which the wire's are not, so the alternatives are a tuple (``anyOf`` in the document).
IndexModel = (ClassicIndexModel, SchemaIndexModel)
_ANY_INDEX_MODEL = {"anyOf": [{"$ref": f"#/components/schemas/{t.__name__}"} for t in IndexModel]}


class IndexList(_Snake):
    indexes: Annotated[list[dict[str, Any]], msgspec.Meta(extra_json_schema={"items": _ANY_INDEX_MODEL})]


class CreateIndexSpec(_Snake):
    serverless: dict[str, Any] | UnsetType = UNSET
    pod: dict[str, Any] | UnsetType = UNSET
    byoc: dict[str, Any] | UnsetType = UNSET


class CreateIndexClassic(_Snake):
    """``POST /indexes`` before API 2026-07."""

    name: str
    spec: CreateIndexSpec
    dimension: int | UnsetType = UNSET
    metric: str | UnsetType = UNSET
    vector_type: str | UnsetType = UNSET
    deletion_protection: str | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET


class CreateIndexSchemaFields(_Snake):
    fields: dict[str, Any]


class CreateIndexSchema(_Snake):
    """``POST /indexes`` from API 2026-07 on: ``schema.fields`` and ``deployment``."""

    schema: CreateIndexSchemaFields
    name: str | UnsetType = UNSET
    deployment: dict[str, Any] | UnsetType = UNSET
    deletion_protection: str | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET


class ConfigureIndexRequest(_Snake):
    deletion_protection: str | UnsetType = UNSET
    tags: Tags | UnsetType = UNSET


# ---------------------------------------------------------------- documents (snake_case, API 2026-07)


class DocUsage(_Snake):
    read_units: int


class DocPagination(_Snake):
    next: str


class UpsertDocumentsRequest(_Snake):
    documents: list[dict[str, Any]]


class UpsertDocumentsResponse(_Snake):
    upserted_count: int


class SearchDocumentsRequest(_Snake):
    score_by: list[dict[str, Any]]
    top_k: int
    include_fields: list[str] | UnsetType = UNSET
    filter: Filter | UnsetType = UNSET


class SearchDocumentsResponse(_Snake):
    matches: list[dict[str, Any]]
    namespace: str
    usage: DocUsage


class FetchDocumentsRequest(_Snake):
    ids: list[str] | UnsetType = UNSET
    filter: Filter | UnsetType = UNSET
    include_fields: list[str] | UnsetType = UNSET
    pagination_token: str | UnsetType = UNSET
    limit: int | UnsetType = UNSET


class FetchDocumentsResponse(_Snake):
    documents: dict[str, dict[str, Any]]
    namespace: str
    usage: DocUsage
    pagination: DocPagination | UnsetType = UNSET


class DeleteDocumentsRequest(_Snake):
    ids: list[str] | UnsetType = UNSET
    filter: Filter | UnsetType = UNSET
    delete_all: bool | UnsetType = UNSET


class MatchedRecords(_Snake):
    """What a document delete or update answers: the count a filter matched (absent otherwise)."""

    matched_records: int | UnsetType = UNSET


class UpdateDocumentsRequest(_Snake):
    documents: list[dict[str, Any]] | UnsetType = UNSET
    filter: Filter | UnsetType = UNSET
    set_fields: dict[str, Any] | UnsetType = UNSET
    remove_fields: list[str] | UnsetType = UNSET


class ListDocumentsRequest(_Snake):
    prefix: str | UnsetType = UNSET
    limit: int | UnsetType = UNSET
    pagination_token: str | UnsetType = UNSET


class ListedDocument(_Snake, rename={"id": "_id"}):
    id: str


class ListDocumentsResponse(_Snake):
    documents: list[ListedDocument]
    namespace: str
    usage: DocUsage
    pagination: DocPagination | UnsetType = UNSET


# ---------------------------------------------------------------- features spruce has not yet (snake_case)
# (``spruce.server.unsupported``: the listings a client may call just to enumerate are empty)


class CollectionList(_Snake):
    collections: list[dict[str, Any]]


class ListData(_Snake):
    """Backups, restore jobs, backup schedules and bulk imports are listed as ``data``."""

    data: list[dict[str, Any]]


class ModelList(_Snake):
    models: list[dict[str, Any]]
