"""The gRPC data plane through the official SDK 10.x, against a real server: how a user reaches it
(``grpc_scheme="http"`` with ``pc.index(name=..., grpc=True)`` or ``host=``), that REST and gRPC share
each index's own port and one store (a write over one is read over the other at once), messages larger
than HTTP/2's default windows both ways, many calls multiplexed on one connection, the API key, and
index ports that follow create, delete and restart. Every data-plane scenario also runs over gRPC in the
behaviour suite (``tests/behaviour``, face ``grpc``); SDK 9.x and 7.x gRPC clients: ``test_sdk_grpc.py``.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families
from spruce_server_proc import ServerProcess

from spruce.server.run import bind_socket

SPEC = {"serverless": {"cloud": "aws", "region": "us-east-1"}}


def _pc(server: ServerProcess, api_key: str = "anything"):  # type: ignore[no-untyped-def]
    from pinecone import Pinecone

    return Pinecone(api_key=api_key, host=server.url, grpc_scheme="http")


def _port(host: str) -> int:
    return int(host.rsplit(":", 1)[1])


def test_rest_and_grpc_share_each_index_port(server: ServerProcess) -> None:
    pc = _pc(server)
    pc.create_index(name="both", dimension=3, metric="cosine", spec=SPEC)
    host = pc.describe_index("both").host
    assert host.startswith("http://127.0.0.1:") and _port(host) != server.port

    rest = pc.index(host=host)
    by_name = pc.index(name="both", grpc=True)
    by_host = pc.index(host=host, grpc=True)
    assert type(by_name).__name__ == type(by_host).__name__ == "GrpcIndex"

    rest.upsert(vectors=[("r", [1.0, 0.0, 0.0], {"via": "rest"})], namespace="ns")
    by_name.upsert(vectors=[("g", [0.0, 1.0, 0.0], {"via": "grpc"})], namespace="ns")
    # read-your-writes across the two transports: each sees the other's write at once
    assert set(by_host.fetch(ids=["r", "g"], namespace="ns").vectors) == {"r", "g"}
    assert set(rest.fetch(ids=["r", "g"], namespace="ns").vectors) == {"r", "g"}
    top = by_name.query(vector=[0.0, 1.0, 0.1], top_k=2, namespace="ns", include_metadata=True)
    assert [m.id for m in top.matches] == ["g", "r"] and top.matches[0].metadata == {"via": "grpc"}
    assert by_host.describe_index_stats().namespaces["ns"].vector_count == 2
    # the path-style host on the main port keeps serving REST
    assert pc.index(host=f"{server.url}/index/both").describe_index_stats().total_vector_count == 2


def test_the_main_port_is_no_index_over_grpc(server: ServerProcess) -> None:
    from pinecone.errors import NotFoundError

    idx = _pc(server).index(host=server.url, grpc=True)
    with pytest.raises(NotFoundError, match="own port"):
        idx.describe_index_stats()


def test_messages_beyond_the_http2_windows_both_ways(server: ServerProcess) -> None:
    """A 1,000 x 384 upsert (1.6 MB in, under the 2 MB cap) and fetching it back (more than the 64 KiB
    default window out: the response waits for WINDOW_UPDATEs), values bit-exact as float32."""
    pc = _pc(server)
    pc.create_index(name="big", dimension=384, metric="dotproduct", spec=SPEC)
    idx = pc.index(name="big", grpc=True)
    vectors = np.random.default_rng(7).standard_normal((1000, 384)).astype(np.float32)
    ids = [f"v{i}" for i in range(1000)]
    assert idx.upsert(vectors=list(zip(ids, vectors.tolist(), strict=True))).upserted_count == 1000
    got = idx.fetch(ids=ids).vectors
    assert len(got) == 1000
    for i in (0, 499, 999):
        np.testing.assert_array_equal(np.asarray(got[ids[i]].values, dtype=np.float32), vectors[i])
    top = idx.query(vector=vectors[5].tolist(), top_k=1000, include_values=True)
    assert len(top.matches) == 1000 and top.matches[0].id == "v5"


def test_a_message_above_2mb_is_refused_as_a_client_mistake(server: ServerProcess) -> None:
    """1,000 x 600 floats is a 2.4 MB message: INVALID_ARGUMENT naming the limit (RESOURCE_EXHAUSTED would
    be retried by the SDK), nothing written, and the connection keeps serving."""
    from pinecone.errors import ApiError

    pc = _pc(server)
    pc.create_index(name="huge", dimension=600, metric="dotproduct", spec=SPEC)
    idx = pc.index(name="huge", grpc=True)
    vectors = np.ones((1000, 600), dtype=np.float32).tolist()
    with pytest.raises(ApiError, match="2097152 bytes") as refused:
        idx.upsert(vectors=[(f"v{i}", v) for i, v in enumerate(vectors)])
    assert refused.value.status_code == 400
    assert idx.upsert(vectors=[("one", vectors[0])]).upserted_count == 1
    assert idx.describe_index_stats().total_vector_count == 1


def test_many_calls_multiplexed_on_one_connection(server: ServerProcess) -> None:
    pc = _pc(server)
    pc.create_index(name="mux", dimension=2, metric="euclidean", spec=SPEC)
    idx = pc.index(name="mux", grpc=True)
    before = _grpc_counts(server)
    idx.upsert(vectors=[(str(i), [float(i), 0.0]) for i in range(100)])
    errors: list[BaseException] = []

    def worker(k: int) -> None:
        try:
            for j in range(20):
                target = float((k * 20 + j) % 100)
                assert idx.query(vector=[target, 0.0], top_k=1).matches[0].id == str(int(target))
                idx.upsert(vectors=[(f"w{k}-{j}", [500.0 + k, float(j)])])
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert idx.describe_index_stats().total_vector_count == 100 + 8 * 20
    # each call was counted by method and status, as /metrics shows
    after = _grpc_counts(server)
    assert after.get("Query", 0) - before.get("Query", 0) == 8 * 20
    assert after.get("Upsert", 0) - before.get("Upsert", 0) == 1 + 8 * 20


def _grpc_counts(server: ServerProcess) -> dict[str, float]:
    """``spruce_requests_total`` of gRPC calls answered OK, by method, from ``GET /metrics``."""
    text = httpx.get(f"{server.url}/metrics").text
    return {
        s.labels["route"].removeprefix("grpc "): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "spruce_requests_total"
        and s.labels["route"].startswith("grpc ")
        and s.labels["status"] == "0"
    }


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(tmp_path_factory.mktemp("locked"), ["--api-key", "secret"]).start()
    yield proc
    proc.stop()


def test_api_key_over_grpc(locked: ServerProcess) -> None:
    from pinecone.errors import UnauthorizedError

    pc = _pc(locked, api_key="secret")
    pc.create_index(name="keyed", dimension=2, metric="cosine", spec=SPEC)
    host = pc.describe_index("keyed").host
    assert pc.index(name="keyed", grpc=True).upsert(vectors=[("a", [1.0, 0.0])]).upserted_count == 1
    wrong = _pc(locked, api_key="wrong").index(host=host, grpc=True)
    with pytest.raises(UnauthorizedError):
        wrong.upsert(vectors=[("b", [1.0, 0.0])])
    assert pc.index(host=host, grpc=True).describe_index_stats().total_vector_count == 1


def _free_base() -> int:
    """A base whose next two ports are free right now (the catalog numbers the first index 1)."""
    for _ in range(50):
        probe = bind_socket("127.0.0.1", 0)
        base = probe.getsockname()[1]
        probe.close()
        if base + 2 > 65535:
            continue
        try:
            bind_socket("127.0.0.1", base + 1).close()
            bind_socket("127.0.0.1", base + 2).close()
        except OSError:
            continue
        return base
    raise AssertionError("no free port range")


def test_fixed_index_ports_survive_restart_and_close_on_delete(tmp_path: Path) -> None:
    base = _free_base()
    proc = ServerProcess(tmp_path / "data", ["--index-ports", str(base)]).start()
    try:
        pc = _pc(proc)
        pc.create_index(name="first", dimension=2, metric="cosine", spec=SPEC)
        pc.create_index(name="second", dimension=2, metric="cosine", spec=SPEC)
        hosts = {n: pc.describe_index(n).host for n in ("first", "second")}
        assert hosts == {"first": f"http://127.0.0.1:{base + 1}", "second": f"http://127.0.0.1:{base + 2}"}
        pc.index(name="second", grpc=True).upsert(vectors=[("a", [1.0, 0.0])])

        proc.stop()
        proc.restart()
        pc = _pc(proc)
        assert {n: pc.describe_index(n).host for n in ("first", "second")} == hosts
        assert pc.index(host=hosts["second"], grpc=True).fetch(ids=["a"]).vectors["a"].id == "a"

        pc.delete_index("first")
        with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", base + 1), 2):
            pass
        # a new index takes a new number, never the deleted one's port
        pc.create_index(name="third", dimension=2, metric="cosine", spec=SPEC)
        assert pc.describe_index("third").host not in hosts.values()
    finally:
        proc.stop()


def test_no_index_ports_keeps_path_hosts(tmp_path: Path) -> None:
    proc = ServerProcess(tmp_path / "data", ["--index-ports", "none"]).start()
    try:
        pc = _pc(proc)
        pc.create_index(name="plain", dimension=2, metric="cosine", spec=SPEC)
        host = pc.describe_index("plain").host
        assert host == f"{proc.url}/index/plain"
        pc.index(name="plain").upsert(vectors=[("a", [1.0, 0.0])])
        assert pc.index(name="plain").describe_index_stats().total_vector_count == 1
    finally:
        proc.stop()


def _raw_grpc(port: int, method: str, message: bytes, **metadata: str) -> tuple[dict[str, str], bytes]:
    """One unary call over a raw HTTP/2 connection: the response metadata (headers and trailers, merged)
    and the response message's bytes."""
    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        conn.initiate_connection()
        headers = [
            (":method", "POST"),
            (":scheme", "http"),
            (":path", f"/VectorService/{method}"),
            (":authority", f"127.0.0.1:{port}"),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
            ("api-key", "k"),
            *metadata.items(),
        ]
        conn.send_headers(1, headers)
        conn.send_data(1, b"\x00" + len(message).to_bytes(4, "big") + message, end_stream=True)
        sock.sendall(conn.data_to_send())
        got: dict[str, str] = {}
        body = b""
        while True:
            data = sock.recv(65536)
            assert data, "the server closed the connection"
            for event in conn.receive_data(data):
                if isinstance(event, h2.events.ResponseReceived | h2.events.TrailersReceived):
                    got.update(dict(event.headers))
                elif isinstance(event, h2.events.DataReceived):
                    body += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, 1)
                elif isinstance(event, h2.events.StreamEnded):
                    return got, body[5:]
            sock.sendall(conn.data_to_send())


