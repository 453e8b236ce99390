"""``FaultyStore``: a real ``LocalStore`` (real files, real fsyncs) whose operations fail on cue, and a
simulated power loss. For the fault state machine (``tests/property/test_faults_state_machine.py``).

Faults are armed with :meth:`FaultyStore.arm` for the next ``count`` matching calls (or until disarmed),
each with a probability, optionally only for some kinds of key (:func:`key_kind`: ``log``, ``seg``,
``ann``, ``del``, ``manifest``, ``config``, ``catalog``, ``quarantine``) and only on the background
maintenance thread or only elsewhere. Every fault that fires is recorded (:attr:`FaultyStore.injected`).

What it models, and how
-----------------------
The faults are injected *inside* the real store: ``_InjectingStore`` is a ``LocalStore`` with hooks at its
own seams (writing the temporary file, each fsync, the directory fsync after the link), so that the
store's own code turns an injected error into whatever it hands its callers, as it would a real one:

* ``put``, ``"enospc"``: the temporary file receives the first half of the bytes, then the write fails
  with ENOSPC (a real one may also come from ``mkdir`` or ``link``, which LocalStore handles alike).
  LocalStore removes the temporary file, sets ``out_of_space`` and raises ``DiskFullError``
  (``objectstore.no_space``); the next put that works clears ``out_of_space``.
  :meth:`FaultyStore.fill_disk` does this for every put until :meth:`FaultyStore.free_disk`, and makes
  ``free_bytes`` report 0 meanwhile (so background work's own space check refuses too).
* ``put``, ``"eio"``: the same with EIO; LocalStore poisons itself (``StoreReadOnlyError`` for this and
  every later write, until a new store is opened on the directory).
* ``put``, ``"fsync"``: the fsync of the temporary file fails: nothing is linked, the store is poisoned.
  ``os.fsync`` cannot be made to fail for one store object only, so the hook hands LocalStore's own
  ``_fsync`` a descriptor that the kernel refuses to sync (a pipe: EINVAL): its real failure branch runs
  on a real ``OSError`` (the message names EINVAL, not EIO).
* ``put``, ``"fsync_dir"``: the object is linked in, then the fsync of its directory fails (poisoned as
  above). The object is on disk although its put raised: the write was never acknowledged, yet a
  restart finds it (unless a power loss drops it, see below).
* ``get``, ``delete``, ``list``, ``"eio"``: the store's paths are a ``Path`` subclass whose
  ``read_bytes``, ``unlink`` and ``is_dir`` (the first step of a listing) raise ``OSError(EIO)`` during
  the faulted call, inside LocalStore, which handles it as its own (``InternalError`` for a read,
  poisoned for a delete).

Power loss (:meth:`FaultyStore.cut_power`, then :meth:`FaultyStore.power_loss`): LocalStore syncs an
object's bytes before linking it and its directory after, and returns only then, so the durable state is
known exactly from what each put and delete reached:

* every put that returned True survives (it was acknowledged, and synced);
* a put that had not returned when the power went, or that raised after linking its object (a failed
  directory fsync), loses its object unless the directory fsync had succeeded: an object linked but not
  yet synced survives or not at random (each independently), one whose directory was synced survives;
  an object never linked is not there at all;
* a delete (an ``unlink``, which LocalStore never syncs) is undone at random, unless a later fsync of the
  same directory (a put into it, or the creation of a directory in it) made it durable: the object is
  put back with its old bytes. Each such delete independently, so any subset (any reordering of them
  by the file system) may come back;
* everything the power cut interrupted stops: after ``cut_power`` every put and delete raises
  ``StoreClosedError`` (the process is "dead"; only its shutdown runs). Reads still answer.

A crash fault (:meth:`FaultyStore.arm_crash`) cuts the power from inside a put at a chosen stage: while
writing the temporary file (a partial temporary file is left behind in ``.tmp/``, which the next open
removes), after the link before the directory fsync, or after the directory fsync before returning.

After ``power_loss`` the directory is as a machine would find it on boot; open a new store on it.

What it does not model
----------------------
* A real kernel losing its page cache: the simulation changes which objects exist (by name, whole
  objects), from what the store reported it had synced. It cannot show that the fsyncs LocalStore issues
  are the right ones, on the right file descriptors, or that the file system keeps its promises; torn
  objects are therefore never produced (a linked object is always whole: its bytes were synced before
  the link). No test in this repository cuts real power or drops the page cache: ``tests/crash/`` kills
  processes (the page cache survives a SIGKILL), ``tests/crash/test_fsync.py`` makes ``os.fsync`` fail at
  chosen calls, and ``tests/crash/test_torn_tail.py`` truncates and corrupts the last log entry by hand.
* Directory creation: LocalStore syncs a new directory's parent before using it; a power loss right
  after a directory's creation, with its parent's fsync failed, is not modelled (the directory stays).
* Faults in what ``local_path`` hands out (segments and graphs are memory-mapped or read through their
  file, not through ``get``), in ``free_bytes`` (real, or 0 while the disk is "full"), in opening the
  store (``mkdir``, the lock); bit rot; slow I/O; other processes.
"""

