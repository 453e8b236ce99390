"""Progress bars of ``spruce verify`` and ``spruce compact``: drawn on stderr when it is a terminal, and
nothing but the report otherwise (logs and captured output stay clean)."""

from __future__ import annotations

import fcntl
import io
import os
import pty
import struct
import subprocess
import sys
import termios
from pathlib import Path

import numpy as np
import pytest

from spruce.admin import progress
from spruce.cli import main
from spruce.engine import Database


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _backlog(path: Path, rows: int = 3000) -> None:
    db = Database(path, flush_rows=500, background=False)
    db.create_index("ix", dimension=8)
    idx = db.Index("ix")
    rng = np.random.default_rng(0)
    for start in range(0, rows, 500):
        idx.upsert([(f"r{i}", rng.normal(size=8).tolist()) for i in range(start, start + 500)])
        idx.flush()
    db.close(flush=False)


@pytest.mark.parametrize("command", ["verify", "compact"])
def test_a_bar_on_a_terminal_and_none_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    _backlog(tmp_path / "a")
    _backlog(tmp_path / "b")
    assert main([command, "--data", str(tmp_path / "a")]) == 0
    plain = capsys.readouterr()
    assert plain.err == ""  # not a terminal: no bar

    monkeypatch.setattr(progress, "DELAY_S", 0.0)  # (drawn at once, however quick the work)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main([command, "--data", str(tmp_path / "b")]) == 0
    drawn = terminal.getvalue()
    assert drawn.startswith(f"\r{command}"), drawn
    assert ("object" if command == "verify" else "record") in drawn
    if command == "compact":
        assert "0/3000" in drawn and "0record" not in drawn  # the bar knows the backlog from the start
    assert capsys.readouterr().out.splitlines()[-1] == plain.out.splitlines()[-1]  # the same report


def test_compact_draws_on_a_real_terminal(tmp_path: Path) -> None:
    """The installed command with stderr on a pseudo-terminal, a backlog that takes longer than the
    bar's delay: tqdm decides by itself (``disable=None``) that it may draw."""
    path = tmp_path / "db"
    db = Database(path, flush_rows=4000, background=False)
    db.create_index("ix", dimension=32)
    idx = db.Index("ix")
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(16_000, 32)).astype(np.float32)
    for start in range(0, 16_000, 1000):
        idx.upsert([(f"r{i}", vectors[i].tolist()) for i in range(start, start + 1000)])
    db.close(flush=True)
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # (0 columns: no bar)
    done = subprocess.Popen(
        [sys.executable, "-m", "spruce.cli", "compact", "--data", str(path)],
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 4096)
        except OSError:  # (EIO: the child closed its end)
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    out = done.communicate(timeout=120)[0].decode()
    assert done.returncode == 0
    assert "fully indexed" in out and "record" not in out  # the report on stdout, the bar on stderr only
    assert b"compact ix" in drawn and b"record" in drawn, drawn
