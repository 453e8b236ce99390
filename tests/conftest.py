"""Shared by every test directory: ``tests/support`` (the server-process helper) is importable as a top
level module, as the integration and behaviour suites expect."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).with_name("support")))


import pytest
from seaweed import SeaweedFS


@pytest.fixture(scope="session")
def seaweed(tmp_path_factory: pytest.TempPathFactory) -> object:
    """One real SeaweedFS (S3 on loopback) for the session (``tests/support/seaweed.py``)."""
    server = SeaweedFS(tmp_path_factory.mktemp("seaweedfs")).start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def s3_env(seaweed: SeaweedFS, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """This process's environment pointed at the session's SeaweedFS (as a user's would be)."""
    for name, value in seaweed.env().items():
        monkeypatch.setenv(name, value)
    return seaweed.env()
