"""A torn or corrupt last log entry is cut (and kept aside) when the store opens; damage below it refuses.

A child (``writer.py torn``) writes the five small ``TORN_ENTRIES`` batches (dimension 4, one log entry
each: LSNs 1-5) to a store that never flushes, and is SIGKILLed, so the store is exactly as a crash left
it: catalog plus five log entries, no manifest. Then, each time on a fresh copy of that directory:

- the last entry truncated to every length 0..n-1, and with one bit flipped at every byte offset (all 8
  bits of every header byte and of every 16th payload byte): the store opens to exactly the state after
  entry 4 (LSN 4), the cut entry's bytes are under ``quarantine/``, and the next write takes LSN 5 again;
- a corrupt, truncated or missing entry in the middle of the log (below the newest): the open refuses
  with a message naming the entry, and every file is still there, byte for byte (``storage.log``: only
  a bad *last* entry can be a write that was never acknowledged).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import spruce
from spruce.errors import DataCorruptionError
from spruce.storage.framing import HEADER

from .harness import Child, Model, snapshot, split_events
from .writer import INDEX, TORN_ENTRIES

UNIVERSE = sorted({r[0] for op in TORN_ENTRIES if op["kind"] == "upsert" for r in op["records"]})
N = len(TORN_ENTRIES)


def _state_after(k: int) -> dict[str, Any]:
    model = Model()
    for op in TORN_ENTRIES[:k]:
        model.apply(op)
    return model.state()


@pytest.fixture(scope="module")
def crashed_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store holding LSNs 1..N as log entries, left by a SIGKILLed writer."""
    work = tmp_path_factory.mktemp("torn")
    store = work / "store"
    child = Child(work, "torn", "torn", store)
    try:
        child.wait_for("done")
    finally:
        assert child.kill() in (-9, 0)
    acked, inflight = split_events(child.events())
    assert [lsn for _, lsn in acked] == list(range(1, N + 1)) and inflight is None
    return store


def _log_dir(store: Path) -> Path:
    (index_dir,) = (store / "indexes").iterdir()
    return index_dir / "log"


def _entry(store: Path, lsn: int) -> Path:
    return _log_dir(store) / f"{lsn:020d}"


def _open_and_check(store: Path, upto: int, gone: list[int], aside: tuple[int, ...] = ()) -> None:
    """The store opens to exactly the state after entry ``upto``, entries ``gone`` were cut, and the bytes
    of those in ``aside`` are under ``quarantine/``."""
    db = spruce.Client(path=store)
    try:
        assert sorted(int(p.name) for p in _log_dir(store).iterdir()) == list(range(1, upto + 1)), (
            "log entries after the cut were not deleted"
        )
        for lsn in gone:
            assert not _entry(store, lsn).exists()
        kept = sorted(p.name for p in (store / "quarantine").rglob("*") if p.is_file())
        assert kept == [f"{lsn:020d}.1" for lsn in aside], kept
        assert db.database.index(INDEX).lsn == upto
        state = snapshot(db.Index(INDEX), UNIVERSE)
        assert state == _state_after(upto), f"state {state} != state after entry {upto}"
        db.database.index(INDEX).close(flush=False)  # (a flush would only cost time here)
    finally:
        db.close()


def _variant(crashed: Path, work: Path, name: str, mutate: Callable[[Path], None]) -> Path:
    store = work / name
    shutil.copytree(crashed, store)
    mutate(store)
    return store


def test_intact_store_opens_to_every_entry(crashed_store: Path, tmp_path: Path) -> None:
    _open_and_check(_variant(crashed_store, tmp_path, "intact", lambda s: None), N, [])
    _open_and_check(_variant(crashed_store, tmp_path, "no-last", lambda s: _entry(s, N).unlink()), N - 1, [N])


def _truncate(lsn: int, length: int) -> Callable[[Path], None]:
    def mutate(store: Path) -> None:
        path = _entry(store, lsn)
        path.write_bytes(path.read_bytes()[:length])

    return mutate


def _flip(lsn: int, offset: int, bit: int) -> Callable[[Path], None]:
    def mutate(store: Path) -> None:
        path = _entry(store, lsn)
        data = bytearray(path.read_bytes())
        data[offset] ^= 1 << bit
        path.write_bytes(bytes(data))

    return mutate


