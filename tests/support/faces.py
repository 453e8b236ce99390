"""The three faces every behaviour test runs against: the embedded client, a real ``spruce serve``
process driven by the official ``pinecone`` SDK over REST, and the same over gRPC (SDK 10.x's
``PineconeGRPC``: the control plane stays REST, ``Index(name=...)`` is a ``GrpcIndex`` dialling the index's
own port in plaintext). A scenario is written once against the SDK 10.x surface, which every face speaks,
and runs on each (the ``face`` fixture: ``tests/behaviour/conftest.py``).
A module of its own, not the conftest, so that test modules import it by a name no other directory
shares (``from conftest import`` found ``tests/integration/conftest.py`` when that was collected first).

``SPRUCE_FACES`` (comma-separated, default ``embedded,server,grpc,s3``) picks the faces (``s3``: the REST
server with its store in a bucket of a real SeaweedFS, ``tests/support/seaweed.py``): the SDK 9.x run
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
from typing import Any

import spruce

warnings.filterwarnings("ignore", category=RuntimeWarning, module="pinecone")

FLUSH_ROWS = 50
SPEC = {"serverless": {"cloud": "aws", "region": "us-east-1"}}
FACES = [f for f in os.environ.get("SPRUCE_FACES", "embedded,server,grpc,s3").split(",") if f]
# Over gRPC a status is all there is: 422 (body not decodable, field missing) and 413 (too large) both
# travel as INVALID_ARGUMENT, which the SDK reports as 400.
_GRPC_STATUS = {413: 400, 422: 400}


def _plain(value: Any) -> Any:
    """An SDK model (msgspec struct) as builtins, for comparing with what spruce stores."""
    import msgspec

    return msgspec.to_builtins(value)


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

    def create_sparse_index(self) -> Any:
        """A fresh sparse index (vector_type "sparse", metric dotproduct, no dimension); its handle."""
        name = f"b{next(self._names)}"
        self.client.create_index(name=name, vector_type="sparse", metric="dotproduct", spec=SPEC)
        return self.client.Index(name=name)

    def create_document_index(self, schema: dict[str, Any]) -> tuple[str, Any]:
        """A fresh document index with ``schema`` (SDK 10.x: ``pc.indexes.create(schema=...)``); its name and
        its ``documents`` handle."""
        name = f"d{next(self._names)}"
        self.client.indexes.create(name=name, schema=schema)
        return name, self.client.index(name=name).documents

    def described_fields(self, name: str) -> dict[str, Any]:
        """The schema fields describe reports, as plain dicts (the SDK parses them into its field models;
        the embedded client's are dicts already)."""
        fields = self.client.indexes.describe(name).schema.fields
        return {key: _plain(value) for key, value in fields.items()}

    @property
    def remote(self) -> bool:
        return self.name != "embedded"

    @contextlib.contextmanager
    def rejects(self, status: int, match: str | None = None) -> Iterator[None]:
        """The call is refused as ``status``: a ``SpruceError`` embedded, the SDK's ``ApiError`` from the
        server (over gRPC, the status the SDK derives from the gRPC code). The SDK refuses some mistakes
        itself before sending anything (``PineconeValueError``); that is the same behaviour for its user,
        so it counts too, its message matched the same way."""
        if self.name == "grpc":
            status = _GRPC_STATUS.get(status, status)
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
            elif self.remote and isinstance(exc, ValueError):
                if match:
                    assert re.search(match, str(exc)), f"the SDK's {exc} does not match {match!r}"
            else:
                raise
        else:
            raise AssertionError(f"the call was not refused (expected {status})")