from __future__ import annotations

import errno
import itertools
import os
import random
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path, PosixPath
from typing import Literal, TypeVar

from spruce.errors import StoreClosedError
from spruce.storage.lease import HeldLease, Lease
from spruce.storage.objectstore import LocalStore, Payload

__all__ = [
    "BACKGROUND_THREAD_PREFIX",
    "CrashStage",
    "ErrorKind",
    "Fault",
    "FaultyStore",
    "Injected",
    "Operation",
    "PowerLossReport",
    "ThreadFilter",
    "key_kind",
]

Operation = Literal["put", "get", "list", "delete"]
ErrorKind = Literal["eio", "enospc", "fsync", "fsync_dir"]
CrashStage = Literal["partial", "linked", "durable"]
ThreadFilter = Literal["any", "foreground", "background"]

T = TypeVar("T")
BACKGROUND_THREAD_PREFIX = "spruce-maint-"  # (engine.maintenance names its thread so)
_VALID: dict[str, set[str]] = {
    "put": {"eio", "enospc", "fsync", "fsync_dir"},
    "get": {"eio"},
    "list": {"eio"},
    "delete": {"eio"},
}


def key_kind(key: str) -> str:
    """What an object key holds: ``catalog``, ``quarantine``, ``config``, ``log``, ``manifest``, ``seg``,
    ``ann`` (a graph, under ``seg/``), ``del`` (a deletion bitmap), or ``other``."""
    parts = key.split("/")
    if parts[0] in ("catalog", "quarantine"):
        return parts[0]
    if parts[0] == "indexes" and len(parts) >= 4:
        sub = parts[2]
        if sub == "seg" and key.endswith(".ann"):
            return "ann"
        if sub in ("log", "manifest", "seg", "del", "config"):
            return sub
    return "other"


def _background() -> bool:
    return threading.current_thread().name.startswith(BACKGROUND_THREAD_PREFIX)


@dataclass(eq=False)
class Fault:
    """An armed fault (what :meth:`FaultyStore.arm` returns, to :meth:`FaultyStore.cancel` it)."""

    op: str
    error: str  # an ErrorKind, or "crash:<stage>"
    kinds: frozenset[str] | None
    remaining: int | None  # None: until disarmed
    probability: float
    thread: str

    def matches(self, op: str, key: str, background: bool) -> bool:
        if self.op != op or (self.remaining is not None and self.remaining <= 0):
            return False
        if self.kinds is not None and key_kind(key) not in self.kinds:
            return False
        return self.thread == "any" or (self.thread == "background") == background


@dataclass(frozen=True)
class Injected:
    """A fault that fired: the operation, the error (``crash:<stage>`` for a power cut), the key, the
    thread's name, and its order among all injections."""

    op: str
    error: str
    key: str
    thread: str
    seq: int


