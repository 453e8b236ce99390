"""``VectorService``: the twelve data-plane methods, each as thin as its REST handler.

A method decodes its request message (:mod:`spruce.server.grpc.codec`), makes the one
:class:`~spruce.api.DataPlane` call the REST handler of the same operation makes
(:mod:`spruce.server.data`, :mod:`spruce.server.namespaces`), and encodes the result. Validation is the
engine's, and the rules that belong to neither wire (where a call runs, the refused batch query) come
from :mod:`spruce.server.rules`, so the two faces answer alike.

Methods are keyed by the path the SDKs call: Pinecone's proto has no ``package`` line, so the path is
``/VectorService/<Method>`` (reference §8), whatever package our own ``.proto`` declares for its messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.protobuf.message import Message

from spruce.api import DataPlane
from spruce.server import rules
from spruce.server.grpc import codec
from spruce.server.grpc import vector_service_pb2 as pb

__all__ = ["METHODS", "Method"]


@dataclass(frozen=True, slots=True)
class Method:
    """One RPC: its request type, the call (decode, engine, encode), and, for reads, whether a request is
    short enough to run on the event loop (``None``: always in the worker pool, as REST's writes)."""

    request: type[Message]
    call: Callable[[DataPlane, Any], Message | tuple[Message, int]]  # a write: and the LSN it was logged at
    short: Callable[[Any], bool] | None = None
    reads: bool = False  # changes nothing (allowed with the read-only API key)


def _upsert(index: DataPlane, req: pb.UpsertRequest) -> tuple[pb.UpsertResponse, int]:
    result = index.upsert(codec.records(req.vectors), namespace=req.namespace)
    return pb.UpsertResponse(upserted_count=result.upserted_count), result.lsn


def _query(index: DataPlane, req: pb.QueryRequest) -> pb.QueryResponse:
    rules.refuse_batch_queries(len(req.queries))
    result = index.query(
        top_k=req.top_k,
        vector=codec.values_or_none(req.vector),
        id=req.id or None,
        namespace=req.namespace,
        filter=codec.opt_struct(req, "filter"),
        include_values=req.include_values,
        include_metadata=req.include_metadata,
        sparse_vector=codec.sparse(req, "sparse_vector"),
        scan_factor=req.scan_factor if req.HasField("scan_factor") else None,
        max_candidates=req.max_candidates if req.HasField("max_candidates") else None,
    )
    return codec.query_response(result)


def _fetch(index: DataPlane, req: pb.FetchRequest) -> pb.FetchResponse:
    return codec.fetch_response(index.fetch(list(req.ids), namespace=req.namespace))


def _fetch_by_metadata(index: DataPlane, req: pb.FetchByMetadataRequest) -> pb.FetchByMetadataResponse:
    result = index.fetch_by_metadata(
        codec.opt_struct(req, "filter") or {},
        namespace=req.namespace,
        limit=req.limit if req.HasField("limit") else None,
        pagination_token=req.pagination_token if req.HasField("pagination_token") else None,
    )
    return codec.fetch_by_metadata_response(result)


def _update(index: DataPlane, req: pb.UpdateRequest) -> tuple[pb.UpdateResponse, int]:
    result = index.update(
        id=req.id or None,
        values=codec.values_or_none(req.values),
        set_metadata=codec.opt_struct(req, "set_metadata"),
        namespace=req.namespace,
        filter=codec.opt_struct(req, "filter"),
        dry_run=req.dry_run,
        sparse_values=codec.sparse(req, "sparse_values"),
    )
    return pb.UpdateResponse(matched_records=result.matched_records), result.lsn


def _delete(index: DataPlane, req: pb.DeleteRequest) -> tuple[pb.DeleteResponse, int]:
    result = index.delete(
        ids=list(req.ids) or None,
        delete_all=req.delete_all,
        namespace=req.namespace,
        filter=codec.opt_struct(req, "filter"),
    )
    return pb.DeleteResponse(), result.lsn


def _list(index: DataPlane, req: pb.ListRequest) -> pb.ListResponse:
    result = index.list_paginated(
        prefix=req.prefix if req.HasField("prefix") else None,
        limit=req.limit if req.HasField("limit") else None,
        pagination_token=req.pagination_token if req.HasField("pagination_token") else None,
        namespace=req.namespace,
    )
    return codec.list_response(result)


def _describe_index_stats(
    index: DataPlane, req: pb.DescribeIndexStatsRequest
) -> pb.DescribeIndexStatsResponse:
    return codec.stats_response(index.describe_index_stats(filter=codec.opt_struct(req, "filter")))


def _list_namespaces(index: DataPlane, req: pb.ListNamespacesRequest) -> pb.ListNamespacesResponse:
    result = index.list_namespaces_paginated(
        prefix=req.prefix if req.HasField("prefix") else None,
        limit=req.limit if req.HasField("limit") else None,
        pagination_token=req.pagination_token if req.HasField("pagination_token") else None,
    )
    return codec.list_namespaces_response(result)


def _describe_namespace(index: DataPlane, req: pb.DescribeNamespaceRequest) -> pb.NamespaceDescription:
    return codec.namespace_description(index.describe_namespace(name=req.namespace))


def _create_namespace(index: DataPlane, req: pb.CreateNamespaceRequest) -> pb.NamespaceDescription:
    return codec.namespace_description(index.create_namespace(req.name, schema=codec.schema(req)))


def _delete_namespace(index: DataPlane, req: pb.DeleteNamespaceRequest) -> tuple[pb.DeleteResponse, int]:
    return pb.DeleteResponse(), index.delete_namespace(name=req.namespace).lsn


def _short_query(req: pb.QueryRequest) -> bool:
    return rules.short_query(req.top_k, codec.opt_struct(req, "filter"))


def _short_fetch(req: pb.FetchRequest) -> bool:
    return rules.short_fetch(len(req.ids))


def _short_stats(req: pb.DescribeIndexStatsRequest) -> bool:
    return rules.short_stats(codec.opt_struct(req, "filter"))


def _always(req: Any) -> bool:
    return True


_SERVICE = "/VectorService/"

METHODS: dict[str, Method] = {
    _SERVICE + "Upsert": Method(pb.UpsertRequest, _upsert),
    _SERVICE + "Query": Method(pb.QueryRequest, _query, _short_query, reads=True),
    _SERVICE + "Fetch": Method(pb.FetchRequest, _fetch, _short_fetch, reads=True),
    _SERVICE + "FetchByMetadata": Method(pb.FetchByMetadataRequest, _fetch_by_metadata, reads=True),
    _SERVICE + "Update": Method(pb.UpdateRequest, _update),
    _SERVICE + "Delete": Method(pb.DeleteRequest, _delete),
    _SERVICE + "List": Method(pb.ListRequest, _list, _always, reads=True),
    _SERVICE + "DescribeIndexStats": Method(
        pb.DescribeIndexStatsRequest, _describe_index_stats, _short_stats, reads=True
    ),
    _SERVICE + "ListNamespaces": Method(pb.ListNamespacesRequest, _list_namespaces, reads=True),
    _SERVICE + "DescribeNamespace": Method(pb.DescribeNamespaceRequest, _describe_namespace, reads=True),
    _SERVICE + "CreateNamespace": Method(pb.CreateNamespaceRequest, _create_namespace),
    _SERVICE + "DeleteNamespace": Method(pb.DeleteNamespaceRequest, _delete_namespace),
}
