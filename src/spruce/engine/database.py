"""The database: a catalog of indexes in one object store, each index an ``IndexEngine``.

Catalog document (a ``storage.versioned`` document under ``catalog/``, magic ``SPRC``)::

    {"indexes": [{"name": "docs", "dimension": 384, "metric": "cosine", "uid": "<32 hex>",
                  "spec": {...}, "deletion_protection": "disabled", "tags": {}, "vector_type": "dense",
                  "created_at": 1764240000.0, "number": 3, "documents": null}],
     "next_number": 4}

``documents`` is a document index's schema (``spruce.docschema``; null for a vector index).

``number`` counts index creations over the store's life and is never reused (the server's per-index port
is derived from it). A catalog written before numbers existed has neither key: its indexes are numbered
1, 2, ... in catalog (creation) order when it is read, and the next commit stores them.

``dropped`` lists the uids of deleted indexes whose objects may not all be removed yet (a uid leaves the
list at the first commit after its prefix is empty).

An index's data lives under ``indexes/<uid>/``; a fresh uid per creation means an index re-created under a
deleted name starts empty even if the old objects were not yet removed. Each index also keeps its own
configuration there, ``indexes/<uid>/config/`` (a ``storage.versioned`` document, magic ``SPRI``, the same
JSON as its catalog entry), written before every catalog commit that adds or changes it: the record
``spruce repair`` rebuilds a lost or damaged catalog from (``engine.repair``).

Deleting an index commits the catalog without it and with its uid in ``dropped`` (the commit point), then
removes its objects, its configuration record first (so that a repair cannot bring it back). Opening the
store finishes such removals: ``dropped`` proves those objects garbage. Nothing else is ever deleted at
open: a prefix the catalog neither lists nor drops is kept, with a warning (a create that crashed before
its catalog commit leaves one); a missing catalog while ``indexes/`` holds data, or a damaged one, refuses
to open (``DataCorruptionError``) and points at ``spruce repair``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from typing import Any, TypeVar, Unpack

from spruce.api import ControlPlane
from spruce.docschema import parse_schema
from spruce.engine.index import IndexEngine
from spruce.engine.indexes import Indexes
from spruce.engine.tuning import (
    ANN_MIN_ROWS,
    DEFAULT_DISK_RESERVE,
    DEFAULT_FLUSH_LOG_BYTES,
    DEFAULT_FLUSH_LOG_RECORDS,
    DEFAULT_FLUSH_ROWS,
    DEFAULT_GRAPH_STEP_SECONDS,
    DEFAULT_GRAPH_STEP_WORK,
    Tuning,
    TuningArgs,
)
from spruce.errors import (
    AlreadyExistsError,
    DataCorruptionError,
    ForbiddenError,
    InvalidArgumentError,
    NotFoundError,
    StoreUnavailableError,
)
from spruce.storage.objectstore import ObjectStore
from spruce.storage.stores import open_store
from spruce.storage.versioned import VersionedDoc, VersionTaken
from spruce.types import (
    IndexConfig,
    IndexList,
    validate_deletion_protection,
    validate_dimension,
    validate_index_name,
    validate_metric,
    validate_tags,
    validate_vector_type,
)

__all__ = ["CATALOG_PREFIX", "Database", "config_record"]

CATALOG_PREFIX = "catalog/"
SYNC_S = 1.0  # a shared store: how often a process catches up with the others (``_start_sharing``)
T = TypeVar("T")
REPAIR_HINT = "Run `spruce repair --data DIR` to rebuild the catalog from the indexes' own records."
log = logging.getLogger("spruce.engine")


def config_record(store: ObjectStore, uid: str) -> VersionedDoc:
    """An index's own copy of its configuration (module docstring)."""
    return VersionedDoc(store, f"indexes/{uid}/config/", b"SPRI")


def uid_of(key: str) -> str:
    """The index uid of an object key under ``indexes/``."""
    return key.split("/", 2)[1]


_DEFAULT_METRIC = {"dense": "cosine", "sparse": "dotproduct"}
_VECTOR_FIELDS = {"_values": "dense_vector", "_sparse_values": "sparse_vector"}