@dataclass(eq=False)
class _Put:
    """A put under way: how far it got (``start``; ``writing`` its temporary file; ``written``: that file
    synced; ``linked`` under its final name; ``durable``: its directory synced) and how it ended."""

    key: str
    fault: Fault | None
    stage: str = "start"
    returned: bool | None = None  # the put's result, once it returned
    thread: str = field(default_factory=lambda: threading.current_thread().name)
    raised: bool = False


@dataclass
class PowerLossReport:
    """What the power loss did: objects linked by a put that never returned (or raised) kept or dropped,
    deletes undone (the object is back), partial temporary files left by a crash in the middle of a put."""

    kept: set[str] = field(default_factory=set)
    dropped: set[str] = field(default_factory=set)
    undeleted: set[str] = field(default_factory=set)
    partial_temporaries: int = 0


_CALL = threading.local()  # ``fail``: the operation whose file system call fails in this thread, once


class _HookedPath(PosixPath):
    """The paths of an ``_InjectingStore``: the call a fault is aimed at fails with EIO."""

    def _maybe_fail(self, op: str) -> None:
        if getattr(_CALL, "fail", None) == op:
            _CALL.fail = None
            raise OSError(errno.EIO, os.strerror(errno.EIO) + " (injected)", str(self))

    def read_bytes(self) -> bytes:
        self._maybe_fail("get")
        return super().read_bytes()

    def unlink(self, missing_ok: bool = False) -> None:
        self._maybe_fail("delete")
        super().unlink(missing_ok=missing_ok)

    def is_dir(self) -> bool:
        self._maybe_fail("list")
        return super().is_dir()


