"""``spruce repair``: rebuild a lost or damaged catalog from the indexes' own config records.

Every index keeps a copy of its catalog entry under ``indexes/<uid>/config/`` (``engine.database``). A
repair keeps the listed indexes of a catalog that still reads, sets a damaged catalog's objects aside under
``quarantine/`` (never deleting them), and lists every index whose prefix holds a config record and that
the catalog neither lists nor drops. Where two such indexes share a name (re-created after a delete whose
clean-up did not finish), the later creation (higher number) wins and the other is reported. A prefix
without a config record (an index written before records existed) cannot be restored and is reported.
The repair writes one new catalog version and opens no index, so it cannot lose data; ``spruce verify``
then checks the rest.
"""

from __future__ import annotations

from typing import Any

import orjson

from spruce.engine.database import CATALOG_PREFIX, config_record, uid_of
from spruce.errors import DataCorruptionError
from spruce.storage.framing import frame
from spruce.storage.objectstore import ObjectStore
from spruce.storage.quarantine import keep_aside
from spruce.storage.versioned import VersionedDoc

__all__ = ["repair_catalog"]


def repair_catalog(store: ObjectStore) -> list[str]:
    """Rebuild the catalog where it is missing, damaged or incomplete; what was done, line by line."""
    report: list[str] = []
    catalog = VersionedDoc(store, CATALOG_PREFIX, b"SPRC")
    versions = [k for k in store.list(CATALOG_PREFIX) if k[len(CATALOG_PREFIX) :].isdigit()]
    try:
        doc: dict[str, Any] = catalog.load() or {"indexes": [], "next_number": 1}
    except DataCorruptionError as exc:
        report.append(f"the catalog is damaged ({exc}); its objects are kept under quarantine/")
        for key in versions:
            report.append(f"  {key} -> {keep_aside(store, key, store.get(key))}")
        doc = {"indexes": [], "next_number": 1}
    listed = {d["uid"] for d in doc["indexes"]}
    names = {d["name"] for d in doc["indexes"]}
    dropped = set(doc.get("dropped", []))
    found: dict[str, dict[str, Any]] = {}
    for uid in sorted({uid_of(k) for k in store.list("indexes/")} - listed - dropped):
        try:
            record = config_record(store, uid).load()
        except DataCorruptionError as exc:
            report.append(f"indexes/{uid}/: its config record is damaged ({exc}); not restored")
            continue
        if record is None:
            report.append(f"indexes/{uid}/: no config record (written by an older spruce); not restored")
            continue
        name = record["name"]
        if name in names:
            report.append(f"indexes/{uid}/: index {name!r} is already in the catalog; not restored")
        elif name in found and found[name]["number"] > record["number"]:
            report.append(f"indexes/{uid}/: an older creation of {name!r}; not restored")
        else:
            if name in found:
                report.append(f"indexes/{found[name]['uid']}/: an older creation of {name!r}; not restored")
            found[name] = record
    if not found and versions and not report:
        return ["the catalog is whole and lists every index: nothing to do"]
    indexes = sorted([*doc["indexes"], *found.values()], key=lambda d: d.get("number", 0))
    next_number = max([doc.get("next_number", 1), *(d.get("number", 0) + 1 for d in indexes)])
    new = {"indexes": indexes, "next_number": next_number, "dropped": sorted(dropped)}
    version = max([0, *(int(k[len(CATALOG_PREFIX) :]) for k in versions)]) + 1
    key = f"{CATALOG_PREFIX}{version:020d}"
    if not store.put_if_absent(key, frame(b"SPRC", version, orjson.dumps(new))):
        raise DataCorruptionError(f"{key} appeared while repairing: is another process using the store?")
    for record in found.values():
        report.append(f"restored index {record['name']!r} (indexes/{record['uid']}/)")
    report.append(f"wrote {key} listing {len(indexes)} indexes")
    return report
