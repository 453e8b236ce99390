"""The write-ahead log of one index: one object per acknowledged write batch.

Key: ``<prefix><lsn:020d>`` (``indexes/<uid>/log/00000000000000000042``); value: a ``framing`` frame with
magic ``SPRL`` whose sequence number is the LSN and whose payload is an encoded batch of operations (see
``ops``). LSNs are consecutive from 1. An entry is written with ``put_if_absent``, so on a shared bucket the
object name is the commit point: two writers cannot both take one LSN.

A write is acknowledged only after its entry is durable. Entries at or below the manifest's LSN are
covered by segments and deleted after a flush. Recovery reads the entries above the manifest's LSN in
order and stops at the first missing, torn or corrupt one; that entry and everything after it is deleted
(cut back to the last whole entry), so the store always opens to a prefix of what was written.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from spruce.errors import StoreReadOnlyError
from spruce.storage.framing import CorruptFrame, frame, unframe
from spruce.storage.objectstore import ObjectStore

__all__ = ["Log"]

MAGIC = b"SPRL"
log = logging.getLogger("spruce.storage.log")


class Log:
    def __init__(self, store: ObjectStore, prefix: str) -> None:
        self.store = store
        self.prefix = prefix
        self.last_lsn = 0

    def key(self, lsn: int) -> str:
        return f"{self.prefix}{lsn:020d}"

    def recover(self, after_lsn: int) -> Iterator[tuple[int, bytes]]:
        """Yield ``(lsn, payload)`` of every whole entry above ``after_lsn``, cutting a bad tail."""
        keys = [k for k in self.store.list(self.prefix) if k[len(self.prefix) :].isdigit()]
        self.last_lsn = after_lsn
        pending = [k for k in keys if int(k[len(self.prefix) :]) > after_lsn]
        for i, key in enumerate(pending):
            expected = self.last_lsn + 1
            try:
                if int(key[len(self.prefix) :]) != expected:
                    raise CorruptFrame(f"gap: expected LSN {expected}")
                lsn, payload = unframe(self.store.get(key), MAGIC)
                if lsn != expected:
                    raise CorruptFrame(f"entry says LSN {lsn}, name says {expected}")
            except CorruptFrame as exc:
                cut = pending[i:]
                log.warning(
                    "log %s: cutting %d entr%s from %s: %s",
                    self.prefix,
                    len(cut),
                    "y" if len(cut) == 1 else "ies",
                    key,
                    exc,
                )
                for k in cut:
                    self.store.delete(k)
                return
            self.last_lsn = lsn
            yield lsn, payload

    def append(self, payload: bytes) -> int:
        """Durably write the next entry and return its LSN."""
        lsn = self.last_lsn + 1
        if not self.store.put_if_absent(self.key(lsn), frame(MAGIC, lsn, payload)):
            raise StoreReadOnlyError(f"log entry {lsn} already exists: another writer? refusing to go on")
        self.last_lsn = lsn
        return lsn

    def truncate_upto(self, lsn: int) -> None:
        """Delete entries at or below ``lsn`` (they are covered by a committed manifest)."""
        for key in self.store.list(self.prefix):
            suffix = key[len(self.prefix) :]
            if suffix.isdigit() and int(suffix) <= lsn:
                self.store.delete(key)
