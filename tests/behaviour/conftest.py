"""The ``face`` fixture of the behaviour suite: each test module runs once per face (see
``tests/support/faces.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from faces import FACES, FLUSH_ROWS, Face
from spruce_server_proc import ServerProcess

import spruce


def sdk_major() -> int:
    import pinecone

    return int(pinecone.__version__.split(".")[0])


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "server" in FACES and sdk_major() < 10:
        skip = pytest.mark.skip(reason="SDK 10.x behaviour (not the 9.x client's)")
        for item in items:
            if "sdk10" in item.keywords:
                item.add_marker(skip)
    skip_grpc = pytest.mark.skip(reason="REST-only behaviour (marked rest_only)")
    for item in items:
        if "rest_only" in item.keywords and item.name.endswith("[grpc]"):
            item.add_marker(skip_grpc)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sdk10: needs SDK 10.x on the client side (skipped in the 9.x run)")
    config.addinivalue_line("markers", "rest_only: not a data-plane call over gRPC (skipped on that face)")


@pytest.fixture(scope="module", params=FACES)
def face(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Face]:
    data = tmp_path_factory.mktemp(request.param)
    if request.param == "embedded":
        client = spruce.Client(path=data, flush_rows=FLUSH_ROWS)
        yield Face("embedded", client)
        client.close()
        return
    args, env = ["--flush-rows", str(FLUSH_ROWS)], {}
    if request.param == "s3":  # the REST server with its store in a bucket of the session's SeaweedFS
        seaweed = request.getfixturevalue("seaweed")
        args += ["--store", f"s3://{seaweed.bucket()}/behaviour", "--cache", str(data / "cache")]
        env = seaweed.env()
    proc = ServerProcess(Path(data), args, env=env).start()
    try:
        if request.param == "grpc":
            from pinecone.grpc import PineconeGRPC

            yield Face("grpc", PineconeGRPC(api_key="anything", host=proc.url, grpc_scheme="http"))
        else:
            from pinecone import Pinecone

            yield Face("server", Pinecone(api_key="anything", host=proc.url))
    finally:
        proc.stop()
