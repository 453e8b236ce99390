"""A small readers-writer lock: queries share it, applying a logged batch takes it alone.

Phase-fair, with writers in arrival order:

- a waiting writer stops new readers, so a stream of queries cannot delay an acknowledgement indefinitely;
- when a writer releases, every reader waiting at that moment is let in *before* the next writer, so a
  queue of writers cannot starve queries either;
- writers take turns first come, first served.

Why not the plain writer-preferring lock this replaced: a thread that releases and at once re-acquires the
exclusive lock (the background thread re-pointing the id map in short steps) got it back before the threads
it had just woken could run, step after step. Its 2-4 ms steps added up to one exclusive hold of 100 ms and
more, and every query and write waited behind it (``benchmarks/bench_stalls.py``, reads during
install+finish). The exclusive section is only the in-memory apply, never I/O.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["RWLock"]


class RWLock:
    def __init__(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._readers = 0  # readers inside, including those admitted but not yet awake
        self._writer = False
        self._writers: deque[object] = deque()  # waiting writers, oldest first
        self._waiting_readers = 0
        self._phase = 0  # advanced when a writer releases and admits the waiting readers

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            if self._writer or self._writers:
                self._waiting_readers += 1
                phase = self._phase
                try:
                    while self._phase == phase:
                        self._cond.wait()
                except BaseException:  # (interrupted while waiting: leave no count behind)
                    if self._phase == phase:
                        self._waiting_readers -= 1
                    else:
                        self._readers -= 1
                        self._cond.notify_all()
                    raise
                # admitted by the releasing writer, which counted us in ``_readers``
            else:
                self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if not self._readers:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        me = object()
        with self._cond:
            self._writers.append(me)
            try:
                while self._writers[0] is not me or self._writer or self._readers:
                    self._cond.wait()
            except BaseException:  # (interrupted while waiting: leave the queue to the others)
                self._writers.remove(me)
                self._release_if_idle()
                raise
            self._writers.popleft()
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._release_if_idle()

    def _release_if_idle(self) -> None:
        """(Caller holds ``_cond``.) Let in the waiting readers, unless a writer holds the lock, then wake
        everyone to re-check."""
        if not self._writer and self._waiting_readers:
            self._readers += self._waiting_readers
            self._waiting_readers = 0
            self._phase += 1
        self._cond.notify_all()
