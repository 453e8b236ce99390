"""Fixtures: a real ``spruce serve`` process per module, and clients for it.

Each test module gets its own server and data directory, so modules cannot see each other's indexes;
tests inside a module use distinct index names.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from spruce_server_proc import ServerProcess

# 10.x warns about plaintext http:// to a host it does not consider private; 127.0.0.1 is fine, but keep
# the output clean whatever the advertised host.
warnings.filterwarnings("ignore", category=RuntimeWarning, module="pinecone")

NEW_API = {"X-Pinecone-Api-Version": "2026-07", "Api-Key": "k"}
CLASSIC_API = {"X-Pinecone-Api-Version": "2025-04", "Api-Key": "k"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("data")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        yield client


@pytest.fixture(scope="module")
def pc(server: ServerProcess):  # type: ignore[no-untyped-def]
    from pinecone import Pinecone

    return Pinecone(api_key="anything", host=server.url)


def make_index(http: httpx.Client, name: str, dimension: int = 4, metric: str = "cosine") -> None:
    """Create an index through raw HTTP (classic shape)."""
    r = http.post(
        "/indexes",
        headers=CLASSIC_API,
        json={
            "name": name,
            "dimension": dimension,
            "metric": metric,
            "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}},
        },
    )
    assert r.status_code == 201, r.text


__all__ = ["CLASSIC_API", "NEW_API", "Path", "make_index"]
