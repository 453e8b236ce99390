"""The kill -9 soak of the real server (``benchmarks/soak_kill9.py``), short: 20 cycles of SDK writes, SIGKILL
at a random moment, restart, and a check of every slot against the model of acknowledged operations.

The script itself fails (exit status 1) on anything lost, resurrected, wrong or half-applied, a stats count
off, an SDK call failing while the server was up, a traceback in a server log, a server that does not
reopen, background work that never finishes once idle, or ``spruce verify`` finding damage; its output
names the seed and keeps the store. ``SPRUCE_SOAK_SEED`` changes the seed (default 7).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from bench_module import load_benchmark


def _soak() -> Any:
    return load_benchmark("soak_kill9.py", "soak_kill9_under_test")


def test_twenty_kill9_cycles_lose_and_resurrect_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seed = os.environ.get("SPRUCE_SOAK_SEED", "7")
    args = ["--cycles", "20", "--seed", seed, "--data", str(tmp_path / "store")]
    args += ["--min-run", "0.3", "--max-run", "1.2", "--universe", "2000", "--startup-kills", "0.2"]
    args += ["--idle-wait", "60"]
    started = time.monotonic()
    code = _soak().main(args)
    took = time.monotonic() - started
    out = capsys.readouterr().out
    with capsys.disabled():
        print("\n" + "\n".join(line for line in out.splitlines() if not line.startswith("cycle ")))
    assert code == 0, out
    assert "lost=0 resurrected=0 wrong=0 partial=0 client_errors=0 tracebacks=0 violations=0" in out, out
    assert out.count(" ok") >= 20, out
    assert took < 120, f"the short soak took {took:.0f} s"


def test_the_check_catches_lost_resurrected_wrong_and_half_applied() -> None:
    """The soak's own check, on made-up states: it must not pass what it exists to catch."""
    soak = _soak()
    a = (b"\x00" * 8, {"owner": 0, "grp": 1})
    b = (b"\x01" * 8, {"owner": 0, "grp": 1})
    slots = [("", f"r{i}") for i in range(0, 12, 2)]  # writer 0 of 2 owns the even ids
    model = {slots[0]: a, slots[1]: a, slots[2]: a}
    ok = soak.check_cycle([dict(model), {}], 2, [], dict(model), slots)
    assert (ok.lost, ok.resurrected, ok.wrong, ok.partial) == (0, 0, 0, 0)
    found = {slots[1]: a, slots[2]: b, slots[3]: a}  # slots[0] lost, slots[2] wrong, slots[3] back
    res = soak.check_cycle([dict(model), {}], 2, [], found, slots)
    assert (res.lost, res.resurrected, res.wrong) == (1, 1, 1), res.details
    # a bool where a number was written is wrong too (True == 1 in Python)
    flag = soak.check_cycle([{slots[0]: (a[0], {"f": 1})}, {}], 2, [], {slots[0]: (a[0], {"f": True})}, slots)
    assert flag.wrong == 1
    # an upsert of slots 4 and 5 in flight: both or neither, never one
    op = soak.Op("upsert", slots[4:], {s: None for s in slots[4:]}, {s: b for s in slots[4:]}, print, 2)
    for seen, applied in (({}, 0), ({slots[4]: b, slots[5]: b}, 1)):
        whole = soak.check_cycle([dict(model), {}], 2, [op], {**model, **seen}, slots)
        assert (whole.partial, whole.applied, whole.lost + whole.resurrected + whole.wrong) == (0, applied, 0)
    half = soak.check_cycle([dict(model), {}], 2, [op], {**model, slots[4]: b}, slots)
    assert half.partial == 1
