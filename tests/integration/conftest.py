"""Fixtures: a real ``spruce serve`` process per module, and clients for it.

Each test module gets its own server and data directory, so modules cannot see each other's indexes;
tests inside a module use distinct index names.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import httpx
import pytest
from spruce_server_proc import ServerProcess

# 10.x warns about plaintext http:// to a host it does not consider private; 127.0.0.1 is fine, but keep
# the output clean whatever the advertised host.
warnings.filterwarnings("ignore", category=RuntimeWarning, module="pinecone")


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
