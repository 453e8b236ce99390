"""Protobuf messages to the engine's Python arguments, and the engine's results to protobuf messages.

The gRPC twin of :mod:`spruce.server.wire` (decoding) and :mod:`spruce.server.encode` (encoding). Every
decoded value is what the REST face hands the engine for the same request, so the engine validates both
alike:

- a ``google.protobuf.Struct`` (filters, metadata) becomes the plain dict its JSON would decode to (every
  number a float, as Struct carries only doubles);
- sparse vectors become ``{"indices": [...], "values": [...]}`` dicts, exactly REST's ``sparseValues``;
- proto3 has no "absent" for plain scalars, so an empty ``id`` or an empty vector means "not given" (what
  REST expresses by leaving the key out), and ``optional`` fields are read with ``HasField``.

Dense values are handed over as float32 numpy arrays rather than lists: the engine accepts any sequence
and stores float32, and one ``np.array`` over a repeated field costs about a fifth of building a list of
Python floats (1,000 x 384 values: 8 ms against 56 ms).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from google.protobuf.struct_pb2 import Struct, Value

from spruce.server.grpc import vector_service_pb2 as pb
from spruce.types import (
    FetchByMetadataResponse,
    FetchResponse,
    IndexStats,
    ListNamespacesResponse,
    ListResponse,
    NamespaceDescription,
    Pagination,
    QueryResponse,
    ScoredVector,
    Usage,
    Vector,
)

__all__ = [
    "fetch_by_metadata_response",
    "fetch_response",
    "list_namespaces_response",
    "list_response",
    "namespace_description",
    "opt_struct",
    "query_response",
    "records",
    "schema",
    "sparse",
    "stats_response",
    "struct_to_dict",
    "values_or_none",
]


# ---------------------------------------------------------------- decoding


def struct_to_dict(struct: Struct) -> dict[str, Any]:
    """A Struct as the dict its JSON form decodes to."""
    return {key: _value(v) for key, v in struct.fields.items()}


def _value(v: Value) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "struct_value":
        return struct_to_dict(v.struct_value)
    if kind == "list_value":
        return [_value(item) for item in v.list_value.values]
    if kind is None or kind == "null_value":
        return None
    return getattr(v, kind)


def opt_struct(message: Any, field: str) -> dict[str, Any] | None:
    """A Struct field as a dict, or ``None`` when the field was not sent (REST: the key left out)."""
    return struct_to_dict(getattr(message, field)) if message.HasField(field) else None


def sparse(message: Any, field: str) -> dict[str, list[Any]] | None:
    """A SparseValues field as REST's ``{"indices", "values"}`` dict, or ``None`` when not sent."""
    if not message.HasField(field):
        return None
    sv = getattr(message, field)
    return {"indices": list(sv.indices), "values": list(sv.values)}


def values_or_none(values: Any) -> Any:
    """A repeated float field as a float32 array; empty means "not given" (``None``)."""
    return np.array(values, dtype=np.float32) if len(values) else None


def records(vectors: Iterable[pb.Vector]) -> list[dict[str, Any]]:
    """Upsert records as the dicts REST passes: ``id``, ``values``, and ``metadata``/``sparse_values``
    only where the record carries them."""
    out: list[dict[str, Any]] = []
    for v in vectors:
        record: dict[str, Any] = {"id": v.id, "values": np.array(v.values, dtype=np.float32)}
        if v.HasField("metadata"):
            record["metadata"] = struct_to_dict(v.metadata)
        if v.HasField("sparse_values"):
            record["sparse_values"] = {
                "indices": list(v.sparse_values.indices),
                "values": list(v.sparse_values.values),
            }
        out.append(record)
    return out


def schema(message: Any) -> dict[str, Any] | None:
    """A namespace MetadataSchema as REST's ``{"fields": {name: {"filterable": bool}}}``."""
    if not message.HasField("schema"):
        return None
    fields = message.schema.fields
    return {"fields": {name: {"filterable": props.filterable} for name, props in fields.items()}}


