"""Fixtures: a real ``spruce serve`` process per module, and clients for it.

Each test module gets its own server and data directory, so modules cannot see each other's indexes;
tests inside a module use distinct index names. Every module using ``server`` runs twice: against a
server on a local data directory, and against one whose store is a bucket of the session's SeaweedFS
(``--store s3://...``, issue 15). ``SERVER_STORES=local`` (or ``s3``) runs one of them only.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator

import httpx
import pytest
from spruce_server_proc import ServerProcess

# 10.x warns about plaintext http:// to a host it does not consider private; 127.0.0.1 is fine, but keep
# the output clean whatever the advertised host.
warnings.filterwarnings("ignore", category=RuntimeWarning, module="pinecone")


STORES = os.environ.get("SERVER_STORES", "local,s3").split(",")


@pytest.fixture(scope="module", params=STORES)
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    data = tmp_path_factory.mktemp("data")
    args: list[str] = []
    env: dict[str, str] = {}
    if request.param == "s3":
        seaweed = request.getfixturevalue("seaweed")
        args = ["--store", f"s3://{seaweed.bucket()}/integration", "--cache", str(data / "cache")]
        env = seaweed.env()
    proc = ServerProcess(data, args, env=env).start(timeout=60)
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
