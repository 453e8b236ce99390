"""The two faces every behaviour test runs against: the embedded client, and a real ``spruce serve``
process driven by the official ``pinecone`` SDK. A scenario is written once against the SDK 10.x
surface, which both faces speak, and runs on each.

``SPRUCE_FACES`` (comma-separated, default ``embedded,server``) picks the faces: the SDK 9.x run
(``tests/integration/test_sdk9.py``) runs this suite from its own venv with ``SPRUCE_FACES=server``,
skipping tests marked ``sdk10`` (behaviour only SDK 10.x has on the client side).

Both faces use small memtables (``flush_rows=FLUSH_ROWS``), so most scenarios cross memtables and flushed
segments as they go.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from spruce_server_proc import ServerProcess

import spruce

warnings.filterwarnings("ignore", category=RuntimeWarning, module="pinecone")

FLUSH_ROWS = 50
SPEC = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
FACES = [f for f in os.environ.get("SPRUCE_FACES", "embedded,server").split(",") if f]


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


@dataclass
class Face:
    """One way in: ``client`` is a ``spruce.Client`` or a ``pinecone.Pinecone``; both take the same calls."""

    name: str
    client: Any
    _names: Iterator[int] = field(default_factory=itertools.count)

    def create_index(self, dimension: int = 4, metric: str = "cosine") -> Any:
        """A fresh, uniquely named index; its handle."""
        name = f"b{next(self._names)}"
        self.client.create_index(name=name, dimension=dimension, metric=metric, spec=SPEC)
        return self.client.Index(name=name)

    @contextlib.contextmanager
    def rejects(self, status: int, match: str | None = None) -> Iterator[None]:
        """The call is refused as ``status``: a ``SpruceError`` embedded, the SDK's ``ApiError`` from the
        server. The SDK refuses some mistakes itself before sending anything (``PineconeValueError``);
        that is the same behaviour for its user, so it counts too, its message matched the same way."""
        try:
            yield
        except spruce.SpruceError as exc:
            assert self.name == "embedded", f"the SDK face raised spruce's own {exc!r}"
            assert exc.http_status == status, f"{exc!r} is {exc.http_status}, expected {status}"
            if match:
                assert re.search(match, exc.message), f"{exc.message!r} does not match {match!r}"
        except Exception as exc:
            from pinecone.errors import ApiError

            if isinstance(exc, ApiError):
                assert exc.status_code == status, f"{exc!r} is {exc.status_code}, expected {status}"
                if match:
                    assert re.search(match, str(exc)), f"{exc} does not match {match!r}"
            elif self.name == "server" and isinstance(exc, ValueError):
                if match:
                    assert re.search(match, str(exc)), f"the SDK's {exc} does not match {match!r}"
            else:
                raise
        else:
            raise AssertionError(f"the call was not refused (expected {status})")


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
