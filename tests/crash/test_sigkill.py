"""kill -9 at random moments under a mixed write load loses no acknowledged write and half-applies nothing.

Each cycle a child (``writer.py load``) opens the same store with a small ``flush_rows`` (so segment,
bitmap and manifest writes and log truncation happen every few calls and get interrupted too) and runs a
random mix of upserts of 1-100 records with metadata, deletes by ids, updates by id (values and/or
set_metadata), updates by filter, deletes by filter and delete_all of a namespace. Before each call it
reports the operation, after it returns the acknowledged LSN. The parent SIGKILLs it after a random delay
(sometimes while it is still opening and recovering the store), then opens the store in-process and
checks that:

- it opens;
- its state (fetch of every id that could exist, in every namespace, cross-checked against stats, list
  and query) equals the model after the last acknowledged operation, or that plus the single in-flight
  operation, whole: no acknowledged write lost, no batch half-applied, nothing else;
- every acknowledged LSN is the previous one + 1 for a logged write (the previous one for a no-op), and
  the recovered LSN is consistent with which of the two states was found.

The next cycle continues on the same store from the state found. The parent's own open/close alternates
between closing with a flush (then reopens and checks again) and closing without one, so the children see
both flushed stores and long logs to replay.

``SPRUCE_CRASH_CYCLES`` (default 30) sets the number of cycles, ``SPRUCE_CRASH_SEED`` the base seed,
``SPRUCE_CRASH_EXCLUDE`` the operation kinds left out (see ``EXCLUDED_OPS``). A failure names the cycle,
its seed and kill timing, and keeps the store and the child's journal in tmp_path. The seed fixes the
operations and the kill delay; where in the operation stream the kill lands still depends on timing.
"""

from __future__ import annotations

import os
import random
import time
from pathlib import Path

import pytest

import spruce

from .harness import Child, Model, crash_signs, diff, doc_snapshot, snapshot, split_events
from .writer import INDEX

CYCLES = int(os.environ.get("SPRUCE_CRASH_CYCLES", "30"))
# Operation kinds to leave out of the load, comma-separated (default: none; the full mix runs).
EXCLUDED_OPS = os.environ.get("SPRUCE_CRASH_EXCLUDE", "")
BASE_SEED = int(os.environ.get("SPRUCE_CRASH_SEED", "1729"))
FLUSH_ROWS = 200


def _kill_plan(rng: random.Random) -> tuple[bool, float]:
    """``(wait for ready first, then sleep this long)``: a quarter of the kills land at a random moment
    from the start (often while the child opens and recovers the store), the rest under load, timed from
    the moment the store is open so that a slow machine still gets load into every cycle."""
    if rng.random() < 0.25:
        return False, rng.uniform(0.0, 0.4)
    return True, rng.uniform(0.02, 1.0)


