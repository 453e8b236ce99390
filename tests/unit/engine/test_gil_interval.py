"""The GIL switch interval is shortened while background work runs, and put back afterwards."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from spruce.engine import Database, gil


@pytest.fixture(autouse=True)
def _default_interval() -> Iterator[None]:
    before = sys.getswitchinterval()
    sys.setswitchinterval(0.005)
    yield
    gil.set_enabled(True)
    sys.setswitchinterval(before)


def test_nested_and_concurrent_uses_share_one_shortened_interval() -> None:
    inside = threading.Event()
    leave = threading.Event()

    def other() -> None:
        with gil.responsive():
            inside.set()
            leave.wait(5)

    with gil.responsive():
        assert sys.getswitchinterval() == gil.INTERVAL
        t = threading.Thread(target=other)
        t.start()
        assert inside.wait(5)
        with gil.responsive():
            assert sys.getswitchinterval() == gil.INTERVAL
    assert sys.getswitchinterval() == gil.INTERVAL  # the other thread's step still runs
    leave.set()
    t.join(5)
    assert sys.getswitchinterval() == 0.005


def test_a_value_set_meanwhile_is_kept_and_a_shorter_one_is_left_alone() -> None:
    with gil.responsive():
        sys.setswitchinterval(0.002)  # the application changed it during a background step
    assert sys.getswitchinterval() == 0.002
    sys.setswitchinterval(0.0001)
    with gil.responsive():
        assert sys.getswitchinterval() == pytest.approx(0.0001)
    assert sys.getswitchinterval() == pytest.approx(0.0001)


@pytest.mark.parametrize(("tuned", "expected"), [(True, gil.INTERVAL), (False, 0.005)])
def test_background_steps_run_with_the_short_interval_unless_disabled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tuned: bool, expected: float
) -> None:
    from spruce.engine import maintenance

    seen: list[float] = []
    real = maintenance.Maintainer._build

    def spy(self: maintenance.Maintainer, *a: object, **k: object) -> object:
        seen.append(sys.getswitchinterval())
        return real(self, *a, **k)  # type: ignore[arg-type]

    monkeypatch.setattr(maintenance.Maintainer, "_build", spy)
    gil.set_enabled(tuned)
    db = Database.open(tmp_path, flush_rows=50)
    db.create_index("ix", dimension=4, metric="cosine")
    idx = db.index("ix")
    vecs = np.random.default_rng(0).normal(size=(120, 4)).astype(np.float32)
    idx.upsert([(str(i), vecs[i], {}) for i in range(120)])
    idx.flush()
    db.close()
    assert seen and all(v == expected for v in seen)
    assert sys.getswitchinterval() == 0.005


def test_disabled_leaves_the_interval_alone_and_re_enabling_works() -> None:
    assert gil.enabled()  # the default
    gil.set_enabled(False)
    assert not gil.enabled()
    with gil.responsive():
        assert sys.getswitchinterval() == 0.005
        with gil.responsive():
            assert sys.getswitchinterval() == 0.005
    assert sys.getswitchinterval() == 0.005
    gil.set_enabled(True)
    assert gil.enabled()
    with gil.responsive():
        assert sys.getswitchinterval() == gil.INTERVAL
    assert sys.getswitchinterval() == 0.005


def test_switching_during_a_step_takes_effect_at_once() -> None:
    with gil.responsive():
        assert sys.getswitchinterval() == gil.INTERVAL
        gil.set_enabled(False)
        assert sys.getswitchinterval() == 0.005  # put back while the step still runs
        gil.set_enabled(True)
        assert sys.getswitchinterval() == gil.INTERVAL
    assert sys.getswitchinterval() == 0.005
    gil.set_enabled(False)
    with gil.responsive():
        gil.set_enabled(True)  # a step that began disabled is shortened from here, and restored after
        assert sys.getswitchinterval() == gil.INTERVAL
    assert sys.getswitchinterval() == 0.005
