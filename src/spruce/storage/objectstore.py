"""The object-store interface every durable byte of spruce goes through, and its local-directory backend.

The interface is deliberately the small subset that S3-compatible stores offer: ``put_if_absent`` (a
conditional put), ``get``, ``list`` by prefix, and ``delete``. Objects are immutable once written. A later
backend puts the same keys in a bucket; nothing above this module may assume POSIX files, except through
``local_path`` (a local file to memory-map, which a remote backend provides from its cache).

Local layout: the key ``a/b/c`` is the file ``<root>/a/b/c``. ``put_if_absent`` writes the bytes to a
temporary file under ``<root>/.tmp/``, fsyncs it, hard-links it to its final name (``link`` fails if the
name exists, which makes the put conditional and atomic: a reader never sees a partial object), fsyncs the
directory, and unlinks the temporary file. A large object is synced as it is written, every
``SYNC_EVERY`` bytes: one fsync of a whole segment or graph (hundreds of MB) made every log fsync issued
meanwhile wait for it (a small write's fsync took up to 130 ms during a merge, ``bench_stalls.py``); with
data flushed a few MB at a time, a log fsync waits for a few MB at most (measured on this machine's disk:
worst small fsync beside an 80 MB write 29 ms at once, 14 ms in 4 MB steps, for 10% more write time).
``<root>/LOCK`` holds an exclusive ``flock`` for as long as the
store is open, so a second process cannot open the same directory for writing.

A failed fsync poisons the store: every later write raises ``StoreReadOnlyError``. Retrying fsync after an
error is unsafe on Linux (the failed pages may already be marked clean), so recovery is a restart, which
re-reads what is really on disk. Any other I/O error while changing the store (EIO, EROFS from ``write``,
``link``, ``mkdir`` or ``unlink``: a file system that aborted its journal or went read-only) poisons it
the same way: whether the change happened is not known, and nothing should be built on it.

An I/O error while reading (``get``, ``list``) raises ``InternalError`` naming the object and leaves the
store as it is. ``list`` fails when any directory under the prefix cannot be read: a listing with a
directory silently left out (``os.walk``'s default) would show recovery a log without its newest entries.

A full disk (ENOSPC, or EDQUOT for a quota) while writing, creating a directory or linking is different:
nothing was acknowledged and no page is in doubt, so the put raises ``DiskFullError``, removes its
temporary file (which would otherwise eat the space an operator frees), and the next put simply tries
again. ``out_of_space`` says whether the last put failed that way (cleared by the next put that works),
for ``/ready`` and the stats; ``free_bytes`` lets background work keep a reserve for the log.
"""

from __future__ import annotations

import errno
import fcntl
import itertools
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, TypeAlias

from spruce.errors import (
    DiskFullError,
    InternalError,
    NotFoundError,
    StoreClosedError,
    StoreLockedError,
    StoreReadOnlyError,
)
from spruce.storage.lease import HeldLease, Lease
from spruce.telemetry import FSYNC_SECONDS, STORE_ERRORS

__all__ = ["LocalStore", "ObjectStore", "Payload"]

SYNC_EVERY = 4 << 20  # bytes of a large object written between syncs (module docstring)
_fdatasync = getattr(os, "fdatasync", os.fsync)  # (macOS has no fdatasync)

Buffer: TypeAlias = bytes | bytearray | memoryview
Payload: TypeAlias = Buffer | Sequence[Buffer]
"""An object's bytes, whole or as parts written in order (large objects, such as segments, are handed
over as views of their arrays so that they are never assembled in memory)."""


