"""A failing background step is surfaced in the stats, cleared by the next success, and not retried
forever when it repeats itself (``engine.maintenance``, "Failures"). The fault is injected by replacing
the segment encoder: a flush cannot otherwise be made to fail on cue without failing the store's fsync,
which is another path (the store turns read-only)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spruce.engine import Database, maintenance

DIM = 2


def _wait(what: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _failing_encoder(calls: list[int], fail_times: int) -> Callable[..., Any]:
    real = maintenance.encode_segment

    def encode(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        if len(calls) <= fail_times:
            raise RuntimeError("disk says no")
        return real(*args, **kwargs)

    return encode


def test_a_repeated_failure_is_shown_and_stops_the_retries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "IDLE_FLUSH_S", 0.02)
    calls: list[int] = []
    monkeypatch.setattr(maintenance, "encode_segment", _failing_encoder(calls, fail_times=10**6))
    db = Database.open(tmp_path, flush_rows=10)
    db.create_index("ix", dimension=DIM)
    idx = db.index("ix")
    idx.upsert([(f"r{i}", [1.0, float(i)]) for i in range(10)])
    _wait(lambda: (idx.describe_index_stats().background_error or "").endswith("background work stopped)"))
    error = idx.describe_index_stats().background_error
    assert error is not None and "RuntimeError: disk says no" in error
    assert len(calls) == maintenance.HALT_AFTER
    time.sleep(0.3)  # several idle periods: no more attempts
    assert len(calls) == maintenance.HALT_AFTER
    # Reads and writes go on; the log holds every write.
    idx.upsert([("late", [0.0, 1.0])])
    assert idx.query(vector=[0.0, 1.0], top_k=1).matches[0].id == "late"
    assert idx.describe_index_stats().total_vector_count == 11
    db.close()
    reopened = Database.open(tmp_path)
    assert reopened.index("ix").describe_index_stats().total_vector_count == 11
    reopened.close()


def test_a_passing_failure_is_cleared_by_the_next_success(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenance, "IDLE_FLUSH_S", 0.02)
    calls: list[int] = []
    monkeypatch.setattr(maintenance, "encode_segment", _failing_encoder(calls, fail_times=1))
    db = Database.open(tmp_path, flush_rows=10)
    db.create_index("ix", dimension=DIM)
    idx = db.index("ix")
    idx.upsert([(f"r{i}", [1.0, float(i)]) for i in range(10)])
    _wait(lambda: len(calls) >= 2 and idx.describe_index_stats().unindexed_records == 0)
    # the error is cleared when the round that succeeded ends, a moment after its flush is visible
    _wait(lambda: idx.describe_index_stats().background_error is None)
    assert len(calls) >= 2
    db.close()
