"""Runs one framework suite (``*_suite.py``) with pytest inside the framework's own venv, against a real
``spruce serve`` started here.

Each framework pins an SDK generation that cannot share an environment with the others (one package
name, ``pinecone``), so its suite runs in the venv the Makefile builds for it (``make test`` does).
Without that venv the test is skipped, naming it; ``make test`` never skips it. The suite must pass whole,
with at least as many tests passed as the file has test functions and none skipped, so a test that
silently did not run fails this one.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
from pathlib import Path

import pytest
from spruce_server_proc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def venv_python(venv: str, env_var: str) -> Path:
    """The interpreter of ``venv`` (under the repo), or the one ``env_var`` names."""
    return Path(os.environ.get(env_var, ROOT / venv / "bin" / "python"))


def run_suite(python: Path, suite: str, package: str, version: str, timeout: float = 300.0) -> str:
    """Start a server, run ``suite`` under ``python`` with ``SPRUCE_URL`` set, and check the outcome.
    ``package`` must be installed there at ``version`` (the venv is the one the Makefile pins)."""
    if not python.exists():
        pytest.skip(f"no interpreter at {python} (make test builds it)")
    got = subprocess.run(
        [str(python), "-c", f"import importlib.metadata as m; print(m.version({package!r}))"],
        capture_output=True,
        text=True,
    )
    assert got.stdout.strip() == version, got.stdout + got.stderr
    path = HERE / suite
    command = [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(ROOT), str(path)]
    expected = len(re.findall(r"^(?:async )?def test_", path.read_text(), flags=re.M))
    with tempfile.TemporaryDirectory(prefix="spruce-frameworks-") as data:
        server = ServerProcess(Path(data)).start(timeout=60)
        try:
            run = subprocess.run(
                command,
                cwd=ROOT,
                env={**os.environ, "SPRUCE_URL": server.url, "PYTHONWARNINGS": "ignore"},
                capture_output=True,
                text=True,
                timeout=timeout,
            )
        finally:
            server.stop()
    out = run.stdout[-6000:] + run.stderr[-3000:]
    assert run.returncode == 0, out
    passed = re.search(r"(\d+) passed", run.stdout)
    assert passed and int(passed.group(1)) >= expected, out  # (parametrized functions count more)
    assert not re.search(r"\d+ (failed|skipped|error)", run.stdout), out
    return run.stdout
