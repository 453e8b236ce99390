"""One index: its namespaces in memory, its log and manifest on the object store, and every record
operation with Pinecone's semantics.

Write path: validate the whole request (nothing is written on a bad input), resolve it against the
current state into operations (``storage.ops``: resolved effects, not intents), append them to the log
as one entry (durable when ``append`` returns), apply them in memory under the exclusive lock, and return
the entry's LSN. Writers are serialised by ``_write_mu``; readers share ``_rw`` and so always see whole
batches, and every batch acknowledged before the read began (read-your-writes).

Flush: when the memtables hold ``flush_rows`` rows, their live rows become segments, changed deletion
bitmaps are written, and a new manifest is committed naming them and the LSN they cover; then the log
below that LSN and the objects no manifest names are deleted.

Storage prefix of an index: ``indexes/<uid>/`` with ``log/``, ``manifest/``, ``seg/``, ``del/`` below it.

Manifest document (JSON, see ``storage.versioned``)::

    {"lsn": 42, "next_segment": 7,
     "namespaces": {"films": [{"segment": "indexes/<uid>/seg/000000000003.seg", "rows": 1000,
                               "deleted": "indexes/<uid>/del/000000000003.5" | null}]}}
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import numpy as np

from spruce import limits
from spruce.engine.block import Block
from spruce.engine.namespace import Hit, Namespace
from spruce.engine.pagination import decode_token, encode_token
from spruce.engine.rwlock import RWLock
from spruce.errors import (
    AlreadyExistsError,
    InvalidArgumentError,
    NotFoundError,
    StoreClosedError,
    StoreReadOnlyError,
)
from spruce.filter import Filter, parse_filter
from spruce.storage.log import Log
from spruce.storage.objectstore import ObjectStore
from spruce.storage.ops import (
    CreateNamespace,
    Delete,
    DropNamespace,
    Op,
    SetMetadata,
    Upsert,
    decode_ops,
    encode_ops,
)
from spruce.storage.segment import decode_deleted, encode_deleted, encode_segment, read_segment
from spruce.storage.versioned import VersionedDoc
from spruce.types import (
    FetchByMetadataResponse,
    FetchResponse,
    IndexConfig,
    IndexStats,
    ListItem,
    ListNamespacesResponse,
    ListResponse,
    Metadata,
    NamespaceDescription,
    NamespaceSummary,
    Pagination,
    QueryResponse,
    ScoredVector,
    UpdateResponse,
    UpsertResponse,
    Usage,
    Vector,
    WriteResponse,
    validate_batch,
    validate_id,
    validate_ids,
    validate_int,
    validate_metadata,
    validate_namespace,
    validate_top_k,
    validate_values,
)

__all__ = ["DEFAULT_FLUSH_ROWS", "IndexEngine"]

DEFAULT_FLUSH_ROWS = 50_000
log = logging.getLogger("spruce.engine")
T = TypeVar("T")


def _public_ns(name: str) -> str:
    """The namespace APIs call the default namespace ``__default__``."""
    return name or limits.DEFAULT_NAMESPACE_ALIAS


def _copy_meta(meta: Metadata) -> Metadata:
    return {k: (list(v) if isinstance(v, list) else v) for k, v in meta.items()}


class IndexEngine:
    def __init__(
        self, store: ObjectStore, config: IndexConfig, *, flush_rows: int = DEFAULT_FLUSH_ROWS
    ) -> None:
        self.config = config
        self.store = store
        self.flush_rows = flush_rows
        self.prefix = f"indexes/{config.uid}/"
        self.log = Log(store, self.prefix + "log/")
        self._manifest = VersionedDoc(store, self.prefix + "manifest/", b"SPRM")
        self._manifest_doc: dict[str, Any] = {"lsn": 0, "next_segment": 1, "namespaces": {}}
        self.namespaces: dict[str, Namespace] = {}
        self.lsn = 0
        self._write_mu = threading.Lock()
        self._rw = RWLock()
        self._closed = False
        self._failed: str | None = None
        self._recover()

    # ================================================================ recovery

    def _recover(self) -> None:
        doc = self._manifest.load()
        if doc is not None:
            self._manifest_doc = doc
            self.lsn = doc["lsn"]
            for name, segs in doc["namespaces"].items():
                ns = self.namespaces[name] = Namespace(name, self.config.dimension)
                for s in segs:
                    ns.add_segment(self._load_segment(s))
        for lsn, payload in self.log.recover(self.lsn):
            self._apply(decode_ops(payload))
            self.lsn = lsn
        self._collect_garbage()

    def _load_segment(self, s: Mapping[str, Any]) -> Block:
        contents = read_segment(self.store, s["segment"])
        alive = None
        if s["deleted"] is not None:
            alive = ~decode_deleted(self.store.get(s["deleted"]), len(contents.ids), s["deleted"])
        block = Block(
            self.config.dimension,
            ids=contents.ids,
            vectors=contents.vectors,
            metadata=contents.metadata,
            segment_key=s["segment"],
            alive=alive,
        )
        block.deleted_key = s["deleted"]
        return block

    # ================================================================ write path

    def _apply(self, ops: list[Op]) -> None:
        dim = self.config.dimension
        for op in ops:
            if isinstance(op, DropNamespace):
                self.namespaces.pop(op.ns, None)
                continue
            ns = self.namespaces.get(op.ns)
            if ns is None:
                ns = self.namespaces[op.ns] = Namespace(op.ns, dim)
            if isinstance(op, Upsert):
                ns.upsert(op.ids, op.vectors, op.metadata)
            elif isinstance(op, Delete):
                ns.delete(op.ids)
            elif isinstance(op, SetMetadata):
                ns.set_metadata(op.ids, op.patch)

    def _check_open(self) -> None:
        if self._closed:
            raise StoreClosedError(f"index {self.config.name!r} is closed or was deleted")

    def _write(self, resolve: Callable[[], tuple[list[Op], T]]) -> tuple[int, T]:
        """Resolve, log and apply one batch; returns its LSN (the current LSN if nothing changed)."""
        with self._write_mu:
            self._check_open()
            if self._failed is not None:
                raise StoreReadOnlyError(self._failed)
            ops, result = resolve()
            if not ops:
                return self.lsn, result
            lsn = self.log.append(encode_ops(ops))
            try:
                with self._rw.write():
                    self._apply(ops)
                    self.lsn = lsn
            except BaseException:
                self._failed = "an internal error interrupted applying a logged write; reopen the store"
                log.exception("apply of LSN %d failed; index %s refuses writes", lsn, self.config.name)
                raise
            if sum(ns.memtable.n for ns in self.namespaces.values()) >= self.flush_rows:
                try:
                    self._flush_locked()
                except StoreReadOnlyError:  # the write itself is durable: acknowledge it, flush later
                    log.exception("index %s: flush failed; writes now refused", self.config.name)
            return lsn, result

    def _read(self, fn: Callable[[], T]) -> T:
        with self._rw.read():
            self._check_open()
            return fn()

    # ================================================================ records

    def upsert(self, vectors: object, namespace: object = "") -> UpsertResponse:
        ns = validate_namespace(namespace)
        batch = validate_batch(vectors, self.config.dimension, self.config.metric)
        count = len(vectors)  # type: ignore[arg-type]  # validate_batch checked it is a sequence
        lsn, _ = self._write(lambda: ([Upsert(ns, batch.ids, batch.vectors, batch.metadata)], None))
        return UpsertResponse(upserted_count=count, lsn=lsn)

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
    ) -> QueryResponse:
        k = validate_top_k(top_k)
        ns_name = validate_namespace(namespace)
        if sparse_vector:
            raise InvalidArgumentError(
                "sparse_vector: sparse queries are not supported on a dense index", field="sparse_vector"
            )
        if (vector is None) == (id is None):
            raise InvalidArgumentError("query needs exactly one of vector or id", field="vector")
        q = None
        if vector is not None:
            q = validate_values(vector, self.config.dimension, self.config.metric, field="vector")
        rid = validate_id(id, field="id") if id is not None else None
        flt = self._parse_filter(filter)

        def run() -> list[Hit]:
            ns = self.namespaces.get(ns_name)
            if ns is None:
                return []
            qv = q
            if qv is None:
                if rid not in ns.loc:
                    return []
                qv = np.array(ns.values_of(rid), dtype=np.float32)
            return ns.search(qv, k, self.config.metric, flt)

        hits = self._read(run)
        matches = [
            ScoredVector(
                id=h.id,
                score=h.score,
                values=h.block.vectors[h.row].tolist() if include_values else None,
                metadata=_copy_meta(h.block.metadata[h.row]) if include_metadata else None,
            )
            for h in hits
        ]
        return QueryResponse(
            matches=matches, namespace=ns_name, usage=Usage(read_units=max(1, len(hits) // 10))
        )

    def _vector(self, ns: Namespace, rid: str) -> Vector:
        block, row = ns.loc[rid]
        return Vector(id=rid, values=block.vectors[row].tolist(), metadata=_copy_meta(block.metadata[row]))

    def fetch(self, ids: object, namespace: object = "") -> FetchResponse:
        id_list = validate_ids(ids, max_count=limits.FETCH_MAX_IDS)
        ns_name = validate_namespace(namespace)

        def run() -> dict[str, Vector]:
            ns = self.namespaces.get(ns_name)
            if ns is None:
                return {}
            return {rid: self._vector(ns, rid) for rid in id_list if rid in ns.loc}

        vectors = self._read(run)
        return FetchResponse(
            vectors=vectors, namespace=ns_name, usage=Usage(read_units=max(1, len(vectors) // 10))
        )

    def fetch_by_metadata(
        self, filter: object, namespace: object = "", limit: object = None, pagination_token: object = None
    ) -> FetchByMetadataResponse:
        ns_name = validate_namespace(namespace)
        flt = self._parse_filter(filter, required="Empty filter provided for fetch by metadata request")
        lim = (
            limits.FETCH_BY_METADATA_LIMIT_DEFAULT
            if limit is None
            else validate_int(limit, 1, limits.FETCH_BY_METADATA_LIMIT_MAX, field="limit")
        )
        after = decode_token(pagination_token)

        def run() -> tuple[dict[str, Vector], str | None]:
            ns = self.namespaces.get(ns_name)
            if ns is None:
                return {}, None
            ids = sorted(rid for rid in ns.matching_ids(flt) if after is None or rid > after)
            page = ids[:lim]
            nxt = encode_token(page[-1]) if len(ids) > lim else None
            return {rid: self._vector(ns, rid) for rid in page}, nxt

        vectors, nxt = self._read(run)
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
        set_metadata: object = None,
        namespace: object = "",
        filter: object = None,
        dry_run: bool = False,
        sparse_values: object = None,
    ) -> UpdateResponse:
        ns_name = validate_namespace(namespace)
        if sparse_values:
            raise InvalidArgumentError(
                "sparse_values: sparse values are not supported on a dense index", field="sparse_values"
            )
        if (id is None) == (filter is None):
            raise InvalidArgumentError("update needs exactly one of id or filter", field="id")
        patch = validate_metadata(set_metadata, field="set_metadata") if set_metadata is not None else None
        if id is not None:
            rid = validate_id(id)
            vec = None
            if values is not None:
                vec = validate_values(values, self.config.dimension, self.config.metric)
            if vec is None and patch is None:
                raise InvalidArgumentError("update by id needs values or set_metadata", field="values")
            return self._update_one(ns_name, rid, vec, patch)
        if values is not None:
            raise InvalidArgumentError(
                "update by filter changes metadata only; values are not allowed", field="values"
            )
        flt = self._parse_filter(filter, required="Update with empty metadata filter is not allowed")
        if patch is None and not dry_run:
            raise InvalidArgumentError("update by filter needs set_metadata", field="set_metadata")

        def resolve() -> tuple[list[Op], int]:
            ns = self.namespaces.get(ns_name)
            ids = ns.matching_ids(flt) if ns is not None else []
            if dry_run or not ids or not patch:
                return [], len(ids)
            return [SetMetadata(ns_name, sorted(ids), patch)], len(ids)

        lsn, matched = self._write(resolve)
        return UpdateResponse(matched_records=matched, lsn=lsn)

    def _update_one(self, ns_name: str, rid: str, vec: Any, patch: Metadata | None) -> UpdateResponse:
        def resolve() -> tuple[list[Op], int]:
            ns = self.namespaces.get(ns_name)
            if ns is None or rid not in ns.loc:
                return [], 0
            new_vec = vec if vec is not None else ns.values_of(rid)
            meta = ns.metadata_of(rid)
            new_meta = {**meta, **patch} if patch is not None else dict(meta)
            return [Upsert(ns_name, [rid], np.array([new_vec], dtype=np.float32), [new_meta])], 1

        lsn, matched = self._write(resolve)
        return UpdateResponse(matched_records=matched, lsn=lsn)

    def delete(
        self, ids: object = None, delete_all: bool = False, namespace: object = "", filter: object = None
    ) -> WriteResponse:
        ns_name = validate_namespace(namespace)
        given = sum(x for x in (ids is not None, bool(delete_all), filter is not None))
        if given != 1:
            raise InvalidArgumentError("delete needs exactly one of ids, delete_all or filter", field="ids")
        if delete_all:
            return WriteResponse(
                lsn=self._write(
                    lambda: ([DropNamespace(ns_name)] if ns_name in self.namespaces else [], None)
                )[0]
            )
        if ids is not None:
            id_list = validate_ids(ids, max_count=limits.DELETE_MAX_IDS)

            def resolve_ids() -> tuple[list[Op], None]:
                ns = self.namespaces.get(ns_name)
                present = [rid for rid in dict.fromkeys(id_list) if ns is not None and rid in ns.loc]
                return ([Delete(ns_name, present)] if present else []), None

            return WriteResponse(lsn=self._write(resolve_ids)[0])
        flt = self._parse_filter(filter, required="Delete with empty metadata filter is not allowed")

        def resolve_filter() -> tuple[list[Op], None]:
            ns = self.namespaces.get(ns_name)
            matched = ns.matching_ids(flt) if ns is not None else []
            return ([Delete(ns_name, sorted(matched))] if matched else []), None

        return WriteResponse(lsn=self._write(resolve_filter)[0])

    def list_paginated(
        self,
        prefix: object = None,
        limit: object = None,
        pagination_token: object = None,
        namespace: object = "",
    ) -> ListResponse:
        ns_name = validate_namespace(namespace)
        pre = ""
        if prefix is not None:
            if not isinstance(prefix, str) or len(prefix) > limits.ID_MAX_LEN or not prefix.isascii():
                raise InvalidArgumentError(
                    f"prefix must be an ASCII string of at most {limits.ID_MAX_LEN} characters",
                    field="prefix",
                )
            pre = prefix
        lim = (
            limits.LIST_LIMIT_DEFAULT
            if limit is None
            else validate_int(limit, 1, limits.LIST_LIMIT_MAX, field="limit")
        )
        after = decode_token(pagination_token)

        def run() -> tuple[list[str], bool]:
            ns = self.namespaces.get(ns_name)
            return ns.list_ids(pre, after, lim) if ns is not None else ([], False)

        ids, more = self._read(run)
        return ListResponse(
            vectors=[ListItem(id=i) for i in ids],
            namespace=ns_name,
            usage=Usage(read_units=1),
            pagination=Pagination(next=encode_token(ids[-1])) if more else None,
        )

    def describe_index_stats(self, filter: object = None) -> IndexStats:
        flt = self._parse_filter(filter)

        def run() -> tuple[dict[str, NamespaceSummary], int]:
            spaces = {
                name: NamespaceSummary(vector_count=ns.count_matching(flt))
                for name, ns in sorted(self.namespaces.items())
            }
            return spaces, sum(ns.count for ns in self.namespaces.values())

        spaces, total = self._read(run)
        return IndexStats(
            namespaces=spaces,
            dimension=self.config.dimension,
            index_fullness=0.0,
            total_vector_count=total,
            metric=self.config.metric,
        )

    # ================================================================ namespaces

    def list_namespaces(
        self, prefix: object = None, limit: object = None, pagination_token: object = None
    ) -> ListNamespacesResponse:
        if prefix is not None and not isinstance(prefix, str):
            raise InvalidArgumentError("prefix must be a string", field="prefix")
        pre = prefix or ""
        lim = (
            limits.LIST_LIMIT_DEFAULT
            if limit is None
            else validate_int(limit, 1, limits.LIST_LIMIT_MAX, field="limit")
        )
        after = decode_token(pagination_token)

        def run() -> tuple[list[NamespaceDescription], int, str | None]:
            names = sorted(_public_ns(n) for n in self.namespaces if _public_ns(n).startswith(pre))
            rest = [n for n in names if after is None or n > after]
            page = rest[:lim]
            descs = [
                NamespaceDescription(name=n, record_count=self.namespaces[validate_namespace(n)].count)
                for n in page
            ]
            return descs, len(names), (encode_token(page[-1]) if len(rest) > lim else None)

        descs, total, nxt = self._read(run)
        return ListNamespacesResponse(
            namespaces=descs, total_count=total, pagination=Pagination(next=nxt) if nxt else None
        )

    def describe_namespace(self, namespace: object) -> NamespaceDescription:
        ns_name = validate_namespace(namespace)

        def run() -> NamespaceDescription:
            ns = self.namespaces.get(ns_name)
            if ns is None:
                raise NotFoundError(f"Namespace {_public_ns(ns_name)} not found.", field="namespace")
            return NamespaceDescription(name=_public_ns(ns_name), record_count=ns.count)

        return self._read(run)

    def create_namespace(self, name: object) -> NamespaceDescription:
        if name == limits.DEFAULT_NAMESPACE_ALIAS or name == "":
            raise InvalidArgumentError(
                "name: the default namespace cannot be created; it always exists implicitly", field="name"
            )
        ns_name = validate_namespace(name, field="name")

        def resolve() -> tuple[list[Op], None]:
            if ns_name in self.namespaces:
                raise AlreadyExistsError(f"Namespace {ns_name} already exists.", field="name")
            return [CreateNamespace(ns_name)], None

        self._write(resolve)
        return NamespaceDescription(name=ns_name, record_count=0)

    def delete_namespace(self, namespace: object) -> WriteResponse:
        ns_name = validate_namespace(namespace)

        def resolve() -> tuple[list[Op], None]:
            if ns_name not in self.namespaces:
                raise NotFoundError(f"Namespace {_public_ns(ns_name)} not found.", field="namespace")
            return [DropNamespace(ns_name)], None

        return WriteResponse(lsn=self._write(resolve)[0])

    # ================================================================ flush and lifecycle

    def flush(self) -> None:
        """Turn the memtables into segments and commit a manifest (also done on close)."""
        with self._write_mu:
            self._check_open()
            self._flush_locked()

    def _flush_locked(self) -> None:
        if self._failed is not None:
            return
        next_seg = int(self._manifest_doc["next_segment"])
        version = self._manifest.version + 1
        fresh: dict[str, Block] = {}
        for name, ns in self.namespaces.items():
            mem = ns.memtable
            if mem.n_alive == 0:
                continue
            rows = mem.live_rows()
            ids = [mem.ids[r] for r in rows.tolist()]
            vecs = np.ascontiguousarray(mem.vectors[rows])
            metas = [mem.metadata[r] for r in rows.tolist()]
            key = f"{self.prefix}seg/{next_seg:012d}.seg"
            next_seg += 1
            self.store.put_if_absent(key, encode_segment(ids, vecs, metas))
            fresh[name] = Block(self.config.dimension, ids=ids, vectors=vecs, metadata=metas, segment_key=key)
        new_del: dict[int, str] = {}
        for ns in self.namespaces.values():
            for block in ns.segments:
                if block.deleted_dirty and block.n_alive > 0:
                    seg_no = block.segment_key.rsplit("/", 1)[1].split(".")[0]  # type: ignore[union-attr]
                    key = f"{self.prefix}del/{seg_no}.{version}"
                    self.store.put_if_absent(key, encode_deleted(~block.alive))
                    new_del[id(block)] = key
        doc: dict[str, Any] = {"lsn": self.lsn, "next_segment": next_seg, "namespaces": {}}
        for name, ns in self.namespaces.items():
            entries = [
                {"segment": b.segment_key, "rows": b.n, "deleted": new_del.get(id(b), b.deleted_key)}
                for b in ns.segments
                if b.n_alive > 0
            ]
            if name in fresh:
                entries.append({"segment": fresh[name].segment_key, "rows": fresh[name].n, "deleted": None})
            doc["namespaces"][name] = entries
        self._manifest.commit(doc)
        self._manifest_doc = doc
        with self._rw.write():
            for name, ns in self.namespaces.items():
                for b in ns.segments:
                    if id(b) in new_del:
                        b.deleted_key = new_del[id(b)]
                        b.deleted_dirty = False
                ns.segments = [b for b in ns.segments if b.n_alive > 0]
                if name in fresh:
                    ns.add_segment(fresh[name], new_ids=False)
                ns.memtable = Block(self.config.dimension)
        self.log.truncate_upto(self.lsn)
        self._collect_garbage()

    def _collect_garbage(self) -> None:
        """Delete segment and bitmap objects the committed manifest does not name (crash leftovers too)."""
        keep: set[str] = set()
        for segs in self._manifest_doc["namespaces"].values():
            for s in segs:
                keep.add(s["segment"])
                if s["deleted"] is not None:
                    keep.add(s["deleted"])
        for sub in ("seg/", "del/"):
            for key in self.store.list(self.prefix + sub):
                if key not in keep:
                    self.store.delete(key)

    def close(self, *, flush: bool = True) -> None:
        with self._write_mu:
            if self._closed:
                return
            if flush and self._failed is None and self.lsn > int(self._manifest_doc["lsn"]):
                try:
                    self._flush_locked()
                except StoreReadOnlyError:
                    log.warning(
                        "index %s: flush on close failed; the log still holds every write", self.config.name
                    )
            with self._rw.write():
                self._closed = True

    def destroy(self) -> None:
        """Close without flushing and delete every object of this index."""
        self.close(flush=False)
        for key in self.store.list(self.prefix):
            self.store.delete(key)
