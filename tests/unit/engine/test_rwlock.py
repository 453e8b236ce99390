"""The index lock: shared reads, exclusive writes, writers first come first served, and phase fairness
(readers waiting when a writer releases go before the next writer)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from spruce.engine.rwlock import RWLock

WAIT = 5.0


def _start(fn: Callable[[], None]) -> threading.Thread:
    t = threading.Thread(target=fn, daemon=True)
    t.start()
    return t


def _until(cond: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT
    while not cond():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.001)


def test_readers_share_and_a_writer_is_alone() -> None:
    lock = RWLock()
    inside = threading.Barrier(2, timeout=WAIT)

    def reader() -> None:
        with lock.read():
            inside.wait()  # both readers are inside at once, or this times out

    readers = [_start(reader) for _ in range(2)]
    for t in readers:
        t.join(WAIT)
    assert not any(t.is_alive() for t in readers)

    order: list[str] = []
    with lock.write():
        w2 = _start(lambda: _locked(lock.write, order, "writer"))
        r = _start(lambda: _locked(lock.read, order, "reader"))
        time.sleep(0.05)
        assert order == []  # neither got in while the first writer held the lock
        order.append("first")
    w2.join(WAIT)
    r.join(WAIT)
    assert order[0] == "first" and sorted(order[1:]) == ["reader", "writer"]


def _locked(acquire: Callable[[], object], order: list[str], name: str) -> None:
    with acquire():  # type: ignore[attr-defined]
        order.append(name)


def test_a_waiting_writer_stops_new_readers() -> None:
    lock = RWLock()
    order: list[str] = []
    release_reader = threading.Event()

    def long_reader() -> None:
        with lock.read():
            release_reader.wait(WAIT)
            order.append("reader 1 out")

    r1 = _start(long_reader)
    _until(lambda: lock._readers == 1)
    w = _start(lambda: _locked(lock.write, order, "writer"))
    _until(lambda: len(lock._writers) == 1)
    r2 = _start(lambda: _locked(lock.read, order, "reader 2"))
    _until(lambda: lock._waiting_readers == 1)
    release_reader.set()
    for t in (r1, w, r2):
        t.join(WAIT)
    assert order == ["reader 1 out", "writer", "reader 2"]


def test_writers_are_served_in_arrival_order_even_against_a_quick_re_acquirer() -> None:
    """The background thread's pattern: release the exclusive lock and at once ask again. A writer that was
    already waiting goes first."""
    lock = RWLock()
    order: list[str] = []
    lock_taken = threading.Event()

    def stepper() -> None:
        for step in range(3):
            with lock.write():
                order.append(f"step {step}")
                if step == 0:
                    lock_taken.set()
                    _until(lambda: len(lock._writers) == 1)  # the other writer now waits

    s = _start(stepper)
    lock_taken.wait(WAIT)
    w = _start(lambda: _locked(lock.write, order, "writer"))
    for t in (s, w):
        t.join(WAIT)
    assert order.index("writer") == 1, order


def test_readers_waiting_when_a_writer_releases_go_before_the_next_writer() -> None:
    lock = RWLock()
    order: list[str] = []
    held = threading.Event()
    go = threading.Event()

    def first_writer() -> None:
        with lock.write():
            held.set()
            go.wait(WAIT)
            order.append("writer 1")

    w1 = _start(first_writer)
    held.wait(WAIT)
    readers = [_start(lambda i=i: _locked(lock.read, order, f"reader {i}")) for i in range(3)]
    _until(lambda: lock._waiting_readers == 3)
    w2 = _start(lambda: _locked(lock.write, order, "writer 2"))
    _until(lambda: len(lock._writers) == 1)
    go.set()
    for t in (w1, w2, *readers):
        t.join(WAIT)
    assert order[0] == "writer 1" and order[-1] == "writer 2"
    assert sorted(order[1:4]) == ["reader 0", "reader 1", "reader 2"]
    assert lock._readers == 0 and not lock._writer and not lock._writers
