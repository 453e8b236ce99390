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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sdk10: needs SDK 10.x on the client side (skipped in the 9.x run)")


@pytest.fixture(scope="module", params=FACES)
def face(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Face]:
    data = tmp_path_factory.mktemp(request.param)
    if request.param == "embedded":
        client = spruce.Client(path=data, flush_rows=FLUSH_ROWS)
        yield Face("embedded", client)
        client.close()
        return
    from pinecone import Pinecone

    proc = ServerProcess(Path(data), ["--flush-rows", str(FLUSH_ROWS)]).start()
    try:
        yield Face("server", Pinecone(api_key="anything", host=proc.url))
    finally:
        proc.stop()