class ObjectStore(Protocol):
    """What the storage layer needs from a backend (local directory today, S3-compatible later)."""

    def put_if_absent(self, key: str, data: Payload) -> bool:
        """Store ``data`` (its parts concatenated) under ``key`` durably; False (and nothing written) if
        ``key`` exists."""
        ...

    def get(self, key: str) -> bytes:
        """The object's bytes; ``NotFoundError`` if absent."""
        ...

    async def exists_async(self, key: str) -> bool:
        """Whether ``key`` exists, awaited on an event loop without a thread (the server's read barrier
        on a shared store, ``IndexState.probe``)."""
        ...

    def list(self, prefix: str) -> list[str]:
        """Keys starting with ``prefix``, in ascending order."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; absent keys are not an error."""
        ...

    def local_path(self, key: str) -> str | None:
        """A local file holding the object (for memory-mapping), or None if the backend has none."""
        ...

    def local_bytes(self, prefix: str) -> int:
        """Bytes of the objects under ``prefix`` held on this machine's disk, fetching nothing (a bucket:
        its cached copies; ``IndexEngine.storage``)."""
        ...

    def free_bytes(self) -> int | None:
        """Space left for new objects, or None where the backend has no such limit."""
        ...

    @property
    def out_of_space(self) -> bool:
        """Whether the last put failed for want of space."""
        ...

    def not_writable(self) -> str | None:
        """Why writes cannot succeed now (closed, a failed fsync, disk full), or None."""
        ...

    def close(self) -> None: ...

    @property
    def shared(self) -> bool:
        """Whether other processes may have the store open too (a bucket): then the engine catches up on
        what they commit, and background work needs a lease (``storage.lease``)."""
        ...

    def lease(self, key: str) -> Lease:
        """The background-work lease named ``key`` (``storage.lease``)."""
        ...


_NO_SPACE = {errno.ENOSPC, errno.EDQUOT}


def _unreadable(exc: OSError) -> None:
    """``os.walk``'s error hook: a directory that cannot be read fails the listing (module docstring); one
    that vanished meanwhile holds nothing."""
    if not isinstance(exc, FileNotFoundError):
        raise exc


def no_space(exc: OSError, key: str) -> DiskFullError:
    STORE_ERRORS.labels("disk_full").inc()
    return DiskFullError(
        f"the disk is full ({os.strerror(exc.errno or errno.ENOSPC)}) while writing {key}: nothing of this "
        "request was stored; free space on the data directory's file system, writes resume by themselves"
    )