@pytest.mark.parametrize("kind", ["dense", "sparse", "documents"])
def test_sigkill_under_load_loses_nothing_acknowledged(tmp_path: Path, kind: str) -> None:
    """``sparse``: the same on a sparse index (records with sparse values only), with a third of the
    cycles: the log, segment and postings paths it adds are the ones under test. ``documents``: the same
    on a document index written through its Documents API (a third of the cycles), checking besides
    that BM25 scores after recovery are those of exactly the recovered documents."""
    cycles = CYCLES if kind == "dense" else max(1, CYCLES // 3)
    look = (lambda db: doc_snapshot(db.Index(INDEX).documents)) if kind == "documents" else None
    store = tmp_path / "store"
    model = Model()
    lsn = 0  # the LSN of the store as last verified
    totals = {"acked": 0, "inflight_applied": 0, "inflight_absent": 0, "startup_kills": 0}
    signs: dict[str, int] = {}
    started = time.monotonic()
    for cycle in range(cycles):
        seed = BASE_SEED * 100_003 + cycle
        rng = random.Random(seed)
        after_ready, delay = _kill_plan(rng)
        child = Child(tmp_path, f"cycle{cycle:03d}", "load", store, seed, FLUSH_ROWS, EXCLUDED_OPS, kind)
        context = (
            f"cycle {cycle} (seed {seed}, kill {delay:.3f} s after {'ready' if after_ready else 'start'}, "
            f"store {store}, journal {child.out_path})"
        )
        try:
            if after_ready:
                child.wait_for("ready")
            time.sleep(delay)
            if not child.alive():
                pytest.fail(f"writer died on its own, status {child.proc.returncode}:\n{child.stderr()}")
            status = child.kill()
            assert status == -9, f"child status {status}:\n{child.stderr()}"
            events = child.events()
            for sign in crash_signs(store):
                signs[sign] = signs.get(sign, 0) + 1
            acked, inflight = split_events(events)
            if not any(e["t"] == "ready" for e in events):
                totals["startup_kills"] += 1

            # replay what was acknowledged; LSNs must advance by exactly one per logged write
            for op, acked_lsn in acked:
                logged = model.apply(op)
                expected = lsn + 1 if logged else lsn
                assert acked_lsn == expected, (
                    f"{op['kind']} acknowledged at LSN {acked_lsn}, expected {expected}"
                )
                lsn = expected
            totals["acked"] += len(acked)
            after_ack = model.state()
            with_inflight = None
            if inflight is not None:
                m2 = model.copy()
                inflight_logged = m2.apply(inflight)
                with_inflight = m2.state()

            db = spruce.Client(path=store, flush_rows=FLUSH_ROWS)
            try:
                if not db.has_index(INDEX):  # killed before the first cycle created it
                    assert not acked and not model.ns, "index missing after acknowledged writes"
                    continue
                engine = db.database.index(INDEX)
                found = look(db) if look else snapshot(db.Index(INDEX))
                if found == after_ack:
                    # the in-flight entry may be durable yet invisible only if it changed nothing visible
                    allowed = {lsn}
                    if inflight is not None and inflight_logged and found == with_inflight:
                        allowed.add(lsn + 1)
                    assert engine.lsn in allowed, f"recovered LSN {engine.lsn}, expected one of {allowed}"
                    lsn = engine.lsn
                    totals["inflight_absent"] += inflight is not None
                elif with_inflight is not None and found == with_inflight:
                    model.apply(inflight)
                    expected = lsn + 1 if inflight_logged else lsn
                    assert engine.lsn == expected, (
                        f"recovered LSN {engine.lsn} with the in-flight op, expected {expected}"
                    )
                    lsn = expected
                    totals["inflight_applied"] += 1
                else:
                    detail = f"vs acknowledged state: {diff(found, after_ack)}"
                    if with_inflight is not None:
                        detail += f"\nvs with in-flight {inflight['kind']}: {diff(found, with_inflight)}"
                    pytest.fail(f"recovered state is neither allowed state\n{detail}")

                if cycle % 2 == 0:  # close with a flush, then check the flushed store reads back the same
                    db.close()
                    db = spruce.Client(path=store, flush_rows=FLUSH_ROWS)
                    again = look(db) if look else snapshot(db.Index(INDEX))
                    assert again == found, f"after a flush on close: {diff(again, found)}"
                    assert db.database.index(INDEX).lsn == lsn
                db.database.index(INDEX).close(flush=False)  # leave the log as it is for the next child
            finally:
                db.close()
        except BaseException as exc:
            child.kill()
            tail = child.out_path.read_text(errors="replace").splitlines()[-3:]
            raise AssertionError(f"{context}: {exc}\nlast journal lines: {[t[:300] for t in tail]}") from exc
    elapsed = time.monotonic() - started
    print(f"\n{cycles} {kind} SIGKILL cycles in {elapsed:.1f} s: {totals}, final LSN {lsn}")
    print(f"kills that interrupted storage work: {signs}")
    assert totals["acked"] > cycles * 10, f"too little load to mean anything: {totals}"