# ---------------------------------------------------------------- encoding


def _set_sparse(target: pb.SparseValues, value: Any) -> None:
    """Fill a SparseValues from the engine's form: a ``{"indices", "values"}`` mapping or an object with
    those attributes (the SDK's ``SparseValues``)."""
    if isinstance(value, Mapping):
        indices, vals = value.get("indices", ()), value.get("values", ())
    else:
        indices, vals = getattr(value, "indices", ()), getattr(value, "values", ())
    target.indices.extend(int(i) for i in indices)
    target.values.extend(vals)


def _set_record(target: pb.Vector | pb.ScoredVector, r: Vector | ScoredVector) -> None:
    """A fetched record or a query match: ``id``, values, and metadata and sparse values where present."""
    target.id = r.id
    if len(r.values):
        target.values.extend(r.values)
    if r.metadata is not None:
        target.metadata.update(r.metadata)
    if r.sparse_values is not None:
        _set_sparse(target.sparse_values, r.sparse_values)


def _usage(target: pb.Usage, usage: Usage) -> None:
    target.read_units = usage.read_units


def _pagination(message: Any, pagination: Pagination | None) -> None:
    """Set ``pagination`` only when there is a next page, as REST leaves the key out on the last one."""
    if pagination is not None and pagination.next:
        message.pagination.next = pagination.next


def query_response(r: QueryResponse) -> pb.QueryResponse:
    out = pb.QueryResponse(namespace=r.namespace)
    for m in r.matches:
        match = out.matches.add(score=m.score)
        _set_record(match, m)
    _usage(out.usage, r.usage)
    return out


def _fetched(out: Any, r: FetchResponse | FetchByMetadataResponse) -> Any:
    """The records, namespace and usage both fetch responses carry."""
    out.namespace = r.namespace
    for key, v in r.vectors.items():
        _set_record(out.vectors[key], v)
    _usage(out.usage, r.usage)
    return out


def fetch_response(r: FetchResponse) -> pb.FetchResponse:
    out: pb.FetchResponse = _fetched(pb.FetchResponse(), r)
    return out


def fetch_by_metadata_response(r: FetchByMetadataResponse) -> pb.FetchByMetadataResponse:
    out: pb.FetchByMetadataResponse = _fetched(pb.FetchByMetadataResponse(), r)
    _pagination(out, r.pagination)
    return out


def list_response(r: ListResponse) -> pb.ListResponse:
    out = pb.ListResponse(namespace=r.namespace)
    for item in r.vectors:
        out.vectors.add(id=item.id)
    _usage(out.usage, r.usage)
    _pagination(out, r.pagination)
    return out


def stats_response(r: IndexStats) -> pb.DescribeIndexStatsResponse:
    """Pinecone's stats. spruce's two REST extensions (``unindexedRecordCount``, ``pendingDeletionCount``)
    have no field in Pinecone's proto, so they are REST-only."""
    out = pb.DescribeIndexStatsResponse(
        index_fullness=r.index_fullness,
        total_vector_count=r.total_vector_count,
        metric=r.metric,
        vector_type=r.vector_type,
    )
    if r.dimension is not None:
        out.dimension = r.dimension
    for name, summary in r.namespaces.items():
        out.namespaces[name].vector_count = summary.vector_count
    return out


def namespace_description(d: NamespaceDescription) -> pb.NamespaceDescription:
    return pb.NamespaceDescription(name=d.name, record_count=d.record_count)


def list_namespaces_response(r: ListNamespacesResponse) -> pb.ListNamespacesResponse:
    out = pb.ListNamespacesResponse(total_count=r.total_count)
    for d in r.namespaces:
        out.namespaces.add(name=d.name, record_count=d.record_count)
    _pagination(out, r.pagination)
    return out