class LocalStore:
    """An ``ObjectStore`` in a local directory, exclusively locked by this process while open."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._tmp = self.root / ".tmp"
        self._tmp.mkdir(exist_ok=True)
        self._lock_fd = os.open(self.root / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise StoreLockedError(
                f"the data directory {str(self.root)!r} is already open for writing by another process"
            ) from None
        for leftover in self._tmp.iterdir():  # temporaries of a crashed process: never linked, safe to drop
            leftover.unlink(missing_ok=True)
        self._counter = itertools.count()
        self._durable_dirs: set[Path] = {self.root}
        self._failed: BaseException | None = None
        self._out_of_space = False
        self._closed = False
        self._mu = threading.Lock()

    # ------------------------------------------------------------ helpers

    def _path(self, key: str) -> Path:
        if not key or key.startswith("/") or ".." in key.split("/"):
            raise ValueError(f"bad object key {key!r}")
        return self.root / key

    def _check_writable(self) -> None:
        if self._closed:
            raise StoreClosedError("the store is closed")
        if self._failed is not None:
            raise StoreReadOnlyError(
                "the store refuses writes after a failed fsync or write; restart spruce to recover from disk"
            )

    def _poison(self, exc: OSError, what: str) -> StoreReadOnlyError:
        """Refuse every later write (module docstring); the error for the caller."""
        self._failed = exc
        STORE_ERRORS.labels("io").inc()
        return StoreReadOnlyError(f"{what} failed ({exc}); the store now refuses writes")

    def _fsync(self, fd: int, *, data_only: bool = False) -> None:
        try:
            with FSYNC_SECONDS.time():
                (_fdatasync if data_only else os.fsync)(fd)
        except OSError as exc:
            raise self._poison(exc, "fsync") from exc

    def _fsync_dir(self, path: Path) -> None:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            self._fsync(fd)
        finally:
            os.close(fd)

    def _ensure_dir(self, path: Path) -> None:
        """Create ``path`` and make its existence durable (fsync of each new parent link)."""
        if path in self._durable_dirs:
            return
        self._ensure_dir(path.parent)
        path.mkdir(exist_ok=True)
        self._fsync_dir(path.parent)
        with self._mu:
            self._durable_dirs.add(path)

    # ------------------------------------------------------------ interface

    def put_if_absent(self, key: str, data: Payload) -> bool:
        self._check_writable()
        final = self._path(key)
        tmp = self._tmp / f"{os.getpid()}.{next(self._counter)}"
        try:
            if final.exists():
                return False
            self._ensure_dir(final.parent)
            self._write_synced(tmp, data)
            try:
                os.link(tmp, final)
            except FileExistsError:
                return False
            self._fsync_dir(final.parent)
        except OSError as exc:
            if exc.errno not in _NO_SPACE:
                raise self._poison(exc, f"writing {key}") from exc
            self._out_of_space = True
            raise no_space(exc, key) from None
        finally:
            tmp.unlink(missing_ok=True)  # (a failed put leaves nothing behind)
        self._out_of_space = False
        return True

    def _write_synced(self, tmp: Path, data: Payload) -> None:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            unsynced = 0
            for part in [data] if isinstance(data, bytes | bytearray | memoryview) else data:
                view = memoryview(part).cast("B")
                while view:
                    done = os.write(fd, view[:SYNC_EVERY])
                    view = view[done:]
                    unsynced += done
                    if unsynced >= SYNC_EVERY:
                        self._fsync(fd, data_only=True)
                        unsynced = 0
            self._fsync(fd)
        finally:
            os.close(fd)

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"object {key!r} not found") from None
        except OSError as exc:
            raise InternalError(f"reading {key} failed ({exc})") from exc

    async def exists_async(self, key: str) -> bool:
        return self._path(key).exists()  # (a local directory is never shared: nothing calls this)

    def list(self, prefix: str) -> list[str]:
        head, _, _ = prefix.rpartition("/")
        base = self.root / head if head else self.root
        try:
            if not base.is_dir():
                return []
            out: list[str] = []
            for dirpath, dirnames, filenames in os.walk(base, onerror=_unreadable):
                rel = os.path.relpath(dirpath, self.root)
                rel = "" if rel == "." else rel.replace(os.sep, "/") + "/"
                dirnames[:] = [d for d in dirnames if not (rel == "" and d == ".tmp")]
                for name in filenames:
                    key = rel + name
                    if key.startswith(prefix) and key != "LOCK":
                        out.append(key)
        except OSError as exc:
            raise InternalError(f"listing {prefix!r} failed ({exc})") from exc
        out.sort()
        return out

    def delete(self, key: str) -> None:
        self._check_writable()
        try:
            self._path(key).unlink(missing_ok=True)
        except OSError as exc:
            raise self._poison(exc, f"deleting {key}") from exc

    def local_path(self, key: str) -> str | None:
        return str(self._path(key))

    def local_bytes(self, prefix: str) -> int:
        return sum(self._size(key) for key in self.list(prefix))

    def _size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError:  # (deleted meanwhile by a compaction)
            return 0

    shared = False  # (the ``flock``: no other process has it open)

    def lease(self, key: str) -> Lease:
        return HeldLease()

    def free_bytes(self) -> int | None:
        st = os.statvfs(self.root)
        return st.f_bavail * st.f_frsize

    @property
    def out_of_space(self) -> bool:
        return self._out_of_space

    def not_writable(self) -> str | None:
        if self._closed:
            return "the store is closed"
        if self._failed is not None:
            return "an fsync or a write failed: the store refuses writes until spruce is restarted"
        if self._out_of_space:
            return "the disk is full"
        return None

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        os.close(self._lock_fd)