def test_grpc_responses_carry_the_lsn_metadata_and_honour_the_read_barrier(server: ServerProcess) -> None:
    """Over gRPC the LSN headers are response metadata (the SDK's gRPC client reads none of them; a raw
    client can), and ``x-spruce-min-lsn`` request metadata is the same read barrier as over REST."""
    from spruce.server.grpc import vector_service_pb2 as pb

    pc = _pc(server)
    pc.create_index(name="lsnmeta", dimension=2, metric="cosine", spec=SPEC)
    port = _port(pc.describe_index("lsnmeta").host)
    up = pb.UpsertRequest(vectors=[pb.Vector(id="a", values=[1.0, 0.0])]).SerializeToString()
    meta, _ = _raw_grpc(port, "Upsert", up)
    assert meta["grpc-status"] == "0" and meta["x-pinecone-lsn-committed"] == "1"
    meta, _ = _raw_grpc(port, "Delete", pb.DeleteRequest(ids=["nope"]).SerializeToString())
    assert meta["x-pinecone-lsn-committed"] == "1"  # logged nothing: the current LSN
    fetch = pb.FetchRequest(ids=["a"]).SerializeToString()
    meta, body = _raw_grpc(port, "Fetch", fetch, **{"x-spruce-min-lsn": "1"})
    assert meta["x-pinecone-lsn-reconciled"] == "1" and "a" in pb.FetchResponse.FromString(body).vectors
    meta, _ = _raw_grpc(port, "Fetch", fetch, **{"x-spruce-min-lsn": "7"})
    assert meta["grpc-status"] == "3" and "x-spruce-min-lsn" in meta["grpc-message"]
