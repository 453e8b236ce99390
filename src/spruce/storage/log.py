"""The write-ahead log of one index: one object per acknowledged write batch.

Key: ``<prefix><lsn:020d>`` (``indexes/<uid>/log/00000000000000000042``); value: a ``framing`` frame with
magic ``SPRL`` whose sequence number is the LSN and whose payload is an encoded batch of operations (see
``ops``). LSNs are consecutive from 1. An entry is written with ``put_if_absent``, so on a shared bucket the
object name is the commit point: two writers cannot both take one LSN.

A write is acknowledged only after its entry is durable. Entries at or below the manifest's LSN are
covered by segments and deleted after a flush. Recovery reads the entries above the manifest's LSN in
order. Since a put is atomic and an entry is synced before its write is acknowledged, a crash can leave
at most one bad entry, the last one (a write that was never acknowledged): only that one is cut, and it
is kept aside under ``quarantine/`` (``storage.quarantine``), never deleted. Anything else (a missing
entry below the newest, a bad entry with later ones after it, a first entry above the manifest's LSN + 1)
is damage that would lose acknowledged writes if "repaired": recovery refuses with ``DataCorruptionError``
naming the object, and changes nothing.

On a shared store (a bucket several processes open) nothing is cut: a put there is atomic and no process
syncs after it, so a bad entry is damage like any other, and an entry this process cannot read may be one
another process is still going to need (the lease holder alone deletes log entries, and only those a
committed manifest covers).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from spruce.errors import DataCorruptionError, NotFoundError
from spruce.storage.framing import CorruptFrame, frame, unframe
from spruce.storage.objectstore import ObjectStore
from spruce.storage.quarantine import VERIFY_HINT, keep_aside

__all__ = ["Log", "LogConflict"]

MAGIC = b"SPRL"
log = logging.getLogger("spruce.storage.log")


class LogConflict(Exception):
    """The next LSN's entry exists and holds another batch: a writer this process has not seen committed
    it (on a shared bucket), or an earlier put of this process whose outcome was unknown landed after
    all. The caller catches up (``entries_after``) and retries at the next LSN. Never reaches a client."""

    def __init__(self, lsn: int) -> None:
        super().__init__(f"log entry {lsn} was committed by another write")
        self.lsn = lsn


class Log:
    def __init__(self, store: ObjectStore, prefix: str, *, cut_torn_tail: bool = True) -> None:
        self.store = store
        self.prefix = prefix
        self.last_lsn = 0
        self.cut_torn_tail = cut_torn_tail

    def key(self, lsn: int) -> str:
        return f"{self.prefix}{lsn:020d}"

    def _lsn(self, key: str) -> int:
        return int(key[len(self.prefix) :])

    def pending(self, after_lsn: int) -> list[str]:
        """Keys of the entries above ``after_lsn``, in LSN order."""
        keys = [k for k in self.store.list(self.prefix) if k[len(self.prefix) :].isdigit()]
        return sorted((k for k in keys if self._lsn(k) > after_lsn), key=self._lsn)

    def recover(self, after_lsn: int) -> Iterator[tuple[int, bytes]]:
        """Yield ``(lsn, payload)`` of every entry above ``after_lsn``; a bad *last* entry is cut and kept
        aside, any other damage raises ``DataCorruptionError`` (module docstring). The whole log is checked
        before the first entry is yielded, so a refusal comes before anything was applied."""
        self.last_lsn = after_lsn
        pending = self.pending(after_lsn)
        entries: list[tuple[int, bytes]] = []
        for i, key in enumerate(pending):
            expected = after_lsn + 1 + i
            if self._lsn(key) != expected:
                raise DataCorruptionError(
                    f"log entry {self.key(expected)} is missing while later entries exist (up to "
                    f"{pending[-1]}): acknowledged writes are lost; refusing to open, nothing was changed. "
                    + VERIFY_HINT
                )
            data = self.store.get(key)
            try:
                lsn, payload = unframe(data, MAGIC)
                if lsn != expected:
                    raise CorruptFrame(f"the entry says LSN {lsn}, its name says {expected}")
            except CorruptFrame as exc:
                if not self.cut_torn_tail:
                    raise DataCorruptionError(
                        f"log entry {key} is damaged ({exc}) in a shared store, where a put is atomic: "
                        "refusing to open, nothing was changed. " + VERIFY_HINT
                    ) from exc
                if i + 1 < len(pending):
                    raise DataCorruptionError(
                        f"log entry {key} is damaged ({exc}) and {len(pending) - i - 1} later entries "
                        f"exist: acknowledged writes would be lost; refusing to open, nothing was changed. "
                        + VERIFY_HINT
                    ) from exc
                kept = keep_aside(self.store, key, data)
                log.warning(
                    "log %s: the last entry %s is damaged (%s); it was never acknowledged (entries are "
                    "synced before the ack), so it is cut and kept aside as %s",
                    self.prefix,
                    key,
                    exc,
                    kept,
                )
                break
            entries.append((lsn, payload))
        for lsn, payload in entries:
            self.last_lsn = lsn
            yield lsn, payload

    def append(self, payload: bytes) -> int:
        """Durably write the next entry and return its LSN; ``LogConflict`` if that LSN is taken."""
        lsn = self.last_lsn + 1
        if not self.store.put_if_absent(self.key(lsn), frame(MAGIC, lsn, payload)):
            raise LogConflict(lsn)
        self.last_lsn = lsn
        return lsn

    def exists(self, lsn: int) -> bool:
        """Whether entry ``lsn`` is committed (one GET: the read barrier's probe)."""
        try:
            self.store.get(self.key(lsn))
        except NotFoundError:
            return False
        return True

    async def exists_async(self, lsn: int) -> bool:
        """``exists`` awaited on an event loop (``IndexState.probe``)."""
        return await self.store.exists_async(self.key(lsn))

    def entries_after(self, lsn: int) -> Iterator[tuple[int, bytes]]:
        """The committed entries above ``lsn``, in order, read one by one until the first LSN that does not
        exist (a writer commits ``n + 1`` only after ``n`` exists, so there is no gap to look past); each
        read advances ``last_lsn``. A damaged entry raises ``DataCorruptionError``: it was committed, so
        it cannot be cut like a torn tail at open."""
        while True:
            key = self.key(lsn + 1)
            try:
                data = self.store.get(key)
            except NotFoundError:
                return
            try:
                got, payload = unframe(data, MAGIC)
                if got != lsn + 1:
                    raise CorruptFrame(f"the entry says LSN {got}")
            except CorruptFrame as exc:
                raise DataCorruptionError(f"log entry {key} is damaged ({exc}). " + VERIFY_HINT) from exc
            lsn += 1
            self.last_lsn = max(self.last_lsn, lsn)
            yield lsn, payload

    def keys_upto(self, lsn: int) -> list[str]:
        """Keys of the entries at or below ``lsn`` (covered by a committed manifest: to delete)."""
        return [
            key
            for key in self.store.list(self.prefix)
            if key[len(self.prefix) :].isdigit() and int(key[len(self.prefix) :]) <= lsn
        ]