class Database(ControlPlane):
    """The control plane of :class:`spruce.api.ControlPlane` over one object store.

    ``store`` is an object store, or where one lives: a local directory (created if missing) or an
    ``s3://bucket/prefix`` URL (``storage.stores``), locked against other processes while open.
    ``flush_rows``: memtable rows that trigger a flush to a segment;
    ``ann_min_rows``: the smallest segment that gets an HNSW graph (smaller ones are searched exactly);
    ``disk_reserve``, ``flush_log_bytes``, ``flush_log_records``, ``graph_step_work``,
    ``graph_step_seconds``: see ``engine.tuning``. All are tuning knobs. ``read_staleness``: see
    ``engine.tuning`` (a shared store only). ``background=False`` starts no maintenance threads: nothing
    is flushed or compacted but by explicit ``flush()``/``compact()`` calls (``spruce stats`` and
    ``spruce compact``, which must not start work they then abandon, or race the numbers they report).
    """

    def __init__(
        self,
        store: ObjectStore | str | os.PathLike[str],
        *,
        flush_rows: int = DEFAULT_FLUSH_ROWS,
        ann_min_rows: int = ANN_MIN_ROWS,
        disk_reserve: int = DEFAULT_DISK_RESERVE,
        flush_log_bytes: int = DEFAULT_FLUSH_LOG_BYTES,
        flush_log_records: int = DEFAULT_FLUSH_LOG_RECORDS,
        graph_step_work: int = DEFAULT_GRAPH_STEP_WORK,
        graph_step_seconds: float = DEFAULT_GRAPH_STEP_SECONDS,
        read_staleness: float = 0.0,
        background: bool = True,
    ) -> None:
        self._background = background
        self.tuning = Tuning(
            flush_rows=flush_rows,
            ann_min_rows=ann_min_rows,
            disk_reserve=disk_reserve,
            flush_log_bytes=flush_log_bytes,
            flush_log_records=flush_log_records,
            graph_step_work=graph_step_work,
            graph_step_seconds=graph_step_seconds,
            read_staleness=read_staleness,
        )
        if not isinstance(store, (str, os.PathLike)):
            self._load(store)
            return
        local = open_store(store)
        try:
            self._load(local)
        except BaseException:
            local.close()
            raise

    def _load(self, store: ObjectStore) -> None:
        """Read the catalog, open every index, and finish removing deleted indexes (module docstring)."""
        self.store = store
        self._mu = threading.RLock()
        self._catalog = VersionedDoc(store, CATALOG_PREFIX, b"SPRC")
        self._indexes: dict[str, IndexEngine] = {}
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        try:
            loaded = self._catalog.load()
        except DataCorruptionError as exc:
            raise DataCorruptionError(f"{exc}. {REPAIR_HINT}") from exc
        data = store.list("indexes/")
        if loaded is None and data:
            uids = sorted({uid_of(k) for k in data})
            raise DataCorruptionError(
                f"the catalog ({CATALOG_PREFIX}) is missing while indexes/ holds {len(data)} objects of "
                f"{len(uids)} indexes (e.g. indexes/{uids[0]}/): refusing to open with no indexes, nothing "
                f"was changed. {REPAIR_HINT}"
            )
        try:
            for cfg in self._configs(loaded):
                self._indexes[cfg.name] = self._engine(cfg)
            for engine in self._indexes.values():
                self._check_record(engine.config)
            self._collect(data)
        except BaseException:
            for engine in self._indexes.values():
                engine.close(flush=False)
            raise
        if store.shared:
            self._start_sharing()

    def _configs(self, loaded: dict[str, Any] | None) -> list[IndexConfig]:
        """The indexes of a catalog document (``dropped`` and ``next_number`` are taken from it too)."""
        doc = loaded or {"indexes": []}
        configs = [IndexConfig.from_json(d) for d in doc["indexes"]]
        self._dropped: set[str] = set(doc.get("dropped", []))
        self._next_number = max([doc.get("next_number", 1), *(c.number + 1 for c in configs)])
        out = []
        for cfg in configs:
            if not cfg.number:
                cfg = dataclasses.replace(cfg, number=self._next_number)
                self._next_number += 1
            out.append(cfg)
        return out

    # ------------------------------------------------------------ a shared store

    def _start_sharing(self) -> None:
        """A store other processes open too (a bucket): two threads keep this process in step with them.
        One renews the leases it holds every quarter period; the other, every ``SYNC_S``, picks up catalog
        changes (indexes created, configured or deleted elsewhere) and lets each index take a free lease,
        catch up on its log and adopt the holder's manifests (``IndexEngine.tick``)."""
        self._tick()  # a lone process takes the leases now, not a second from now
        period = float(getattr(self.store, "lease_seconds", 10.0)) / 4
        steps = (("spruce-leases", period, self._renew), ("spruce-sync", SYNC_S, self._tick))
        for name, every, step in steps:
            thread = threading.Thread(target=self._every, args=(every, step), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def _every(self, seconds: float, step: Callable[[], None]) -> None:
        while not self._stopping.wait(seconds):
            try:
                step()
            except StoreUnavailableError as exc:  # (an outage: said once per round, no traceback)
                log.warning("%s: %s; retried", threading.current_thread().name, exc)
            except Exception:
                log.warning("%s failed; retried", threading.current_thread().name, exc_info=True)

    def _renew(self) -> None:
        with self._mu:
            engines = list(self._indexes.values())
        for engine in engines:
            engine.renew_lease()

    def _tick(self) -> None:
        # (the listing that finds the catalog unchanged, nearly always, is made outside ``_mu``: every
        # data-plane request takes that lock for its index lookup, and would wait for the round trip)
        if self._catalog.newest_version() > self._catalog.version:
            self._refresh()
        with self._mu:
            engines = list(self._indexes.values())
        for engine in engines:
            if self._stopping.is_set():
                return
            try:
                engine.tick()
            except StoreUnavailableError as exc:
                log.warning("index %s: syncing with the store failed (%s); retried", engine.config.name, exc)
            except Exception:
                name = engine.config.name
                log.warning("index %s: syncing with the store failed; retried", name, exc_info=True)

    def _refresh(self) -> None:
        """Adopt the catalog as another process committed it: open indexes created there, close those
        deleted there (their objects are that process's to remove), take changed configurations."""
        if not self.store.shared:
            return
        with self._mu:
            newer = self._catalog.load_newer()
            if newer is None:
                return
            configs = {c.name: c for c in self._configs(newer)}
            for name, engine in list(self._indexes.items()):
                cfg = configs.get(name)
                if cfg is None or cfg.uid != engine.config.uid:
                    del self._indexes[name]
                    engine.close(flush=False)
                elif cfg != engine.config:
                    engine.config = cfg
            for name, cfg in configs.items():
                if name not in self._indexes:
                    self._indexes[name] = self._engine(cfg)

    def _shared_retry(self, change: Callable[[], T]) -> T:
        """Run a control-plane change; on a shared store, against the newest catalog, again if another
        process committed one meanwhile (``VersionTaken``): two creates of one name give one 201, one 409."""
        for _ in range(50):
            with self._mu:
                self._refresh()
                try:
                    return change()
                except VersionTaken:
                    if not self.store.shared:
                        raise
            time.sleep(0.01)
        raise StoreUnavailableError("the catalog kept changing under this change; retry it")

    def _check_record(self, config: IndexConfig) -> None:
        """Write an index's config record where it is missing (a store written before records existed)
        or damaged (it is a copy: the catalog's entry is the truth)."""
        record = config_record(self.store, config.uid)
        try:
            if record.load() == config.to_json():
                return
        except DataCorruptionError as exc:
            log.warning("index %s: its config record is damaged (%s); written again", config.name, exc)
        with contextlib.suppress(VersionTaken):  # (another process opening the store wrote it meanwhile)
            record.commit(config.to_json())

    def _collect(self, keys: list[str]) -> None:
        """Remove what deleted indexes left (their uids are in ``dropped``); keep and report the rest."""
        live = {e.config.uid for e in self._indexes.values()}
        unknown: dict[str, int] = {}
        for key in keys:
            uid = uid_of(key)
            if uid in self._dropped:
                self.store.delete(key)
            elif uid not in live:
                unknown[uid] = unknown.get(uid, 0) + 1
        for uid, count in sorted(unknown.items()):
            log.warning(
                "indexes/%s/ holds %d objects of an index the catalog does not name; kept (a create that "
                "crashed before its commit leaves one; `spruce repair --data DIR` restores an index from "
                "its config record)",
                uid,
                count,
            )

    def _engine(self, config: IndexConfig) -> IndexEngine:
        return IndexEngine(self.store, config, self.tuning, background=self._background)

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        **tuning: Unpack[TuningArgs],
    ) -> Database:
        """Open (or create) the store in a local directory, locking it against other processes; ``tuning``:
        the keywords of ``Database`` (``engine.tuning``)."""
        return cls(path, **tuning)

    def _commit_catalog(self, next_number: int | None = None, changed: IndexConfig | None = None) -> None:
        """Commit the catalog as the indexes now are; ``changed`` (a created or configured index) gets its
        own config record first, so that the record is never older than the catalog's entry."""
        if changed is not None:
            record = config_record(self.store, changed.uid)
            record.load()  # (its version: the next commit writes the one after)
            record.commit(changed.to_json())
        self._dropped = {u for u in self._dropped if self.store.list(f"indexes/{u}/")}
        indexes = [e.config.to_json() for e in self._indexes.values()]
        self._catalog.commit(
            {
                "indexes": indexes,
                "next_number": next_number or self._next_number,
                "dropped": sorted(self._dropped),
            }
        )

    def _get(self, name: object) -> IndexEngine:
        engine = self._indexes.get(name) if isinstance(name, str) else None
        if engine is None:
            raise NotFoundError(f"Index {name} not found.", field="name")
        return engine

    # ------------------------------------------------------------ control plane

    def create_index(
        self,
        name: object,
        spec: object = None,
        dimension: object = None,
        metric: object = None,
        timeout: int | None = None,
        deletion_protection: object = None,
        vector_type: object = None,
        tags: object = None,
    ) -> IndexConfig:
        cfg_name = validate_index_name(name)
        kind = validate_vector_type("dense" if vector_type is None else vector_type)
        if kind == "sparse":
            # Pinecone's rules: a sparse index scores by dot product and has no dimension
            if dimension is not None:
                raise InvalidArgumentError(
                    "dimension must not be given for a sparse index (vector_type 'sparse')", field="dimension"
                )
            if metric not in (None, "dotproduct"):
                raise InvalidArgumentError(
                    f"metric must be 'dotproduct' for a sparse index, got {metric!r}", field="metric"
                )
        return self._add(
            _new_config(
                cfg_name,
                0 if kind == "sparse" else validate_dimension(dimension),
                validate_metric(metric if metric is not None else _DEFAULT_METRIC[kind]),
                kind,
                spec,
                deletion_protection,
                tags,
            )
        )

    def create_document_index(
        self,
        name: object,
        schema: object,
        spec: object = None,
        deletion_protection: object = None,
        tags: object = None,
    ) -> IndexConfig:
        """A new empty document index (the Documents API): ``schema`` declares its searched fields
        (``spruce.docschema``). Its records' vectors are the dense field's (dimension 0 without one)."""
        cfg_name = validate_index_name(name)
        doc_schema = parse_schema(schema)
        dense = doc_schema.dense
        return self._add(
            _new_config(
                cfg_name,
                dense[1] if dense else 0,
                dense[2] if dense else "dotproduct",
                "dense" if dense else "sparse",
                spec,
                deletion_protection,
                tags,
                documents=doc_schema.to_json(),
            )
        )

    def create_from_schema(
        self,
        name: object,
        schema: object,
        spec: object = None,
        deletion_protection: object = None,
        tags: object = None,
    ) -> IndexConfig:
        """A new index from an API 2026-07 ``schema``: a vector index when it declares ``_values`` (dense)
        and/or ``_sparse_values`` and nothing else, a document index otherwise (``create_document_index``)."""
        fields = schema.get("fields") if isinstance(schema, Mapping) else None
        if not isinstance(fields, Mapping) or not fields:
            raise InvalidArgumentError('schema must be an object with a non-empty "fields"', field="schema")
        if not any(key in _VECTOR_FIELDS for key in fields):
            return self.create_document_index(name, schema, spec, deletion_protection, tags)
        for key, value in fields.items():
            path = f"schema.fields.{key}"
            if key not in _VECTOR_FIELDS:
                raise InvalidArgumentError(
                    f"{path}: a vector index's schema holds only _values and _sparse_values; a document "
                    "index's schema names its own fields and no reserved ones",
                    field=path,
                )
            if not isinstance(value, Mapping) or value.get("type") != _VECTOR_FIELDS[key]:
                raise InvalidArgumentError(
                    f"{path} must be an object with type '{_VECTOR_FIELDS[key]}'", field=f"{path}.type"
                )
        dense = fields.get("_values")
        return self.create_index(
            name,
            spec=spec,
            dimension=dense.get("dimension") if dense else None,
            metric=(dense.get("metric") or "cosine") if dense else "dotproduct",
            deletion_protection=deletion_protection,
            vector_type="dense" if dense else "sparse",
            tags=tags,
        )

    def _add(self, config: IndexConfig) -> IndexConfig:
        return self._shared_retry(lambda: self._add_once(config))

    def _add_once(self, config: IndexConfig) -> IndexConfig:
        """Open ``config``'s engine and commit the catalog with it (the commit point of a create)."""
        cfg_name = config.name
        with self._mu:
            if cfg_name in self._indexes:
                raise AlreadyExistsError(f"Resource already exists: index {cfg_name}", field="name")
            config = dataclasses.replace(config, number=self._next_number)
            engine = self._engine(config)
            self._indexes[cfg_name] = engine
            try:
                self._commit_catalog(next_number=config.number + 1, changed=config)
            except BaseException:
                del self._indexes[cfg_name]
                engine._destroy()  # its config record, if written: no catalog names it, so it is garbage
                raise
            self._next_number = config.number + 1
        return config

    def list_indexes(self) -> IndexList:
        with self._mu:
            self._refresh()
            return IndexList(e.config for e in self._indexes.values())

    def describe_index(self, name: object) -> IndexConfig:
        with self._mu:
            self._refresh()
            return self._get(name).config

    def has_index(self, name: object) -> bool:
        with self._mu:
            self._refresh()
            return isinstance(name, str) and name in self._indexes

    def configure_index(
        self,
        name: object,
        replicas: object = None,
        pod_type: object = None,
        deletion_protection: object = None,
        tags: object = None,
        embed: object = None,
        read_capacity: object = None,
        serverless_read_capacity: object = None,
    ) -> IndexConfig:
        return self._shared_retry(
            lambda: self._configure_once(name, replicas, pod_type, deletion_protection, tags, embed)
        )

    def _configure_once(
        self,
        name: object,
        replicas: object,
        pod_type: object,
        deletion_protection: object,
        tags: object,
        embed: object,
    ) -> IndexConfig:
        with self._mu:
            engine = self._get(name)
            if embed is not None:
                raise InvalidArgumentError(
                    "embed: integrated inference is not supported by spruce yet", field="embed"
                )
            for field_name, value in (("replicas", replicas), ("pod_type", pod_type)):
                if value is not None and "pod" not in engine.config.spec:
                    raise InvalidArgumentError(
                        f"{field_name}: index {engine.config.name!r} is serverless; {field_name} applies to "
                        "pod indexes only",
                        field=field_name,
                    )
            changes: dict[str, Any] = {}
            if deletion_protection is not None:
                changes["deletion_protection"] = validate_deletion_protection(deletion_protection)
            if tags is not None:
                merged = {**engine.config.tags, **validate_tags(tags, allow_empty_values=True)}
                changes["tags"] = {k: v for k, v in merged.items() if v}
            if changes:
                old = engine.config
                engine.config = IndexConfig(**{**old.to_json(), **changes})
                try:
                    self._commit_catalog(changed=engine.config)
                except BaseException:
                    engine.config = old
                    raise
            return engine.config

    def delete_index(self, name: object, timeout: int | None = None) -> None:
        self._shared_retry(lambda: self._delete_once(name))._destroy()

    def _delete_once(self, name: object) -> IndexEngine:
        """Commit the catalog without the index; the caller removes its objects."""
        with self._mu:
            engine = self._get(name)
            if engine.config.deletion_protection == "enabled":
                raise ForbiddenError(
                    "Deletion protection is enabled for this index. "
                    "Disable deletion protection before retrying.",
                    field="deletion_protection",
                )
            del self._indexes[engine.config.name]
            self._dropped.add(engine.config.uid)
            try:
                self._commit_catalog()
            except BaseException:
                self._indexes[engine.config.name] = engine
                self._dropped.discard(engine.config.uid)
                raise
        return engine

    @property
    def indexes(self) -> Indexes:
        """SDK 10.x's ``pc.indexes`` namespace (``create(schema=...)``, ``describe``, ``exists`` …)."""
        return Indexes(self)

    def index(self, name: object = "", host: object = "") -> IndexEngine:
        if host and not name:
            raise InvalidArgumentError(
                "host: an embedded store opens its indexes by name, not by host", field="host"
            )
        with self._mu:
            if isinstance(name, str) and name not in self._indexes:
                self._refresh()  # created by another process moments ago
            return self._get(name)

    async def synced_read(self, name: str) -> AbstractContextManager[None] | None:
        """``IndexEngine.synced_read`` of index ``name``, for the server's event loop: None (the read takes
        a worker thread) also for a name this process has not opened, which may need a catalog refresh."""
        engine = self._indexes.get(name)  # (no lock: one dict lookup, on the loop; a refresh swaps entries)
        return None if engine is None else await engine.synced_read()

    def Index(self, name: object = "", host: object = "") -> IndexEngine:
        return self.index(name, host)

    def close(self, *, flush: bool = True, wait: float | None = None) -> None:
        """Close every index (see ``IndexEngine.close``) and the store. A server's shutdown passes
        ``flush=False`` and a ``wait``, so that it ends in bounded time whatever background work runs."""
        self._stopping.set()
        for thread in self._threads:
            thread.join(5)
        with self._mu:
            for engine in self._indexes.values():
                engine._maint.request_stop()  # every index stops at once, not one after another
            for engine in self._indexes.values():
                engine.close(flush=flush, wait=wait)
            self.store.close()

    def not_ready(self) -> str | None:
        """Why the store cannot serve writes now (``/ready``), or None."""
        reason = self.store.not_writable()
        if reason is not None:
            return reason
        with self._mu:
            for engine in self._indexes.values():
                if engine._st.failed is not None:
                    return f"index {engine.config.name!r} refuses writes: {engine._st.failed}"
        return None

    def stop_background(self) -> None:
        """Ask every index's background work to stop, without waiting (the first step of a shutdown)."""
        with self._mu:
            for engine in self._indexes.values():
                engine._maint.request_stop()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _new_config(
    name: str,
    dimension: int,
    metric: str,
    vector_type: str,
    spec: object,
    deletion_protection: object,
    tags: object,
    documents: dict[str, Any] | None = None,
) -> IndexConfig:
    """A new index's configuration: a fresh uid (its storage prefix), the spec and settings checked."""
    return IndexConfig(
        name=name,
        dimension=dimension,
        metric=metric,
        vector_type=vector_type,
        uid=uuid.uuid4().hex,
        spec=_spec_dict(spec),
        deletion_protection=validate_deletion_protection(deletion_protection or "disabled"),
        tags=validate_tags(tags),
        created_at=time.time(),
        documents=documents,
    )


def _spec_dict(spec: object) -> dict[str, Any]:
    """The spec as stored: a ``{"serverless": {...}}`` or ``{"pod": {...}}`` dict, from a dict or from the
    SDK's ``ServerlessSpec``/``PodSpec`` objects (read by their attributes, so the engine needs no SDK)."""
    if spec is None:
        return {"serverless": {"cloud": "aws", "region": "us-east-1"}}
    if isinstance(spec, Mapping) and len(spec) == 1 and next(iter(spec)) in ("serverless", "pod"):
        return dict(spec)
    if not isinstance(spec, Mapping) and hasattr(spec, "cloud") and hasattr(spec, "region"):
        return {"serverless": {"cloud": str(spec.cloud), "region": str(spec.region)}}
    if not isinstance(spec, Mapping) and hasattr(spec, "environment"):
        keys = ("environment", "pod_type", "replicas", "shards", "pods")
        return {"pod": {k: getattr(spec, k) for k in keys if getattr(spec, k, None) is not None}}
    raise InvalidArgumentError("spec must be an object with one key, 'serverless' or 'pod'", field="spec")
