"""SDK 7.3.0 (API 2025-04, classic shapes), run from its own venv.

Create it with ``python3 -m venv .venv-sdk7 && .venv-sdk7/bin/pip install pinecone==7.3.0`` (``make test``
should do this); the test is skipped only when that interpreter is missing. ``SPRUCE_SDK7_PYTHON`` may
point at another interpreter with pinecone 7.3.0.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from spruce_server_proc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(os.environ.get("SPRUCE_SDK7_PYTHON", ROOT / ".venv-sdk7" / "bin" / "python"))


@pytest.mark.skipif(not PYTHON.exists(), reason=f"no SDK 7.3.0 interpreter at {PYTHON}")
def test_sdk_7_3_0_classic_shapes(server: ServerProcess) -> None:
    script = Path(__file__).with_name("sdk7_script.py")
    run = subprocess.run([str(PYTHON), str(script), server.url], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "sdk7 ok" in run.stdout
