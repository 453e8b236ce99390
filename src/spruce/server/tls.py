"""Optional TLS for the server (``--tls-cert`` / ``--tls-key``): the SDKs default to ``https``, and a
server reached over anything but loopback should not carry API keys in clear text.

One context serves both faces on every port: ALPN offers ``h2`` (gRPC clients over TLS ask for it) and
``http/1.1`` (REST); after the handshake the connection's first bytes still choose the protocol
(``server.protocol``), exactly as without TLS. Index hosts handed to clients then start with ``https://``
(``ServerConfig.scheme``). Certificates are the operator's: spruce never makes or fetches one.
"""

from __future__ import annotations

import ssl

__all__ = ["TlsError", "tls_context"]


class TlsError(Exception):
    """The TLS flags cannot be used as given (a message for the operator)."""


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The server's TLS context for a PEM certificate chain and its key, or None when neither is given."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise TlsError("--tls-cert and --tls-key go together: give both (or neither, for plain HTTP)")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except FileNotFoundError as exc:
        raise TlsError(f"cannot read {exc.filename}: no such file") from None
    except PermissionError as exc:
        raise TlsError(f"cannot read {exc.filename}: permission denied") from None
    except ssl.SSLError as exc:
        raise TlsError(
            f"--tls-cert {cert} / --tls-key {key} are not a PEM certificate and its key ({exc.reason})"
        ) from None
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    return ctx
