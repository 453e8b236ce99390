"""Data-plane result encoders: engine dataclasses to Pinecone's camelCase JSON.

Optional fields are *omitted* rather than sent as ``null`` (the 9.x/10.x SDKs reject ``null`` where they
expect a value), and ``pagination`` is left out on the last page (7.x keeps paging while the key exists).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spruce.types import (
    FetchByMetadataResponse,
    FetchResponse,
    IndexStats,
    IndexStorage,
    ListNamespacesResponse,
    ListResponse,
    NamespaceDescription,
    Pagination,
    QueryResponse,
    ScoredVector,
    SparseValues,
    Usage,
    Vector,
)

__all__ = [
    "fetch_body",
    "fetch_by_metadata_body",
    "list_body",
    "namespace_body",
    "namespaces_body",
    "query_body",
    "stats_body",
    "storage_body",
]


def _usage(usage: Usage) -> dict[str, Any]:
    return {"readUnits": usage.read_units}


def _with_pagination(body: dict[str, Any], pagination: Pagination | None) -> dict[str, Any]:
    if pagination is not None and pagination.next:
        body["pagination"] = {"next": pagination.next}
    return body


def _f32(values: Any) -> Any:
    """Values are stored as float32: encoding them as float32 prints ``0.1``, not ``0.10000000149011612``."""
    return np.asarray(values, dtype=np.float32)


def _sparse(s: SparseValues) -> dict[str, Any]:
    return {"indices": s.indices, "values": _f32(s.values)}


def _match(m: ScoredVector) -> dict[str, Any]:
    out: dict[str, Any] = {"id": m.id, "score": m.score}
    if m.values:
        out["values"] = _f32(m.values)
    if m.sparse_values is not None:
        out["sparseValues"] = _sparse(m.sparse_values)
    if m.metadata is not None:
        out["metadata"] = m.metadata
    return out


def _vector(v: Vector) -> dict[str, Any]:
    out: dict[str, Any] = {"id": v.id, "values": _f32(v.values)}
    if v.sparse_values is not None:
        out["sparseValues"] = _sparse(v.sparse_values)
    if v.metadata is not None:
        out["metadata"] = v.metadata
    return out


def query_body(r: QueryResponse) -> dict[str, Any]:
    return {"matches": [_match(m) for m in r.matches], "namespace": r.namespace, "usage": _usage(r.usage)}


def fetch_body(r: FetchResponse) -> dict[str, Any]:
    vectors = {key: _vector(v) for key, v in r.vectors.items()}
    return {"vectors": vectors, "namespace": r.namespace, "usage": _usage(r.usage)}


def fetch_by_metadata_body(r: FetchByMetadataResponse) -> dict[str, Any]:
    vectors = {key: _vector(v) for key, v in r.vectors.items()}
    body = {"vectors": vectors, "namespace": r.namespace, "usage": _usage(r.usage)}
    return _with_pagination(body, r.pagination)


def list_body(r: ListResponse) -> dict[str, Any]:
    body = {
        "vectors": [{"id": item.id} for item in r.vectors],
        "namespace": r.namespace,
        "usage": _usage(r.usage),
    }
    return _with_pagination(body, r.pagination)


def stats_body(r: IndexStats) -> dict[str, Any]:
    """Pinecone's stats, plus two spruce extensions a client can poll to know background work is done.

    ``unindexedRecordCount`` (live records flush/compaction has still to move; 0 = fully indexed and idle)
    and ``pendingDeletionCount`` (deleted or overwritten records still stored until compaction purges
    them) are not in Pinecone's API: both SDK generations ignore unknown fields, so they cost nothing to
    clients that do not know them (checked by tests/integration/test_unindexed_stat.py).
    """
    body = {
        "namespaces": {name: {"vectorCount": s.vector_count} for name, s in r.namespaces.items()},
        "dimension": r.dimension,
        "indexFullness": r.index_fullness,
        "totalVectorCount": r.total_vector_count,
        "metric": r.metric,
        "vectorType": r.vector_type,
        "unindexedRecordCount": r.unindexed_records,
        "pendingDeletionCount": r.pending_deletions,
    }
    if r.background_error is not None:
        body["backgroundError"] = r.background_error
    return body


def storage_body(r: IndexStorage) -> dict[str, Any]:
    """``bodies.IndexStorage``: the dataclass's own field names (snake_case), no error while there is none."""
    body = r.to_dict()
    if body["background_error"] is None:
        del body["background_error"]
    return body


def namespace_body(d: NamespaceDescription) -> dict[str, Any]:
    return {"name": d.name, "record_count": d.record_count}


def namespaces_body(r: ListNamespacesResponse) -> dict[str, Any]:
    body = {"namespaces": [namespace_body(d) for d in r.namespaces], "total_count": r.total_count}
    return _with_pagination(body, r.pagination)
