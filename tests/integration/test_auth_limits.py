"""Auth on and off, and request body caps (413 before the body is read)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pinecone import Pinecone, ServerlessSpec
from pinecone.errors import ForbiddenError, UnauthorizedError
from spruce_server_proc import ServerProcess

KEY = "s3cret-key"
READ_KEY = "read-only-key"
CAP = 4096


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    proc = ServerProcess(
        tmp_path_factory.mktemp("locked"),
        ["--api-key", KEY, "--read-only-api-key", READ_KEY, "--max-body-bytes", str(CAP)],
    ).start()
    yield proc
    proc.stop()


def _raw(port: int, request: bytes, *, wait_close: bool = False) -> bytes:
    """Send raw bytes and read what comes back (until close, or the first response's bytes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                break
            if not chunk:
                break
            data += chunk
            if not wait_close and b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                length = [
                    int(h.split(b":")[1])
                    for h in head.split(b"\r\n")
                    if h.lower().startswith(b"content-length")
                ]
                if length and len(body) >= length[0]:
                    break
        return data


def test_auth_required_when_key_set(locked: ServerProcess) -> None:
    for headers in ({}, {"Api-Key": "wrong"}, {"Api-Key": KEY + "x"}):
        for method, path in (("GET", "/indexes"), ("POST", "/index/x/query"), ("GET", "/openapi.json")):
            r = httpx.request(method, locked.url + path, headers=headers, json={})
            assert r.status_code == 401, (headers, path)
            assert r.headers["content-type"].startswith("application/json")
            body = r.json()  # Pinecone's error shape, per plane
            if path.startswith("/index/"):
                assert body["code"] == 16 and "API key" in body["message"]
            else:
                assert body["error"]["code"] == "UNAUTHENTICATED" and "API key" in body["error"]["message"]
    ok = httpx.get(locked.url + "/indexes", headers={"Api-Key": KEY})
    assert ok.status_code == 200 and ok.json() == {"indexes": []}


def test_sdk_with_and_without_the_key(locked: ServerProcess) -> None:
    good = Pinecone(api_key=KEY, host=locked.url)
    good.create_index(name="auth", dimension=2, spec=ServerlessSpec(cloud="aws", region="us-east-1"))
    idx = good.Index(name="auth")
    idx.upsert(vectors=[("a", [1.0, 2.0])])
    assert idx.fetch(ids=["a"]).vectors["a"].values == [1.0, 2.0]
    with pytest.raises(UnauthorizedError):
        Pinecone(api_key="nope", host=locked.url).list_indexes()
    with pytest.raises(UnauthorizedError):
        Pinecone(api_key="nope", host=locked.url).Index(host=f"{locked.url}/index/auth").fetch(ids=["a"])


def test_any_key_accepted_without_api_key(server: ServerProcess) -> None:
    for headers in ({}, {"Api-Key": "whatever"}, {"Api-Key": "other"}):
        assert httpx.get(server.url + "/indexes", headers=headers).status_code == 200


def test_413_from_content_length_before_reading_body(locked: ServerProcess) -> None:
    """Announce 10 MB, send 100 bytes: the 413 arrives although the body never will."""
    head = (
        b"POST /index/auth/vectors/upsert HTTP/1.1\r\nHost: x\r\nApi-Key: " + KEY.encode() + b"\r\n"
        b"Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n"
    )
    reply = _raw(locked.port, head + b"{" * 100)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    body = reply.partition(b"\r\n\r\n")[2]
    assert b'"code":3' in body and b"4096" in body


def test_413_while_streaming_chunked_body(locked: ServerProcess) -> None:
    head = (
        b"POST /indexes HTTP/1.1\r\nHost: x\r\nApi-Key: " + KEY.encode() + b"\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    chunk = b"a" * 1000
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(6))
    reply = _raw(locked.port, head + chunks, wait_close=True)
    assert reply.startswith(b"HTTP/1.1 413"), reply[:200]
    assert b"connection: close" in reply.lower()
    assert b'"PAYLOAD_TOO_LARGE"' in reply


def test_under_the_cap_is_fine_and_keepalive_survives_413(locked: ServerProcess) -> None:
    with httpx.Client(base_url=locked.url, headers={"Api-Key": KEY}) as client:
        big = client.post("/indexes", content=b" " * (CAP + 1))
        assert big.status_code == 413 and big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
        assert client.get("/indexes").status_code == 200


def test_default_cap_is_2mb(server: ServerProcess) -> None:
    body = b'{"vectors": [], "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    r = httpx.post(server.url + "/index/any/vectors/upsert", content=body)
    assert r.status_code == 413 and r.json()["code"] == 3


def test_read_only_key_reads_and_is_refused_every_write(locked: ServerProcess) -> None:
    full = Pinecone(api_key=KEY, host=locked.url)
    if not full.has_index("ro"):
        full.create_index(name="ro", dimension=2, spec=ServerlessSpec(cloud="aws", region="us-east-1"))
    full.Index(name="ro").upsert(vectors=[("a", [1.0, 2.0], {"g": 1})])
    reader = Pinecone(api_key=READ_KEY, host=locked.url)
    idx = reader.Index(name="ro")
    assert [i.name for i in reader.list_indexes()] == sorted(i.name for i in full.list_indexes())
    assert reader.describe_index("ro").dimension == 2
    assert idx.fetch(ids=["a"]).vectors["a"].values == [1.0, 2.0]
    assert idx.query(vector=[1.0, 2.0], top_k=1, filter={"g": 1}).matches[0].id == "a"
    assert idx.describe_index_stats().total_vector_count == 1
    writes = [
        lambda: idx.upsert(vectors=[("b", [1.0, 1.0])]),
        lambda: idx.delete(ids=["a"]),
        lambda: idx.update(id="a", set_metadata={"g": 2}),
        lambda: reader.create_index(
            name="nope", dimension=2, spec=ServerlessSpec(cloud="aws", region="us-east-1")
        ),
        lambda: reader.configure_index("ro", deletion_protection="enabled"),
        lambda: reader.delete_index("ro"),
    ]
    for write in writes:
        with pytest.raises(ForbiddenError) as err:
            write()
        assert "read-only" in str(err.value)
    assert idx.describe_index_stats().total_vector_count == 1  # nothing changed
    assert full.Index(name="ro").fetch(ids=["a"]).vectors["a"].metadata == {"g": 1.0}


def test_health_and_ready_need_no_key_and_say_nothing_else(locked: ServerProcess) -> None:
    health = httpx.get(locked.url + "/health")
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    ready = httpx.get(locked.url + "/ready")
    assert ready.status_code == 200 and ready.json() == {"status": "ready"}


@pytest.mark.parametrize("env", [{"SPRUCE_API_KEY": ""}, {"SPRUCE_API_KEY": "  "}])
def test_an_empty_api_key_is_an_error_at_start(tmp_path: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "spruce.cli", "serve", "--data", str(tmp_path / "d"), "--port", "0"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "empty" in done.stderr and "Traceback" not in done.stderr
