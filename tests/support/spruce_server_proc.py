"""Start and stop a real ``spruce serve`` subprocess for the integration tests.

The server binds port 0 and prints ``spruce listening on http://host:port``; reading that line gives the
port without the race of picking a free port first and hoping it stays free.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import httpx

READY_PREFIX = "spruce listening on "
NEW_API = {"X-Pinecone-Api-Version": "2026-07", "Api-Key": "k"}
CLASSIC_API = {"X-Pinecone-Api-Version": "2025-04", "Api-Key": "k"}


class ServerProcess:
    """One ``spruce serve`` process on a data directory; restartable on the same port and directory."""

    def __init__(
        self,
        data_dir: Path,
        extra_args: Sequence[str] = (),
        port: int = 0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.extra_args = list(extra_args)
        self.env = dict(env or {})  # on top of this process's environment (an S3 endpoint, say)
        self.port = port
        self.url = ""
        self.proc: subprocess.Popen[str] | None = None
        self.log: list[str] = []

    def start(self, timeout: float = 20.0) -> ServerProcess:
        cmd = [
            sys.executable,
            "-m",
            "spruce.cli",
            "serve",
            "--data",
            str(self.data_dir),
            "--port",
            str(self.port),
        ]
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        env.pop("SPRUCE_API_KEY", None)
        self.proc = subprocess.Popen(
            [*cmd, *self.extra_args], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env
        )
        self.url = self._wait_ready(timeout)
        self.port = int(self.url.rsplit(":", 1)[1])
        threading.Thread(target=self._drain, daemon=True).start()
        return self

    def _wait_ready(self, timeout: float) -> str:
        assert self.proc is not None and self.proc.stderr is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            if not line:
                break
            self.log.append(line)
            if line.startswith(READY_PREFIX):
                url = line[len(READY_PREFIX) :].strip()
                _wait_http(url, deadline)
                return url
        self.proc.kill()
        raise RuntimeError("spruce serve did not start:\n" + "".join(self.log))

    def _drain(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        for line in self.proc.stderr:
            self.log.append(line)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        """Send ``sig`` and wait for the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise

    def restart(self) -> ServerProcess:
        """Start again on the same port and data directory (the port must be reusable at once)."""
        return self.start()


def _wait_http(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            # (a liveness probe only: a TLS server with a test certificate is checked by its own tests)
            httpx.get(url + "/openapi.json", headers={"Api-Key": "probe"}, timeout=1.0, verify=False)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} never answered")


def make_index(http: httpx.Client, name: str, dimension: int = 4, metric: str = "cosine") -> None:
    """Create an index through raw HTTP (classic shape)."""
    r = http.post(
        "/indexes",
        headers=CLASSIC_API,
        json={
            "name": name,
            "dimension": dimension,
            "metric": metric,
            "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}},
        },
    )
    assert r.status_code == 201, r.text
