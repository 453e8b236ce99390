"""``--tls-cert/--tls-key``: the official SDK reaches spruce over https (REST) and gRPC over TLS, index
hosts are handed out as ``https://``, nothing is served in clear on a TLS port, and bad flags stop the
start with a message. The certificates come from a throwaway test CA (``trustme``)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import trustme
from spruce_server_proc import ServerProcess

SPEC = {"serverless": {"cloud": "aws", "region": "us-east-1"}}


@pytest.fixture(scope="module")
def pems(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("pems")
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    paths = {"ca": root / "ca.pem", "cert": root / "cert.pem", "key": root / "key.pem"}
    ca.cert_pem.write_to_path(str(paths["ca"]))
    cert.private_key_pem.write_to_path(str(paths["key"]))
    paths["cert"].write_bytes(b"".join(blob.bytes() for blob in cert.cert_chain_pems))
    return paths


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory, pems: dict[str, Path]) -> Iterator[ServerProcess]:
    args = ["--tls-cert", str(pems["cert"]), "--tls-key", str(pems["key"])]
    server = ServerProcess(tmp_path_factory.mktemp("tls"), args).start()
    yield server
    server.stop()


def test_the_sdk_over_https(tls_server: ServerProcess, pems: dict[str, Path]) -> None:
    from pinecone import Pinecone, PineconeConnectionError

    assert tls_server.url.startswith("https://127.0.0.1:")
    pc = Pinecone(api_key="k", host=tls_server.url, ssl_ca_certs=str(pems["ca"]))
    pc.create_index(name="secure", dimension=2, spec=SPEC)
    assert pc.describe_index("secure").host.startswith("https://127.0.0.1:")
    idx = pc.index(name="secure")
    idx.upsert(vectors=[("a", [1.0, 0.0]), ("b", [0.0, 1.0])])
    assert idx.query(vector=[1.0, 0.1], top_k=1).matches[0].id == "a"
    # without the CA the client refuses the server: the certificate is really checked
    with pytest.raises(PineconeConnectionError, match=r"(?i)certificate"):
        Pinecone(api_key="k", host=tls_server.url).list_indexes()


def test_grpc_over_tls(
    tls_server: ServerProcess, pems: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pinecone import Pinecone
    from pinecone.grpc import PineconeGRPC

    pc = Pinecone(api_key="k", host=tls_server.url, ssl_ca_certs=str(pems["ca"]))
    if "grpc" not in [i.name for i in pc.list_indexes()]:
        pc.create_index(name="grpc", dimension=2, spec=SPEC)
    pc.index(name="grpc").upsert(vectors=[("x", [1.0, 1.0])])
    # SDK 10's gRPC channel trusts the system's roots and SSL_CERT_FILE, not ``ssl_ca_certs`` (see README)
    monkeypatch.setenv("SSL_CERT_FILE", str(pems["ca"]))
    grpc = PineconeGRPC(api_key="k", host=tls_server.url, ssl_ca_certs=str(pems["ca"])).index(
        name="grpc", grpc=True
    )
    assert list(grpc.fetch(ids=["x"]).vectors) == ["x"]
    grpc.upsert(vectors=[("y", [0.0, 1.0])])
    assert sorted(pc.index(name="grpc").fetch(ids=["x", "y"]).vectors) == ["x", "y"]


def test_nothing_is_served_in_clear_on_a_tls_port(tls_server: ServerProcess) -> None:
    with pytest.raises(httpx.TransportError):
        httpx.get(tls_server.url.replace("https://", "http://") + "/health", timeout=5)
    assert httpx.get(tls_server.url + "/health", verify=False).status_code == 200


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--tls-cert", "{cert}"], "--tls-cert and --tls-key go together"),
        (["--tls-cert", "{cert}", "--tls-key", "{missing}"], "no such file"),
        (["--tls-cert", "{ca}", "--tls-key", "{ca}"], "not a PEM certificate and its key"),
    ],
)
def test_bad_tls_flags_stop_the_start(
    tmp_path: Path, pems: dict[str, Path], flags: list[str], message: str
) -> None:
    values = {"cert": pems["cert"], "ca": pems["ca"], "missing": tmp_path / "nope.pem"}
    args = [flag.format(**values) for flag in flags]
    run = subprocess.run(
        [sys.executable, "-m", "spruce.cli", "serve", "--data", str(tmp_path / "d"), "--port", "0", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert message in run.stderr and "Traceback" not in run.stderr
