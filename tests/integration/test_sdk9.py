"""SDK 9.1.0 (API 2025-10): the behaviour suite's server face, run from a venv holding ``pinecone==9.1.0``
(the two SDK generations install as one package name, so they cannot share an environment).

``make test`` builds ``.venv-sdk9`` (9.1.0, pytest, numpy, httpx and spruce itself); the test is skipped
only when that interpreter is missing. ``SPRUCE_SDK9_PYTHON`` may point at another interpreter.
Tests marked ``sdk10`` (client-side behaviour 9.x does not have) are skipped there.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYTHON = Path(os.environ.get("SPRUCE_SDK9_PYTHON", ROOT / ".venv-sdk9" / "bin" / "python"))


@pytest.mark.skipif(not PYTHON.exists(), reason=f"no SDK 9.1.0 interpreter at {PYTHON}")
def test_behaviour_suite_on_sdk_9_1_0() -> None:
    version = subprocess.run(
        [str(PYTHON), "-c", "import pinecone; print(pinecone.__version__)"], capture_output=True, text=True
    )
    assert version.stdout.strip() == "9.1.0", version.stdout + version.stderr
    run = subprocess.run(
        [
            str(PYTHON),
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--rootdir",
            str(ROOT),
            "tests/behaviour",
        ],
        cwd=ROOT,
        env={**os.environ, "SPRUCE_FACES": "server"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-5000:] + run.stderr[-5000:]
    summary = re.search(r"(\d+) passed", run.stdout)
    assert summary and int(summary.group(1)) >= 20, run.stdout[-2000:]
