"""One index's public record operations, with Pinecone's semantics.

Each method validates the whole request first (a bad input changes nothing), then either reads under the
shared lock or hands a resolver to ``IndexState.write``. See ``state`` for the write path and the
on-disk layout, and ``maintenance`` for flush and compaction.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any, TypeAlias, TypeVar

import numpy as np

from spruce import limits
from spruce.api import DataPlane
from spruce.docschema import DocumentSchema
from spruce.engine.block import Block, Snapshot
from spruce.engine.documents import Documents
from spruce.engine.maintenance import Maintainer
from spruce.engine.namespace import Hit, Namespace
from spruce.engine.pagination import decode_token, encode_token
from spruce.engine.state import IndexState
from spruce.engine.tuning import DEFAULT_FLUSH_ROWS, Tuning
from spruce.errors import (
    AlreadyExistsError,
    DiskFullError,
    InvalidArgumentError,
    NotFoundError,
)
from spruce.filter import Filter, parse_filter
from spruce.index.hnsw import DEFAULT_EF, MAX_EF
from spruce.index.sparse import SparseQuery
from spruce.storage.objectstore import ObjectStore
from spruce.storage.ops import (
    CreateNamespace,
    DropNamespace,
    Op,
    Upsert,
)
from spruce.types import (
    FetchByMetadataResponse,
    FetchResponse,
    IndexConfig,
    IndexStats,
    IndexStorage,
    ListItem,
    ListNamespacesResponse,
    ListResponse,
    Metadata,
    NamespaceDescription,
    NamespaceStorage,
    NamespaceSummary,
    Pagination,
    QueryResponse,
    ScoredVector,
    SparseRows,
    SparseValues,
    UpdateResponse,
    UpsertResponse,
    Usage,
    Vector,
    Vector32,
    WriteResponse,
    validate_batch,
    validate_id,
    validate_id_prefix,
    validate_ids,
    validate_int,
    validate_limit,
    validate_metadata,
    validate_namespace,
    validate_query_vector,
    validate_sparse,
    validate_top_k,
    validate_values,
)

__all__ = ["DEFAULT_FLUSH_ROWS", "IndexEngine"]

DISK_FULL_NOTE = "the disk is full: writes fail with 507 until space is freed, then resume by themselves"
# what a query searches: the namespace, its dense and sparse query vectors, and the blocks' snapshot
_QueryInput: TypeAlias = "tuple[Namespace, Vector32 | None, SparseQuery | None, list[tuple[Block, Snapshot]]]"
log = logging.getLogger("spruce.engine")
T = TypeVar("T")


def _public_ns(name: str) -> str:
    """The namespace APIs call the default namespace ``__default__``."""
    return name or limits.DEFAULT_NAMESPACE_ALIAS


def _copy_meta(meta: Metadata) -> Metadata:
    return {k: (list(v) if isinstance(v, list) else v) for k, v in meta.items()}


def _sparse_of(block: Block, row: int) -> SparseValues | None:
    indices, values = block.sparse_rows().row(row)
    if not len(indices):
        return None
    return SparseValues(indices=indices.tolist(), values=values.tolist())


def _search_breadth(ef: object, max_candidates: object, scan_factor: object) -> int:
    """HNSW's ``ef`` from whichever knob was given: ``ef`` (spruce's name) or Pinecone's ``max_candidates``
    (the same thing), else ``scan_factor`` (0.5 to 4) scaling the default."""
    if ef is not None:
        return validate_int(ef, 1, MAX_EF, field="ef")
    if max_candidates is not None:
        return validate_int(max_candidates, 1, MAX_EF, field="max_candidates")
    if scan_factor is None:
        return DEFAULT_EF
    if (
        isinstance(scan_factor, bool)
        or not isinstance(scan_factor, (int, float))
        or not limits.SCAN_FACTOR_MIN <= scan_factor <= limits.SCAN_FACTOR_MAX
    ):
        raise InvalidArgumentError(
            f"scan_factor must be a number from {limits.SCAN_FACTOR_MIN} to {limits.SCAN_FACTOR_MAX}, "
            f"got {scan_factor!r}",
            field="scan_factor",
        )
    return max(1, round(DEFAULT_EF * scan_factor))


def _namespace_arg(name: object, namespace: object) -> object:
    """``name=`` (SDK 10.x) or the legacy ``namespace=`` (both spellings are accepted, not both at once)."""
    if name is not None and namespace is not None:
        raise InvalidArgumentError("give either name or namespace, not both", field="name")
    if name is None and namespace is None:
        raise InvalidArgumentError(
            "name is required (use '__default__' for the default namespace)", field="name"
        )
    return name if name is not None else namespace


class IndexEngine(DataPlane):
    """One index's data plane (``spruce.Index`` to embedders): the operations of :class:`spruce.api.DataPlane`
    with Pinecone's semantics, over the index's state and background work."""

    def __init__(
        self,
        store: ObjectStore,
        config: IndexConfig,
        tuning: Tuning | None = None,
        *,
        background: bool = True,
    ) -> None:
        self._st = IndexState(store, config, tuning or Tuning())
        self._maint = Maintainer(self._st, background=background)
        self._documents = (
            Documents(self._st, DocumentSchema.from_json(config.documents)) if config.documents else None
        )

    @property
    def documents(self) -> Documents:
        """The Documents API (SDK 10.x ``index.documents``) of a document index."""
        if self._documents is None:
            raise InvalidArgumentError(
                f"index {self.config.name!r} is a vector index: use upsert/query/fetch, not documents "
                "(document indexes are created with a schema of searched fields)",
                field="index",
            )
        return self._documents

    def _vector_api(self, operation: str) -> None:
        """Refuse a vector-API write or query on a document index, whose records are documents."""
        if self._documents is not None:
            raise InvalidArgumentError(
                f"index {self.config.name!r} is a document index: use documents.{operation} instead",
                field="index",
            )

    @property
    def config(self) -> IndexConfig:
        return self._st.config

    @config.setter
    def config(self, value: IndexConfig) -> None:
        self._st.config = value

    @property
    def lsn(self) -> int:
        return self._st.lsn

    @property
    def behind(self) -> str | None:
        """Why reads could not sync with a shared store just now (they answer from what is applied)."""
        return self._st.behind

    @contextmanager
    def reading(self, min_lsn: int | None = None) -> Iterator[int]:
        st = self._st
        if min_lsn is not None or not getattr(st.local, "synced", False):  # (not synced by ``synced_read``)
            st.barrier(min_lsn)
        with st.synced_here():
            yield st.lsn

    async def synced_read(self) -> AbstractContextManager[None] | None:
        """The read barrier awaited on the server's event loop (``IndexState.probe``): a context in which
        this thread's reads of the index count as synced, or None if the read must take a worker thread
        (there is something to apply first, or the store failed: ``barrier`` deals with it there)."""
        if not self._st.shared:
            return nullcontext()
        return self._st.synced_here() if await self._st.probe() else None

    def tick(self) -> None:
        """A shared store's periodic step (``Database``'s sync thread, about every second): take the lease
        if it is free (and become the index's holder), then catch up on the log and, as a follower, adopt
        the holder's newer manifests (``IndexState.follow``)."""
        if self._st.closed:
            return
        self._st.follow(holder=self._hold())

    def _hold(self) -> bool:
        """Whether this process holds the index's lease, taking it first if it is free."""
        lease = self._maint.lease
        if lease.held():
            return True
        if lease.try_acquire():
            self._maint.take_over()
            return True
        return False

    def renew_lease(self) -> None:
        """Extend the lease if this process holds it (``Database``'s lease thread; a lease that lapsed, say
        while the process was paused, is given up here, with a warning)."""
        self._maint.lease.renew()

    # ================================================================ records

    def upsert(
        self,
        vectors: object,
        namespace: object = "",
        batch_size: object = None,
        show_progress: bool = True,
        max_concurrency: int = 8,
        timeout: float | None = None,
        total_timeout: float | None = None,
    ) -> UpsertResponse:
        """One durable write per call, or per ``batch_size`` slice. Every slice is validated before the
        first is written, so a bad record anywhere writes nothing (the SDK would have sent the slices before
        it)."""
        self._vector_api("upsert")
        ns = validate_namespace(namespace)
        if batch_size is None:
            slices = [vectors]
        else:
            size = validate_int(batch_size, 1, 2**31, field="batch_size")
            if isinstance(vectors, (str, bytes)) or not isinstance(vectors, Sequence):
                raise InvalidArgumentError("vectors must be a list of records", field="vectors")
            # an empty list stays one (empty) slice, refused as it is without batch_size
            slices = [vectors[i : i + size] for i in range(0, len(vectors), size)] or [vectors]
        cfg = self.config
        batches = [validate_batch(part, cfg.dimension, cfg.metric, cfg.vector_type) for part in slices]
        self._st.check_writable()
        lsn = self._st.lsn
        for batch in batches:
            lsn = self._st.write_upsert(Upsert(ns, batch.ids, batch.vectors, batch.metadata, batch.sparse))
        count = sum(len(part) for part in slices)  # type: ignore[arg-type,misc]  # validate_batch checked
        if batch_size is None:
            return UpsertResponse(upserted_count=count, lsn=lsn)
        n = len(batches)
        return UpsertResponse(
            upserted_count=count,
            lsn=lsn,
            total_item_count=count,
            total_batch_count=n,
            successful_batch_count=n,
        )

    def _parse_filter(self, raw: object, *, required: str | None = None) -> Filter | None:
        if raw is None and required is None:
            return None
        flt = parse_filter(raw)
        if flt.is_empty and required is not None:
            raise InvalidArgumentError(required, field="filter")
        return flt

    def query(
        self,
        *,
        top_k: object,
        vector: object = None,
        id: object = None,
        namespace: object = "",
        filter: object = None,
        include_values: bool = False,
        include_metadata: bool = False,
        sparse_vector: object = None,
        scan_factor: object = None,
        max_candidates: object = None,
        timeout: float | None = None,
        ef: object = None,
    ) -> QueryResponse:
        """Nearest records to ``vector`` (or to the stored record ``id``).

        ``ef`` (or ``max_candidates``) trades recall for speed on large segments: how many graph
        candidates HNSW examines (1 to 4096; default 48, which gives recall@10 >= 0.95 on real sentence
        embeddings); ``scan_factor`` scales that default. Filters raise it automatically in proportion to
        their selectivity. Small segments are always searched exactly.
        """
        self._vector_api("search")
        cfg = self.config
        sparse_index = cfg.vector_type == "sparse"
        k = validate_top_k(top_k, limits.SPARSE_TOP_K_MAX if sparse_index else limits.TOP_K_MAX)
        ef_value = _search_breadth(ef, max_candidates, scan_factor)
        ns_name = validate_namespace(namespace)
        q, sq, rid = self._query_vectors(vector, sparse_vector, id)
        flt = self._parse_filter(filter)

        def run() -> _QueryInput | None:
            ns = self._st.namespaces.get(ns_name)
            if ns is None:
                return None
            qv, qs = q, sq
            if rid is not None:  # by id: the stored record's dense and sparse values
                if rid not in ns.loc:
                    return None
                if not sparse_index:
                    qv = np.array(ns.values_of(rid), dtype=np.float32)
                if qs is None and (stored := ns.sparse_of(rid)) and len(stored[0]):
                    qs = SparseQuery.of(*stored)
            if qv is None and qs is None:
                return None  # (a sparse record always has values; this is for type checkers)
            return ns, qv, qs, ns.snapshot()

        # Only the snapshot is taken under the index lock; the search reads it afterwards (Namespace.snapshot)
        found = self._st.read(run)
        hits: list[Hit] = []
        if found is not None:
            ns, qv, qs, at = found
            hits = ns.search(qv, k, cfg.metric, flt, ef_value, at, qs)
        matches = [
            ScoredVector(
                id=h.id,
                score=h.score,
                values=h.block.vectors[h.row].tolist() if include_values else [],
                metadata=_copy_meta(h.block.metadata[h.row]) if include_metadata else None,
                sparse_values=_sparse_of(h.block, h.row) if include_values else None,
            )
            for h in hits
        ]
        return QueryResponse(
            matches=matches, namespace=ns_name, usage=Usage(read_units=max(1, len(hits) // 10))
        )

    def _query_vectors(
        self, vector: object, sparse_vector: object, id: object
    ) -> tuple[Vector32 | None, SparseQuery | None, str | None]:
        """A query's dense vector, sparse vector and id, checked against the index's kind: a sparse index
        is queried by ``sparse_vector`` or ``id``; a dense one by ``vector`` or ``id``, with a
        ``sparse_vector`` beside either only at metric dotproduct (hybrid)."""
        cfg = self.config
        if isinstance(vector, (list, tuple, np.ndarray)) and len(vector) == 0:
            vector = None  # the SDK sends [] beside a sparse vector
        sp = validate_sparse(sparse_vector, field="sparse_vector")
        sq = SparseQuery.of(*sp) if sp is not None else None
        if cfg.vector_type == "sparse":
            if vector is not None:
                raise InvalidArgumentError(
                    "vector: a sparse index is queried by sparse_vector (or id), not by a dense vector",
                    field="vector",
                )
            if (sq is None) == (id is None):
                raise InvalidArgumentError(
                    "query of a sparse index needs exactly one of sparse_vector (with at least one value) "
                    "or id",
                    field="sparse_vector",
                )
        else:
            if sq is not None and cfg.metric != "dotproduct":
                raise InvalidArgumentError(
                    f"sparse_vector: hybrid queries need an index with metric dotproduct; this one is "
                    f"{cfg.metric}",
                    field="sparse_vector",
                )
            if (vector is None) == (id is None):
                raise InvalidArgumentError("query needs exactly one of vector or id", field="vector")
        q = validate_query_vector(vector, cfg.dimension) if vector is not None else None  # zeros too
        rid = validate_id(id, field="id") if id is not None else None
        return q, sq, rid

    def _vector(self, ns: Namespace, rid: str) -> Vector:
        block, row = ns.locate(rid)
        meta = block.metadata[row]
        return Vector(
            id=rid,
            values=block.vectors[row].tolist(),
            metadata=_copy_meta(meta) if meta else None,
            sparse_values=_sparse_of(block, row),
        )

    def fetch(self, ids: object, namespace: object = "", timeout: float | None = None) -> FetchResponse:
        id_list = validate_ids(ids, max_count=limits.FETCH_MAX_IDS)
        ns_name = validate_namespace(namespace)

        def run() -> dict[str, Vector]:
            ns = self._st.namespaces.get(ns_name)
            if ns is None:
                return {}
            return {rid: self._vector(ns, rid) for rid in id_list if rid in ns.loc}

        vectors = self._st.read(run)
        return FetchResponse(
            vectors=vectors, namespace=ns_name, usage=Usage(read_units=max(1, len(vectors) // 10))
        )

    def fetch_by_metadata(
        self,
        filter: object,
        namespace: object = "",
        limit: object = None,
        pagination_token: object = None,
        timeout: float | None = None,
    ) -> FetchByMetadataResponse:
        ns_name = validate_namespace(namespace)
        flt = self._parse_filter(filter, required="Empty filter provided for fetch by metadata request")
        lim = validate_limit(
            limit, limits.FETCH_BY_METADATA_LIMIT_DEFAULT, limits.FETCH_BY_METADATA_LIMIT_MAX
        )
        after = decode_token(pagination_token)

        def run() -> tuple[dict[str, Vector], str | None]:
            ns = self._st.namespaces.get(ns_name)
            if ns is None:
                return {}, None
            page, more = ns.page_matching(flt, after, lim)
            return {rid: self._vector(ns, rid) for rid in page}, (encode_token(page[-1]) if more else None)

        vectors, nxt = self._st.read(run)
        return FetchByMetadataResponse(
            vectors=vectors,
            namespace=ns_name,
            usage=Usage(read_units=max(1, len(vectors) // 10)),
            pagination=Pagination(next=nxt) if nxt else None,
        )

    def update(
        self,
        id: object = None,
        values: object = None,
        sparse_values: object = None,
        set_metadata: object = None,
        namespace: object = "",
        filter: object = None,
        dry_run: bool = False,
        timeout: float | None = None,
    ) -> UpdateResponse:
        self._vector_api("update")
        cfg = self.config
        ns_name = validate_namespace(namespace)
        if (id is None) == (filter is None):
            raise InvalidArgumentError("update needs exactly one of id or filter", field="id")
        patch = validate_metadata(set_metadata, field="set_metadata") if set_metadata is not None else None
        sp = validate_sparse(sparse_values, field="sparse_values")
        if id is not None:
            rid = validate_id(id)
            vec = None
            if values is not None and cfg.vector_type == "sparse":
                if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or len(values):
                    raise InvalidArgumentError(
                        "values: a sparse index takes no dense values; update sparse_values instead",
                        field="values",
                    )
            elif values is not None:
                vec = validate_values(values, cfg.dimension, cfg.metric)
            if sp is not None and cfg.metric != "dotproduct":
                raise InvalidArgumentError(
                    "sparse_values: sparse values need an index with metric dotproduct (hybrid); this one "
                    f"is {cfg.metric}",
                    field="sparse_values",
                )
            if vec is None and sp is None and patch is None:
                raise InvalidArgumentError(
                    "update by id needs values, sparse_values or set_metadata", field="values"
                )
            return self._update_one(ns_name, rid, vec, sp, patch)
        if values is not None or sp is not None:
            raise InvalidArgumentError(
                "update by filter changes metadata only; values and sparse_values are not allowed",
                field="values" if values is not None else "sparse_values",
            )
        flt = self._parse_filter(filter, required="Update with empty metadata filter is not allowed")
        if patch is None and not dry_run:
            raise InvalidArgumentError("update by filter needs set_metadata", field="set_metadata")

        def resolve() -> tuple[list[Op], int]:
            ns = self._st.namespaces.get(ns_name)
            ids = ns.matching_ids(flt) if ns is not None else []
            if dry_run or not ids or not patch:
                return [], len(ids)
            assert ns is not None
            present, vectors, metas, sparse = ns.patched(sorted(ids), patch)
            return [Upsert(ns_name, present, vectors, metas, sparse)], len(ids)

        lsn, matched = self._st.write(resolve)
        return UpdateResponse(matched_records=matched, lsn=lsn)

    def _update_one(
        self, ns_name: str, rid: str, vec: Any, sparse: tuple[Any, Any] | None, patch: Metadata | None
    ) -> UpdateResponse:
        """Values and sparse values given replace the stored ones, ``patch`` merges into the metadata; the
        whole new record is logged (``storage.ops``)."""

        def resolve() -> tuple[list[Op], int]:
            ns = self._st.namespaces.get(ns_name)
            if ns is None or rid not in ns.loc:
                return [], 0
            new_vec = vec if vec is not None else ns.values_of(rid)
            new_sparse = sparse if sparse is not None else ns.sparse_of(rid)
            meta = ns.metadata_of(rid)
            new_meta = {**meta, **patch} if patch is not None else dict(meta)
            rows = SparseRows.from_rows([new_sparse]) if len(new_sparse[0]) else None
            return [Upsert(ns_name, [rid], np.array([new_vec], dtype=np.float32), [new_meta], rows)], 1

        lsn, matched = self._st.write(resolve)
        return UpdateResponse(matched_records=matched, lsn=lsn)

    def delete(
        self,
        ids: object = None,
        delete_all: bool = False,
        filter: object = None,
        namespace: object = "",
        timeout: float | None = None,
    ) -> WriteResponse:
        ns_name = validate_namespace(namespace)
        given = sum(x for x in (ids is not None, bool(delete_all), filter is not None))
        if given != 1:
            raise InvalidArgumentError("delete needs exactly one of ids, delete_all or filter", field="ids")
        if delete_all:
            return WriteResponse(lsn=self._st.drop_namespace(ns_name))
        if ids is not None:
            return WriteResponse(
                lsn=self._st.delete_ids(ns_name, validate_ids(ids, max_count=limits.DELETE_MAX_IDS))
            )
        flt = self._parse_filter(filter, required="Delete with empty metadata filter is not allowed")
        return WriteResponse(lsn=self._st.delete_matching(ns_name, flt)[0])

    def list_paginated(
        self,
        prefix: object = None,
        limit: object = None,
        pagination_token: object = None,
        namespace: object = "",
        timeout: float | None = None,
    ) -> ListResponse:
        ns_name = validate_namespace(namespace)
        pre = validate_id_prefix(prefix)
        lim = validate_limit(limit, limits.LIST_LIMIT_DEFAULT, limits.LIST_LIMIT_MAX)
        after = decode_token(pagination_token)

        def run() -> tuple[list[str], bool]:
            ns = self._st.namespaces.get(ns_name)
            return ns.list_ids(pre, after, lim) if ns is not None else ([], False)

        ids, more = self._st.read(run)
        return ListResponse(
            vectors=[ListItem(id=i) for i in ids],
            namespace=ns_name,
            usage=Usage(read_units=1),
            pagination=Pagination(next=encode_token(ids[-1])) if more else None,
        )

    def describe_index_stats(self, filter: object = None, timeout: float | None = None) -> IndexStats:
        flt = self._parse_filter(filter)

        def run() -> tuple[dict[str, NamespaceSummary], int, int, int]:
            spaces = {
                name: NamespaceSummary(vector_count=ns.count_matching(flt))
                for name, ns in sorted(self._st.namespaces.items())
            }
            nss = self._st.namespaces.values()
            unindexed = self._maint.pending_rows()
            return spaces, sum(ns.count for ns in nss), sum(ns.pending_deletions for ns in nss), unindexed

        spaces, total, pending, unindexed = self._st.read(run)
        return IndexStats(
            namespaces=spaces,
            dimension=self.config.dimension,
            index_fullness=0.0,
            total_vector_count=total,
            metric=self.config.metric,
            vector_type=self.config.vector_type,
            pending_deletions=pending,
            unindexed_records=unindexed,
            background_error=self._maint.error or (DISK_FULL_NOTE if self._st.store.out_of_space else None),
        )

    def storage(self, *, objects: bool = True) -> IndexStorage:
        """How the index is stored (``IndexStorage``): counts under the read lock, then (unless not
        ``objects``: ``objects`` and ``local_bytes`` are then 0) one listing of the index's prefix (a LIST on
        a bucket) and the bytes of it held on this machine (``ObjectStore.local_bytes``: a bucket's objects
        are not fetched for this)."""
        st = self._st

        def run() -> tuple[dict[str, NamespaceStorage], int]:
            spaces = {
                name: NamespaceStorage(
                    records=ns.count,
                    segments=len(ns.segments),
                    segments_with_graph=sum(b.ann is not None for b in ns.segments),
                    memtable_records=ns.memtable.n_alive + sum(b.n_alive for b in ns.frozen),
                    pending_deletions=ns.pending_deletions,
                )
                for name, ns in sorted(st.namespaces.items())
            }
            return spaces, self._maint.pending_rows()

        spaces, unindexed = st.read(run)
        done = self._maint.done
        keys = st.store.list(st.prefix) if objects else []
        local = st.store.local_bytes(st.prefix) if objects else 0
        return IndexStorage(
            name=self.config.name,
            lsn=st.lsn,
            manifest_version=st.manifest.version,
            manifest_lsn=int(st.manifest_doc["lsn"]),
            unflushed_log_entries=st.unflushed_entries,
            unflushed_log_bytes=st.unflushed_bytes,
            unindexed_records=unindexed,
            objects=len(keys),
            local_bytes=local,
            namespaces=spaces,
            flushes=done.flushes,
            flush_seconds=round(done.flush_seconds, 6),
            compactions=done.compactions,
            compaction_seconds=round(done.compaction_seconds, 6),
            bytes_written=done.bytes_written,
            background_error=self._maint.error,
        )

    # ================================================================ namespaces

    def list_namespaces_paginated(
        self, prefix: object = None, limit: object = None, pagination_token: object = None
    ) -> ListNamespacesResponse:
        if prefix is not None and not isinstance(prefix, str):
            raise InvalidArgumentError("prefix must be a string", field="prefix")
        pre = prefix or ""
        lim = validate_limit(limit, limits.LIST_LIMIT_DEFAULT, limits.LIST_LIMIT_MAX)
        after = decode_token(pagination_token)

        def run() -> tuple[list[NamespaceDescription], int, str | None]:
            names = sorted(_public_ns(n) for n in self._st.namespaces if _public_ns(n).startswith(pre))
            rest = [n for n in names if after is None or n > after]
            page = rest[:lim]
            descs = [
                NamespaceDescription(name=n, record_count=self._st.namespaces[validate_namespace(n)].count)
                for n in page
            ]
            return descs, len(names), (encode_token(page[-1]) if len(rest) > lim else None)

        descs, total, nxt = self._st.read(run)
        return ListNamespacesResponse(
            namespaces=descs, total_count=total, pagination=Pagination(next=nxt) if nxt else None
        )

    def describe_namespace(self, name: object = None, *, namespace: object = None) -> NamespaceDescription:
        ns_name = validate_namespace(_namespace_arg(name, namespace), field="name")

        def run() -> NamespaceDescription:
            ns = self._st.namespaces.get(ns_name)
            if ns is None:
                raise NotFoundError(f"Namespace {_public_ns(ns_name)} not found.", field="namespace")
            return NamespaceDescription(name=_public_ns(ns_name), record_count=ns.count)

        return self._st.read(run)

    def create_namespace(self, name: object, schema: object = None) -> NamespaceDescription:
        if name == limits.DEFAULT_NAMESPACE_ALIAS or name == "":
            raise InvalidArgumentError(
                "name: the default namespace cannot be created; it always exists implicitly", field="name"
            )
        ns_name = validate_namespace(name, field="name")

        def resolve() -> tuple[list[Op], None]:
            if ns_name in self._st.namespaces:
                raise AlreadyExistsError(f"Namespace {ns_name} already exists.", field="name")
            return [CreateNamespace(ns_name)], None

        self._st.write(resolve)
        return NamespaceDescription(name=ns_name, record_count=0)

    def delete_namespace(
        self, name: object = None, timeout: float | None = None, *, namespace: object = None
    ) -> WriteResponse:
        ns_name = validate_namespace(_namespace_arg(name, namespace), field="name")

        def resolve() -> tuple[list[Op], None]:
            if ns_name not in self._st.namespaces:
                raise NotFoundError(f"Namespace {_public_ns(ns_name)} not found.", field="namespace")
            return [DropNamespace(ns_name)], None

        return WriteResponse(lsn=self._st.write(resolve)[0])

    # ================================================================ lifecycle

    @property
    def holds_background(self) -> bool:
        """Whether this process holds the index's background-work lease (always, on a local store): only
        the holder flushes and compacts (``storage.lease``)."""
        return self._maint.lease.held()

    def flush(self) -> None:
        """Turn the memtables into segments and commit a manifest now (also done on close). On a shared
        store this is the lease holder's work: a process that cannot take the lease leaves it to that one
        (which flushes within seconds: the log has every write meanwhile)."""
        self._st.check_writable()
        if self._hold():
            self._maint.flush_now()

    def compact(self) -> None:
        """Run every compaction that is due, now (the background thread does this on its own)."""
        self._st.check_writable()
        if self._hold():
            self._maint.run_once()

    def close(self, *, flush: bool = True, wait: float | None = None) -> None:
        """Stop background work (waiting for its thread at most ``wait`` seconds if given: a server's
        bounded shutdown; the step it was in is abandoned), flush the memtables if ``flush``, and close.
        Every acknowledged write is in the log either way."""
        st = self._st
        if not self._maint.stop(wait):
            log.warning("index %s: background step still running at close; abandoned", st.config.name)
            flush = False
        if st.closed:
            return
        if flush and st.failed is None and st.lsn > int(st.manifest_doc["lsn"]) and self._maint.lease.held():
            try:
                self._maint.flush_now()
            except DiskFullError as exc:
                log.warning("index %s: no flush on close (%s); the log has every write", st.config.name, exc)
            except Exception:  # a failing flush must not keep the store open: the log holds every write
                name = st.config.name
                log.warning("index %s: flush on close failed; the log holds every write", name, exc_info=True)
        with st.write_mu, st.rw.write():
            st.closed = True
        self._maint.lease.release()  # (a shared store: another process takes over at once)

    def _destroy(self) -> None:
        """Close without flushing and delete every object of this index (``Database.delete_index``), its
        config record first: from then on nothing could restore it (``engine.repair``)."""
        self.close(flush=False)
        keys = self._st.store.list(self._st.prefix)
        record = self._st.prefix + "config/"
        for key in sorted(keys, key=lambda k: not k.startswith(record)):
            self._st.store.delete(key)
