"""A JSON document replaced atomically by writing its next version: the manifest and the catalog.

Each version is an object ``<prefix><version:020d>`` holding a framed (see ``framing``) JSON payload. A new
version is committed with ``put_if_absent``, so the swap is atomic on any backend, and two writers can never
both commit the same version (the loser gets ``False`` and must not go on). Readers take the highest
version. Older versions are deleted after a commit; a crash before that leaves them behind, harmless.

The newest version failing its checksum is data loss, not a torn write (puts are atomic), so ``load``
refuses to fall back to an older version, whose log entries may already be gone.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from spruce.errors import (
    DataCorruptionError,
    NotFoundError,
    SpruceError,
    StoreReadOnlyError,
    StoreUnavailableError,
)
from spruce.storage.framing import CorruptFrame, frame, unframe
from spruce.storage.objectstore import ObjectStore

log = logging.getLogger(__name__)

__all__ = ["VersionTaken", "VersionedDoc"]


class VersionTaken(StoreReadOnlyError):
    """The next version was committed by another process (a shared store): this one's picture of the
    document is stale. The catalog reloads and retries; a manifest commit is *fenced* (``storage.lease``)."""


class VersionedDoc:
    def __init__(self, store: ObjectStore, prefix: str, magic: bytes) -> None:
        self.store = store
        self.prefix = prefix
        self.magic = magic
        self.version = 0

    def _key(self, version: int) -> str:
        return f"{self.prefix}{version:020d}"

    def newest_version(self) -> int:
        """The newest committed version's number, from a listing (0 if none)."""
        keys = [k for k in self.store.list(self.prefix) if k[len(self.prefix) :].isdigit()]
        return int(keys[-1][len(self.prefix) :]) if keys else 0

    def load(self) -> dict[str, Any] | None:
        """The newest version's document (None if there is none yet)."""
        return self._newest(only_if_newer=False)

    def load_newer(self) -> dict[str, Any] | None:
        """The newest version's document if it is newer than the one loaded last, else None: one listing
        when nothing changed (a shared store's catalog, looked at before every control-plane read)."""
        return self._newest(only_if_newer=True)

    def _newest(self, *, only_if_newer: bool) -> dict[str, Any] | None:
        for _ in range(10):
            keys = [k for k in self.store.list(self.prefix) if k[len(self.prefix) :].isdigit()]
            if not keys:
                self.version = 0
                return None
            if only_if_newer and int(keys[-1][len(self.prefix) :]) <= self.version:
                return None
            try:
                return self._load(keys[-1], self.store.get(keys[-1]))
            except NotFoundError:
                continue  # superseded and deleted by another process between the listing and the read
        raise StoreUnavailableError(f"{self.prefix}: its newest version kept vanishing while read")

    def _load(self, newest: str, data: bytes) -> dict[str, Any]:
        named = int(newest[len(self.prefix) :])
        try:
            version, payload = unframe(data, self.magic)
            if version != named:
                raise CorruptFrame(f"it says version {version}")
            # (the checksum passed, so these two would be bytes spruce never wrote, refused all the same)
            try:
                doc = orjson.loads(payload)
            except orjson.JSONDecodeError as exc:
                raise CorruptFrame(f"its document is not JSON: {exc}") from None
            if not isinstance(doc, dict):
                raise CorruptFrame("its document is not a JSON object")
        except CorruptFrame as exc:
            self.version = named  # a commit (where allowed) supersedes it
            raise DataCorruptionError(f"{newest} is corrupt ({exc}); refusing to open") from exc
        self.version = version
        return doc

    def commit(self, doc: dict[str, Any]) -> int:
        """Write the next version; afterwards older versions are deleted (best effort).

        The put alone does not prove this writer had the newest version: once another process has
        committed two versions past it, the one this writer would write next has been deleted again
        (the cleanup below), so its put succeeds. The listing the cleanup makes anyway settles it: a
        version above this one means this writer was stale, so its version (which no reader takes:
        readers take the highest) is removed and ``VersionTaken`` raised, as if the put had lost.
        """
        version = self.version + 1
        mine = self._key(version)
        if not self.store.put_if_absent(mine, frame(self.magic, version, orjson.dumps(doc))):
            raise VersionTaken(f"{mine} was written by someone else; refusing to go on")
        unlisted: SpruceError | None = None
        try:
            keys = self.store.list(self.prefix)
        except SpruceError as exc:
            if self.store.shared:
                # the outcome is unknown, as for any write whose answer was lost: the version stays, since
                # a reader may have taken it already, and the next commit finds its number taken
                raise
            keys, unlisted = [], exc  # (one process: nothing newer can exist, so the version is committed)
        newer = [k for k in keys if k > mine and k[len(self.prefix) :].isdigit()]
        if newer:
            self._withdraw(mine)
            raise VersionTaken(f"{newer[-1]} was committed before {mine}; refusing to go on")
        self.version = version
        try:
            if unlisted is not None:
                raise unlisted
            for key in keys:
                if key < mine:
                    self.store.delete(key)
        except SpruceError as exc:
            # the new version is committed; an old one left behind is superseded and removed next time
            log.warning("%s: older versions not deleted (%s); the next commit retries", self.prefix, exc)
        return version

    def _withdraw(self, key: str) -> None:
        """Delete a stale writer's version (best effort: one left behind under a newer one is never read,
        since readers take the highest, and the next commit's cleanup removes it)."""
        try:
            self.store.delete(key)
        except SpruceError as exc:
            log.warning("%s: a refused version was not deleted (%s)", key, exc)
