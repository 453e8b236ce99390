"""Clients that hold connections without finishing requests (slowloris), or idle, are cut off on time;
the server goes on serving and logs no traceback.

A real server with short timeouts (1 s for headers, body and idle keep-alive), raw sockets.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import httpx
import pytest
from tests.support.spruce_server_proc import CLASSIC_API, ServerProcess

LIMIT = 1.0


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("hostile"),
        ["--header-timeout", str(LIMIT), "--body-timeout", str(LIMIT), "--idle-timeout", str(LIMIT)],
    ).start()
    yield server
    server.stop()
    assert not [line for line in server.log if "Traceback" in line or "Exception in ASGI" in line], server.log


def _connect(server: ServerProcess) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.settimeout(10)
    return sock


def _closed_after(sock: socket.socket, send: list[bytes] = (), gap: float = 0.0) -> float:  # type: ignore[assignment]
    """Send the pieces (``gap`` apart), then wait until the server closes; seconds from the start."""
    started = time.monotonic()
    try:
        for piece in send:
            sock.sendall(piece)
            time.sleep(gap)
        while sock.recv(65536):
            pass
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        sock.close()
    return time.monotonic() - started


def test_a_silent_connection_is_closed(strict: ServerProcess) -> None:
    assert _closed_after(_connect(strict)) < LIMIT + 1.0


def test_headers_sent_a_byte_at_a_time_are_cut_off(strict: ServerProcess) -> None:
    request = b"GET /indexes HTTP/1.1\r\nHost: x\r\nApi-Key: k\r\nX-Slow: " + b"a" * 100
    took = _closed_after(_connect(strict), [request[i : i + 1] for i in range(len(request))], gap=0.05)
    assert took < LIMIT + 1.5, f"held for {took:.1f} s"


def test_a_body_that_never_arrives_is_cut_off(strict: ServerProcess) -> None:
    head = b"POST /index/x/query HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\nApi-Key: k\r\n\r\n{"
    assert _closed_after(_connect(strict), [head]) < LIMIT + 1.0


def test_idle_keep_alive_connections_are_closed_and_service_goes_on(strict: ServerProcess) -> None:
    socks = [_connect(strict) for _ in range(200)]
    for sock in socks[:100]:  # half of them after a whole request, half silent
        sock.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
    time.sleep(LIMIT + 1.0)
    still_open = 0
    for sock in socks:
        sock.settimeout(0.5)
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
        except (TimeoutError, BlockingIOError):
            still_open += 1
        except ConnectionResetError:
            pass
        sock.close()
    assert still_open == 0, f"{still_open} of 200 idle connections still open"
    r = httpx.get(strict.url + "/indexes", headers=CLASSIC_API)
    assert r.status_code == 200


def test_an_idle_grpc_connection_gets_a_goaway_and_is_closed(strict: ServerProcess) -> None:
    import h2.config
    import h2.connection
    import h2.events

    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True))
    conn.initiate_connection()
    sock = _connect(strict)
    sock.sendall(conn.data_to_send())
    started = time.monotonic()
    events: list[object] = []
    try:
        while data := sock.recv(65536):
            events += conn.receive_data(data)
            sock.sendall(conn.data_to_send())  # the SETTINGS ack
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    took = time.monotonic() - started
    assert any(isinstance(e, h2.events.ConnectionTerminated) for e in events), events
    assert LIMIT - 0.2 < took < LIMIT + 1.0, f"closed after {took:.1f} s"


def test_a_grpc_client_goes_on_after_its_idle_connection_was_closed(strict: ServerProcess) -> None:
    from pinecone import Pinecone

    pc = Pinecone(api_key="k", host=strict.url, grpc_scheme="http")
    if "idle" not in [i.name for i in pc.list_indexes()]:
        pc.create_index(
            name="idle", dimension=2, spec={"serverless": {"cloud": "aws", "region": "us-east-1"}}
        )
    idx = pc.index(name="idle", grpc=True)
    idx.upsert(vectors=[("a", [1.0, 0.0])])
    time.sleep(LIMIT + 1.0)  # the server has closed the channel's connection meanwhile
    idx.upsert(vectors=[("b", [0.0, 1.0])])
    assert sorted(idx.fetch(ids=["a", "b"]).vectors) == ["a", "b"]