class _InjectingStore(LocalStore):
    """A ``LocalStore`` with hooks at its seams; the faults themselves are the wrapper's."""

    def __init__(self, root: Path, owner: FaultyStore) -> None:
        self._owner = owner
        self._current = threading.local()  # the _Put of this thread's put under way
        super().__init__(root)
        self.root = _HookedPath(self.root)
        self._tmp = self.root / ".tmp"

    def failing(self, op: str, call: Callable[[], T]) -> T:
        """Run ``call`` (a LocalStore method) with ``op``'s file system call failing once."""
        _CALL.fail = op
        try:
            return call()
        finally:
            _CALL.fail = None

    def put_tracked(self, put: _Put, data: Payload) -> bool:
        self._current.put = put
        try:
            return self.put_if_absent(put.key, data)
        finally:
            self._current.put = None

    def _put(self) -> _Put | None:
        return getattr(self._current, "put", None)

    def _write_synced(self, tmp: Path, data: Payload) -> None:
        put = self._put()
        fault = put.fault if put is not None else None
        if put is not None and fault is not None and fault.error in ("eio", "enospc", "crash:partial"):
            whole = b"".join(
                bytes(memoryview(p).cast("B"))
                for p in ([data] if isinstance(data, bytes | bytearray | memoryview) else data)
            )
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            try:
                os.write(fd, whole[: len(whole) // 2])
            finally:
                os.close(fd)
            if fault.error == "crash:partial":
                # the process dies here: its temporary file stays (the finally that removes it never runs)
                os.link(tmp, tmp.with_name(tmp.name + ".crashed"))
                self._owner._cut_from_put()
                raise StoreClosedError("the power was cut (simulated) while writing " + put.key)
            code = errno.ENOSPC if fault.error == "enospc" else errno.EIO
            raise OSError(code, os.strerror(code) + " (injected)", str(tmp))
        if put is not None:
            put.stage = "writing"
        super()._write_synced(tmp, data)
        if put is not None:
            put.stage = "written"

    def _fsync(self, fd: int, *, data_only: bool = False) -> None:
        put = self._put()
        fault = put.fault if put is not None else None
        fail = fault is not None and (
            (fault.error == "fsync" and put is not None and put.stage == "writing")
            or getattr(self._current, "fail_dir_fsync", False)
        )
        if not fail:
            super()._fsync(fd, data_only=data_only)
            return
        unsyncable, other = os.pipe()  # (module docstring: the kernel refuses to fsync a pipe)
        try:
            super()._fsync(unsyncable, data_only=data_only)
        finally:
            os.close(unsyncable)
            os.close(other)
        raise AssertionError("fsync of a pipe succeeded: this platform cannot inject fsync failures")

    def _fsync_dir(self, path: Path) -> None:
        put = self._put()
        after_link = put is not None and put.stage == "written" and path == self._path(put.key).parent
        if put is not None and after_link:
            put.stage = "linked"
            fault = put.fault
            if fault is not None and fault.error == "crash:linked":
                self._owner._cut_from_put()
                raise StoreClosedError("the power was cut (simulated) after linking " + put.key)
            if fault is not None and fault.error == "fsync_dir":
                self._current.fail_dir_fsync = True
                try:
                    super()._fsync_dir(path)
                finally:
                    self._current.fail_dir_fsync = False
                return  # (not reached: LocalStore's failure branch raises)
        super()._fsync_dir(path)
        self._owner._dir_synced(path)
        if put is not None and after_link:
            put.stage = "durable"
            if put.fault is not None and put.fault.error == "crash:durable":
                self._owner._cut_from_put()
                raise StoreClosedError(
                    "the power was cut (simulated) before the put of " + put.key + " returned"
                )


class FaultyStore:
    """An ``ObjectStore`` over a real ``LocalStore`` in ``root``, with injected faults and power loss
    (module docstring). ``seed`` drives the probabilities and the power loss's random choices."""

    def __init__(self, root: str | os.PathLike[str], *, seed: int = 0) -> None:
        self.root = Path(root)
        self._rng = random.Random(seed)
        self._mu = threading.Lock()
        self._faults: list[Fault] = []
        self.injected: list[Injected] = []
        self._activity: dict[str, int] = {}  # thread name -> puts it began and ended (see activity())
        self.completed: list[Injected] = []  # those puts (``error`` empty), numbered with the faults
        self._seq = itertools.count()
        self._stash_names = itertools.count()
        self._powered = True
        self._full_disk = False
        self._in_flight: list[_Put] = []
        self._cut: list[_Put] = []  # puts under way when the power went
        self._unacked: list[_Put] = []  # puts that raised after linking their object
        # deletes not yet made durable by a directory fsync: directory -> key -> a hard link to the bytes
        self._unsynced_deletes: dict[Path, dict[str, Path]] = {}
        self._inner = _InjectingStore(self.root, self)

    # ------------------------------------------------------------ arming

    def arm(
        self,
        op: Operation,
        error: ErrorKind,
        *,
        count: int | None = 1,
        probability: float = 1.0,
        kinds: Iterable[str] | None = None,
        thread: ThreadFilter = "any",
    ) -> Fault:
        """Fail the next ``count`` calls of ``op`` (``None``: every one until :meth:`disarm`) that match
        ``kinds`` and ``thread``, each with ``probability``."""
        if error not in _VALID[op]:
            raise ValueError(f"{op} cannot fail with {error!r} here (choose from {sorted(_VALID[op])})")
        fault = Fault(op, error, frozenset(kinds) if kinds is not None else None, count, probability, thread)
        with self._mu:
            self._faults.append(fault)
        return fault

    def arm_crash(
        self, stage: CrashStage, *, kinds: Iterable[str] | None = None, thread: ThreadFilter = "any"
    ) -> Fault:
        """Cut the power inside the next matching put, at ``stage`` (module docstring)."""
        fault = Fault(
            "put", f"crash:{stage}", frozenset(kinds) if kinds is not None else None, 1, 1.0, thread
        )
        with self._mu:
            self._faults.append(fault)
        return fault

    def cancel(self, fault: Fault) -> None:
        """Forget one armed fault (as returned by :meth:`arm` or :meth:`arm_crash`)."""
        with self._mu:
            self._faults = [f for f in self._faults if f is not fault]

    def disarm(self) -> None:
        """Forget every armed fault (a full disk too)."""
        with self._mu:
            self._faults.clear()
            self._full_disk = False

    def fill_disk(self) -> None:
        """Every put fails with ENOSPC, and ``free_bytes`` says 0, until :meth:`free_disk`."""
        with self._mu:
            self._full_disk = True

    def free_disk(self) -> None:
        with self._mu:
            self._full_disk = False

    def settle(self, timeout: float = 10.0) -> bool:
        """Wait until every put under way now has returned or raised (a fault it took, ENOSPC from a full
        disk that was freed since, say, has then had its effect); False on timeout."""
        with self._mu:
            pending = list(self._in_flight)
        deadline = time.monotonic() + timeout
        while True:
            with self._mu:
                if not any(p in self._in_flight for p in pending):
                    return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.001)

    @property
    def armed(self) -> bool:
        with self._mu:
            return self._full_disk or any(f.remaining is None or f.remaining > 0 for f in self._faults)

    @property
    def powered(self) -> bool:
        return self._powered

    @property
    def poisoned(self) -> bool:
        """Whether the underlying LocalStore refuses writes after a failed fsync or write."""
        return self._inner._failed is not None

    def injected_since(self, mark: int, *, thread: str | None = None) -> list[Injected]:
        """Faults fired since ``mark`` (:meth:`mark`), by the thread named ``thread`` if given."""
        with self._mu:
            return [i for i in self.injected[mark:] if thread is None or i.thread == thread]

    def _count_activity(self) -> None:
        name = threading.current_thread().name
        self._activity[name] = self._activity.get(name, 0) + 1

    def activity(self, *, besides: str) -> tuple[int, bool]:
        """How many puts threads other than ``besides`` began or ended so far, and whether one is under
        way: two readings that agree and say none was under way prove that no other thread's put ended
        in between (so none cleared or set ``out_of_space``, say)."""
        with self._mu:
            count = sum(n for name, n in self._activity.items() if name != besides)
            return count, any(p.thread != besides for p in self._in_flight)

    def done_since(self, seq: int) -> list[Injected]:
        """Puts that worked after the fault numbered ``seq`` fired."""
        with self._mu:
            return [d for d in self.completed if d.seq > seq]

    def mark(self) -> int:
        """A point in the injection record (for :meth:`injected_since`)."""
        with self._mu:
            return len(self.injected)

    def _take(self, op: str, key: str) -> Fault | None:
        """The fault this call suffers, if any (caller holds ``_mu``), recorded."""
        background = _background()
        chosen: Fault | None = None
        if op == "put" and self._full_disk:
            chosen = Fault("put", "enospc", None, None, 1.0, "any")
        else:
            for fault in self._faults:
                if fault.matches(op, key, background) and self._rng.random() < fault.probability:
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    chosen = fault
                    break
        if chosen is not None:
            name = threading.current_thread().name
            self.injected.append(Injected(op, chosen.error, key, name, next(self._seq)))
        return chosen

    # ------------------------------------------------------------ the ObjectStore interface

    def put_if_absent(self, key: str, data: Payload) -> bool:
        with self._mu:
            if not self._powered:
                raise StoreClosedError("the power was cut (simulated): no more writes")
            put = _Put(key, self._take("put", key))
            self._in_flight.append(put)
            self._count_activity()
        try:
            put.returned = self._inner.put_tracked(put, data)
            if put.returned:
                with self._mu:
                    name = threading.current_thread().name
                    self.completed.append(Injected("put", "", key, name, next(self._seq)))
            return put.returned
        except BaseException:
            put.raised = True
            with self._mu:
                if put.stage in ("linked", "durable") and self._powered:
                    self._unacked.append(put)
            raise
        finally:
            with self._mu:
                self._in_flight.remove(put)
                self._count_activity()

    def get(self, key: str) -> bytes:
        with self._mu:
            fault = self._take("get", key)
        if fault is not None:
            return self._inner.failing("get", lambda: self._inner.get(key))
        return self._inner.get(key)

    def list(self, prefix: str) -> list[str]:
        with self._mu:
            fault = self._take("list", prefix)
        if fault is not None:
            return self._inner.failing("list", lambda: self._inner.list(prefix))
        return self._inner.list(prefix)

    def delete(self, key: str) -> None:
        with self._mu:
            if not self._powered:
                raise StoreClosedError("the power was cut (simulated): no more writes")
            fault = self._take("delete", key)
        if fault is not None:
            self._inner.failing("delete", lambda: self._inner.delete(key))
            return  # (a delete that did not fail: the store was closed or poisoned first, say)
        path = self.root / key
        stash: Path | None = self.root / ".tmp" / f"faulty-stash.{next(self._stash_names)}"
        assert stash is not None
        try:
            os.link(path, stash)  # the bytes, in case a power loss undoes the unlink
        except FileNotFoundError:
            stash = None  # nothing to delete
        try:
            self._inner.delete(key)
        except BaseException:
            if stash is not None:
                stash.unlink(missing_ok=True)
            raise
        if stash is not None:
            with self._mu:
                pending = self._unsynced_deletes.setdefault(path.parent, {})
                old = pending.pop(key, None)
                if old is not None:
                    old.unlink(missing_ok=True)
                pending[key] = stash

    def local_path(self, key: str) -> str | None:
        return self._inner.local_path(key)

    def local_bytes(self, prefix: str) -> int:
        return self._inner.local_bytes(prefix)

    shared = False

    def lease(self, key: str) -> Lease:
        return HeldLease()

    def free_bytes(self) -> int | None:
        if self._full_disk:
            return 0
        return self._inner.free_bytes()

    @property
    def out_of_space(self) -> bool:
        return self._inner.out_of_space

    def not_writable(self) -> str | None:
        if not self._powered:
            return "the power was cut (simulated)"
        return self._inner.not_writable()

    def close(self) -> None:
        self._inner.close()

    # ------------------------------------------------------------ power loss

    def _dir_synced(self, path: Path) -> None:
        """A directory fsync succeeded: the unlinks in it are durable now."""
        with self._mu:
            pending = self._unsynced_deletes.pop(path, {})
        for stash in pending.values():
            stash.unlink(missing_ok=True)

    def _cut_from_put(self) -> None:
        with self._mu:
            self._cut_locked()

    def _cut_locked(self) -> None:
        if self._powered:
            self._powered = False
            self._cut = list(self._in_flight)

    def cut_power(self) -> None:
        """The power goes now: every later put and delete raises ``StoreClosedError``; the puts under way
        are judged by :meth:`power_loss`. Close whatever uses the store, then call :meth:`power_loss`."""
        with self._mu:
            self._cut_locked()

    def power_loss(self, *, keep_unsynced: float = 0.5, undo_deletes: float = 0.5) -> PowerLossReport:
        """Make the directory what a boot after the cut would find (module docstring): objects linked
        but not synced are kept with probability ``keep_unsynced``, unsynced deletes undone with
        probability ``undo_deletes``. The store must be closed (and nothing still running in it)."""
        if self._powered:
            self.cut_power()
        with self._mu:
            if self._in_flight:
                raise RuntimeError(f"puts still under way: {[p.key for p in self._in_flight]}")
            doubtful = [*self._cut, *self._unacked]
            pending = [(k, s) for d in self._unsynced_deletes.values() for k, s in d.items()]
            self._unsynced_deletes.clear()
            self._cut, self._unacked = [], []
        if not self._inner._closed:
            raise RuntimeError("close the store before the power loss")
        report = PowerLossReport()
        for put in doubtful:
            if put.stage not in ("linked", "durable"):
                continue  # never linked: not there
            if put.stage == "durable" or self._rng.random() < keep_unsynced:
                report.kept.add(put.key)
            else:
                (self.root / put.key).unlink(missing_ok=True)
                report.dropped.add(put.key)
        for key, stash in sorted(pending):
            path = self.root / key
            if self._rng.random() < undo_deletes and not path.exists():
                os.link(stash, path)
                report.undeleted.add(key)
            stash.unlink(missing_ok=True)
        report.partial_temporaries = sum(1 for p in (self.root / ".tmp").glob("*.crashed"))
        return report
