"""One gRPC call from path, metadata and bytes to a status, over a real store: the refusals that no SDK
can be made to send (a compressed or truncated frame, an unknown method, undecodable bytes), and that
every client mistake is a status the SDKs do not retry (never UNAVAILABLE, RESOURCE_EXHAUSTED, INTERNAL).
The HTTP/2 side and the SDKs are covered by ``tests/integration/test_grpc.py`` and the behaviour suite.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from spruce.engine import Database
from spruce.server.config import Context, ServerConfig
from spruce.server.grpc import vector_service_pb2 as pb
from spruce.server.grpc.calls import Calls, Outcome
from spruce.server.ports import IndexPorts
from spruce.server.run import bind_socket

RETRIED = {4, 8, 10, 13, 14}  # DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE


def _frame(message: bytes, flag: int = 0) -> bytes:
    return bytes([flag]) + len(message).to_bytes(4, "big") + message


class _Rig:
    def __init__(self, tmp: Path, api_key: str | None = None, cap: int = 2 * 1024 * 1024) -> None:
        self.db = Database.open(tmp / "data")
        self.pool = ThreadPoolExecutor(2)
        self.ports = IndexPorts("127.0.0.1", 0, bind_socket)
        config = ServerConfig(api_key=api_key, max_body_bytes=cap, index_port_base=0)
        self.calls = Calls(Context(self.db, config, self.ports), self.pool)
        cfg = self.db.create_index("idx", dimension=2, metric="cosine")
        port = self.ports.open(cfg)
        assert port is not None
        self.port = port

    def call(self, method: str, body: bytes, *, key: bytes | None = None, port: int | None = -1) -> Outcome:
        started = self.calls.start(
            f"/VectorService/{method}".encode(), key, self.port if port == -1 else port, body
        )
        return started if isinstance(started, Outcome) else started()

    def close(self) -> None:
        self.ports.close("idx")
        self.pool.shutdown()
        self.db.close()


@pytest.fixture()
def rig(tmp_path: Path) -> Iterator[_Rig]:
    r = _Rig(tmp_path)
    yield r
    r.close()


def _upsert(*vectors: tuple[str, list[float]]) -> bytes:
    req = pb.UpsertRequest(vectors=[pb.Vector(id=i, values=v) for i, v in vectors], namespace="ns")
    return _frame(req.SerializeToString())


def test_a_call_round_trips_through_the_engine(rig: _Rig) -> None:
    done = rig.call("Upsert", _upsert(("a", [1.0, 0.0]), ("b", [0.0, 1.0])))
    assert done.status == 0 and pb.UpsertResponse.FromString(done.payload).upserted_count == 2
    query = pb.QueryRequest(namespace="ns", top_k=1, vector=[1.0, 0.1])
    done = rig.call("Query", _frame(query.SerializeToString()))
    assert done.status == 0
    assert [m.id for m in pb.QueryResponse.FromString(done.payload).matches] == ["a"]


@pytest.mark.parametrize(
    ("method", "body", "status", "words"),
    [
        ("Nope", _upsert(("a", [1.0, 0.0])), 12, "no gRPC method"),
        ("Upsert", b"\x00\x00", 3, "no gRPC message"),
        ("Upsert", _frame(b"\x0a\x03abc", flag=1), 3, "compressed"),
        ("Upsert", _frame(b"\x0a\x03abc")[:-1], 3, "exactly one whole message"),
        ("Upsert", _frame(b"\x0a\x03abc") + b"\x00", 3, "exactly one whole message"),
        ("Upsert", _frame(b"\xff\xff\xff"), 3, "cannot be decoded"),
        ("Query", _frame(b"\xff\xff\xff"), 3, "cannot be decoded"),
        ("Upsert", _upsert(("a", [1.0, 0.0, 3.0])), 3, "dimension"),
        ("Fetch", _frame(pb.FetchRequest(ids=[str(i) for i in range(1001)]).SerializeToString()), 3, "1000"),
        (
            "DescribeNamespace",
            _frame(pb.DescribeNamespaceRequest(namespace="none").SerializeToString()),
            5,
            "",
        ),
    ],
)
def test_client_mistakes_get_a_status_the_sdk_does_not_retry(
    rig: _Rig, method: str, body: bytes, status: int, words: str
) -> None:
    done = rig.call(method, body)
    assert (done.status, done.payload) == (status, b""), done
    assert status not in RETRIED
    assert words in done.message
    assert rig.db.index("idx").describe_index_stats().total_vector_count == 0


def test_a_message_above_the_cap_is_invalid_argument_before_decoding(tmp_path: Path) -> None:
    rig = _Rig(tmp_path, cap=64)
    try:
        done = rig.call("Upsert", _upsert(*[(str(i), [1.0, 0.0]) for i in range(20)]))
        assert done.status == 3 and "64 bytes" in done.message  # not RESOURCE_EXHAUSTED: the SDKs retry that
        assert rig.db.index("idx").describe_index_stats().total_vector_count == 0
    finally:
        rig.close()


def test_api_key_metadata(tmp_path: Path) -> None:
    rig = _Rig(tmp_path, api_key="secret")
    try:
        body = _upsert(("a", [1.0, 0.0]))
        for key in (None, b"wrong"):
            done = rig.call("Upsert", body, key=key)
            assert done.status == 16 and "API key" in done.message, done
        assert rig.call("Upsert", body, key=b"secret").status == 0
    finally:
        rig.close()


def test_a_port_without_an_index_is_not_found(rig: _Rig) -> None:
    done = rig.call("Upsert", _upsert(("a", [1.0, 0.0])), port=None)
    assert done.status == 5 and "own port" in done.message


def test_index_ports_follow_create_and_delete(tmp_path: Path) -> None:
    """Ports: base 0 lets the OS pick; a deleted index's port stops listening and names no index."""
    rig = _Rig(tmp_path)
    try:
        port = rig.port
        assert rig.ports.index_at(port) == "idx" and rig.ports.port_of("idx") == port
        assert rig.ports.open(rig.db.describe_index("idx")) == port  # idempotent
        rig.ports.close("idx")
        assert rig.ports.index_at(port) is None and rig.ports.port_of("idx") is None
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1):
            pass
    finally:
        rig.pool.shutdown()
        rig.db.close()


def test_an_index_whose_port_is_taken_keeps_the_path_host(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database.open(tmp_path / "data")
    try:
        holder = bind_socket("127.0.0.1", 0)
        base = holder.getsockname()[1] - 1
        cfg = db.create_index("idx", dimension=2, metric="cosine")
        assert cfg.number == 1
        ports = IndexPorts("127.0.0.1", base, bind_socket)
        with caplog.at_level("WARNING", logger="spruce.server"):
            assert ports.open(cfg) is None
        assert f"cannot listen on port {base + 1}" in caplog.text and "/index/idx" in caplog.text
        config = ServerConfig(port=base, index_port_base=base)
        assert config.index_host("idx", ports.port_of("idx")) == f"http://127.0.0.1:{base}/index/idx"
        holder.close()
    finally:
        db.close()
