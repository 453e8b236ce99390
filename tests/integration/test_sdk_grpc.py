"""The gRPC clients of the older SDK generations, each from its own venv (``make test`` builds both):
9.1.0's ``GrpcIndex(host=..., secure=False)`` and 7.3.0's ``PineconeGRPC(...).Index(host=...,
grpc_config=GRPCClientConfig(secure=False))``, running ``sdk_grpc_script.py`` against a real server.
SDK 10.x's gRPC client runs the whole behaviour suite (face ``grpc``) and ``test_grpc.py``.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from spruce_server_proc import ServerProcess

ROOT = Path(__file__).resolve().parents[2]
PYTHONS = {
    "9.1.0": Path(os.environ.get("SPRUCE_SDK9_PYTHON", ROOT / ".venv-sdk9" / "bin" / "python")),
    "7.3.0": Path(os.environ.get("SPRUCE_SDK7_PYTHON", ROOT / ".venv-sdk7" / "bin" / "python")),
}


@pytest.mark.parametrize("version", sorted(PYTHONS))
def test_older_grpc_clients(server: ServerProcess, version: str) -> None:
    python = PYTHONS[version]
    if not python.exists():
        pytest.skip(f"no SDK {version} interpreter at {python}")
    script = Path(__file__).with_name("sdk_grpc_script.py")
    run = subprocess.run([str(python), str(script), server.url], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"sdk{version[0]} grpc ok" in run.stdout
