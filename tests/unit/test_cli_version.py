from __future__ import annotations

import subprocess
import sys

import spruce


def test_version_prints_the_package_version_and_exits_0() -> None:
    """``spruce --version``: one line naming the installed version, exit status 0 (issue 16's CLI list)."""
    done = subprocess.run(
        [sys.executable, "-c", "import sys; from spruce.cli import main; sys.exit(main(['--version']))"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"spruce {spruce.__version__}\n"