def _run_all(crashed: Path, work: Path, cases: list[tuple[str, Callable[[Path], None]]], upto: int) -> None:
    failures: list[str] = []
    for name, mutate in cases:
        store = _variant(crashed, work, name, mutate)
        try:
            _open_and_check(store, upto, list(range(upto + 1, N + 1)), aside=(N,))
        except Exception as exc:
            failures.append(f"{name}: {type(exc).__name__}: {str(exc)[:200]}")
        shutil.rmtree(store)
    assert not failures, f"{len(failures)} of {len(cases)} variants failed:\n" + "\n".join(failures[:20])


def test_truncated_last_entry_is_cut_at_every_length(crashed_store: Path, tmp_path: Path) -> None:
    size = _entry(crashed_store, N).stat().st_size
    assert size < 400, "keep the last entry small: this test opens one store per byte"
    started = time.monotonic()
    _run_all(crashed_store, tmp_path, [(f"trunc{n}", _truncate(N, n)) for n in range(size)], N - 1)
    print(f"\n{size} truncations in {time.monotonic() - started:.1f} s")


def test_bit_flip_in_last_entry_is_cut_at_every_offset(crashed_store: Path, tmp_path: Path) -> None:
    size = _entry(crashed_store, N).stat().st_size
    cases = []
    for offset in range(size):
        every_bit = offset < HEADER.size or offset % 16 == 0 or offset == size - 1
        for bit in range(8) if every_bit else [offset % 8]:
            cases.append((f"flip{offset}.{bit}", _flip(N, offset, bit)))
    started = time.monotonic()
    _run_all(crashed_store, tmp_path, cases, N - 1)
    print(f"\n{len(cases)} bit flips over {size} bytes in {time.monotonic() - started:.1f} s")


def test_store_with_cut_tail_takes_the_cut_lsn_again(crashed_store: Path, tmp_path: Path) -> None:
    """After a cut, the next write is LSN N again, and it (not the cut bytes) is what a reopen sees."""
    size = _entry(crashed_store, N).stat().st_size
    for name, mutate in [
        ("empty", _truncate(N, 0)),
        ("half", _truncate(N, size // 2)),
        ("flip", _flip(N, size - 1, 0)),
    ]:
        store = _variant(crashed_store, tmp_path, name, mutate)
        db = spruce.Client(path=store)
        try:
            resp = db.Index(INDEX).upsert([("z", [1.0, 1.0, 1.0, 1.0], {"after": "cut"})], namespace="")
            assert resp.lsn == N
        finally:
            db.database.index(INDEX).close(flush=False)  # keep it in the log: reopen replays it
            db.close()
        expected = _state_after(N - 1)
        expected[""]["z"] = ((1.0, 1.0, 1.0, 1.0), '{"after": "cut"}')
        db = spruce.Client(path=store)
        try:
            assert db.database.index(INDEX).lsn == N
            assert snapshot(db.Index(INDEX), [*UNIVERSE, "z"]) == expected
        finally:
            db.close()


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.mark.parametrize(
    ("damage", "lsn"),
    [("flip", 2), ("flip", 4), ("truncate", 3), ("empty", 2), ("missing", 3), ("missing", 1)],
)
def test_bad_entry_in_the_middle_refuses_to_open_and_keeps_every_file(
    crashed_store: Path, tmp_path: Path, damage: str, lsn: int
) -> None:
    """Entries after the bad one are whole and were acknowledged: cutting them would lose them, so the
    open refuses, names the entry, and leaves every object as it was."""

    def mutate(store: Path) -> None:
        if damage == "flip":
            _flip(lsn, HEADER.size + 3, 5)(store)
        elif damage == "truncate":
            _truncate(lsn, _entry(store, lsn).stat().st_size - 1)(store)
        elif damage == "empty":
            _truncate(lsn, 0)(store)
        else:
            _entry(store, lsn).unlink()

    store = _variant(crashed_store, tmp_path, "middle", mutate)
    before = {k: v for k, v in _files(store).items() if not k.endswith("LOCK")}
    with pytest.raises(DataCorruptionError, match=f"log entry .*{lsn:020d}"):
        spruce.Client(path=store)
    after = {k: v for k, v in _files(store).items() if not k.endswith("LOCK")}
    assert after == before
