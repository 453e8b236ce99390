"""``spruce verify``: read every object of a store and check every checksum, changing nothing.

What it reports, per object: a catalog or config record that fails its frame check, or is missing while
index data exists; per index in the catalog, its manifest, every segment section (primary ones are data
loss, derived ones are rebuilt on open), deletion bitmaps, graphs (against the manifest's CRC, and read by
faiss), and the log entries above the manifest (a gap, or a bad entry below the newest); and the prefixes
under ``indexes/`` that the catalog neither lists nor drops. The same rules decide what ``Database`` refuses
to open, so a clean report means the store opens, and every refusal at open names an object this lists.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from spruce.engine.database import CATALOG_PREFIX, config_record, uid_of
from spruce.errors import DataCorruptionError, NotFoundError
from spruce.index.hnsw import HnswIndex
from spruce.storage.checksum import file_crc32
from spruce.storage.framing import CorruptFrame, unframe
from spruce.storage.log import MAGIC as LOG_MAGIC
from spruce.storage.log import Log
from spruce.storage.objectstore import ObjectStore
from spruce.storage.ops import decode_ops
from spruce.storage.segment import decode_deleted, read_segment
from spruce.storage.versioned import VersionedDoc

__all__ = ["Finding", "verify_store"]


@dataclass(frozen=True, slots=True)
class Finding:
    key: str
    problem: str
    loss: bool  # True: primary data is damaged (the store refuses to open); False: rebuilt or harmless

    def __str__(self) -> str:
        return f"{'DAMAGED' if self.loss else 'warning'}  {self.key}: {self.problem}"


def verify_store(store: ObjectStore, progress: Callable[[str], None] = lambda key: None) -> list[Finding]:
    """Every problem found in ``store``; ``progress`` is called with each object key as it is checked."""
    out: list[Finding] = []
    data = store.list("indexes/")
    try:
        catalog = VersionedDoc(store, CATALOG_PREFIX, b"SPRC").load()
    except DataCorruptionError as exc:
        return [Finding(CATALOG_PREFIX, str(exc), True)]
    if catalog is None:
        if data:
            out.append(Finding(CATALOG_PREFIX, "missing while indexes/ holds data (spruce repair)", True))
        return out
    listed = {d["uid"]: d for d in catalog["indexes"]}
    dropped = set(catalog.get("dropped", []))
    for uid in sorted({uid_of(k) for k in data} - set(listed)):
        what = "a deleted index's leftovers, removed at open" if uid in dropped else "not in the catalog"
        out.append(Finding(f"indexes/{uid}/", what, False))
    for uid, entry in listed.items():
        out += _verify_index(store, uid, entry, progress)
    return out


def _verify_index(
    store: ObjectStore, uid: str, entry: dict[str, Any], progress: Callable[[str], None]
) -> list[Finding]:
    out: list[Finding] = []
    prefix = f"indexes/{uid}/"
    try:
        if config_record(store, uid).load() is None:
            out.append(Finding(prefix + "config/", "missing (written at the next open)", False))
    except DataCorruptionError as exc:
        out.append(Finding(prefix + "config/", str(exc), False))
    try:
        manifest = VersionedDoc(store, prefix + "manifest/", b"SPRM").load()
    except DataCorruptionError as exc:
        return [*out, Finding(prefix + "manifest/", str(exc), True)]
    lsn = 0
    if manifest is not None:
        lsn = int(manifest["lsn"])
        for segs in manifest["namespaces"].values():
            for s in segs:
                out += _verify_segment(store, s, entry["metric"], progress)
    elif store.list(prefix + "seg/") and not Log(store, prefix + "log/").pending(0):
        out.append(Finding(prefix + "manifest/", "missing while segments exist", True))
    out += _verify_log(store, prefix + "log/", lsn, progress)
    return out


def _verify_segment(
    store: ObjectStore, s: dict[str, Any], metric: str, progress: Callable[[str], None]
) -> list[Finding]:
    key = s["segment"]
    progress(key)
    try:
        contents = read_segment(store, key)
    except DataCorruptionError as exc:
        return [Finding(key, str(exc), True)]
    out = [
        Finding(key, f"derived section {name} fails its checksum (rebuilt on open)", False)
        for name in contents.damaged
    ]
    if s["deleted"] is not None:
        progress(s["deleted"])
        try:
            decode_deleted(store.get(s["deleted"]), len(contents.ids), s["deleted"])
        except (DataCorruptionError, NotFoundError) as exc:
            out.append(Finding(s["deleted"], str(exc), True))
    if s.get("ann") is not None:
        ann = s["ann"]
        progress(ann)
        path = store.local_path(ann)
        try:
            raw = None if path is not None else store.get(ann)
            if s.get("ann_crc") is not None and file_crc32(path, raw) != s["ann_crc"]:
                raise ValueError("checksum mismatch")
            HnswIndex.load(
                raw, path, contents.vectors, "euclidean", own_storage=s.get("ann_storage") == "own"
            )
        except Exception as exc:  # (faiss raises RuntimeError for a graph it cannot read)
            out.append(Finding(ann, f"graph unreadable ({exc}); rebuilt on open", False))
    return out


def _verify_log(
    store: ObjectStore, prefix: str, after: int, progress: Callable[[str], None]
) -> list[Finding]:
    out: list[Finding] = []
    log = Log(store, prefix)
    pending = log.pending(after)
    for i, key in enumerate(pending):
        progress(key)
        expected = after + 1 + i
        last = i + 1 == len(pending)
        if int(key[len(prefix) :]) != expected:
            out.append(Finding(log.key(expected), "missing while later log entries exist", True))
            break
        try:
            lsn, payload = unframe(store.get(key), LOG_MAGIC)
            if lsn != expected:
                raise CorruptFrame(f"the entry says LSN {lsn}")
        except CorruptFrame as exc:
            what = "the last entry, never acknowledged: cut and kept aside at open" if last else "damaged"
            out.append(Finding(key, f"{exc} ({what})", not last))
            continue
        try:
            decode_ops(payload)
        except DataCorruptionError as exc:  # whole and checksummed, yet not what a writer writes: refused
            out.append(Finding(key, f"{exc} (the open refuses it)", True))
    return out
