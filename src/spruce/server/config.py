"""Server settings and the per-process context handlers receive."""

from __future__ import annotations

from dataclasses import dataclass

from spruce import limits
from spruce.api import ControlPlane

__all__ = ["Context", "ServerConfig"]

_WILDCARDS = {"0.0.0.0", "::", ""}


@dataclass(slots=True)
class ServerConfig:
    """What ``spruce serve`` was told.

    ``port`` is the port actually bound (it may differ from the requested one when that was 0), because
    index hosts handed to clients must name a port they can reach.
    """

    host: str = "127.0.0.1"
    port: int = 5080
    advertise_host: str | None = None
    api_key: str | None = None
    max_body_bytes: int = limits.UPSERT_MAX_BODY_BYTES
    threads: int = 8

    def base_url(self, host_header: str = "") -> str:
        """``http://<host>:<port>``: the prefix of every index host this server advertises.

        The advertised host is ``--advertise-host`` if given, else the bind address; a wildcard bind
        (``0.0.0.0``) falls back to the host the client used to reach us, else ``localhost``. The SDK
        refuses hosts with neither a dot nor ``localhost``, which is why ``localhost`` is the last resort.
        """
        host = self.advertise_host or (self.host if self.host not in _WILDCARDS else "")
        if not host:
            host = _hostname(host_header) or "localhost"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        return f"http://{host}:{self.port}"


def _hostname(host_header: str) -> str:
    if host_header.startswith("["):
        return host_header.split("]", 1)[0][1:]
    return host_header.rsplit(":", 1)[0] if host_header.count(":") == 1 else host_header


@dataclass(slots=True)
class Context:
    """Everything a handler may touch besides its request: the database and the settings."""

    db: ControlPlane
    config: ServerConfig
