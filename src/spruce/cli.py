"""The ``spruce`` command: ``spruce serve`` runs the Pinecone-compatible server on a local store;
``spruce verify`` checks every object of a store, ``spruce repair`` rebuilds a lost catalog.

Kept thin on purpose: it parses flags, opens the store, binds the socket and hands over to
:mod:`spruce.server.run`. Failures a user can fix (a store locked by another process, a port in use) end
with a one-line message and exit status 2, not a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from spruce import __version__, limits

if TYPE_CHECKING:
    from spruce.storage.objectstore import ObjectStore

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spruce", description="A vector database that speaks Pinecone's API."
    )
    parser.add_argument("--version", action="version", version=f"spruce {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="serve Pinecone's API: REST (control and data plane) and the gRPC data plane"
    )
    serve.add_argument("--data", default="./spruce-data", help="data directory (default: ./spruce-data)")
    serve.add_argument(
        "--store",
        default=None,
        help="s3://bucket[/prefix]: keep the store in a bucket of an S3-compatible object store instead "
        "of --data (endpoint and credentials from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, "
        "AWS_SECRET_ACCESS_KEY, AWS_REGION)",
    )
    serve.add_argument(
        "--cache",
        default=None,
        help="with --store: local directory caching segments and graphs (default: ~/.cache/spruce/...)",
    )
    serve.add_argument(
        "--cache-size",
        default=None,
        help="with --store: bound of the cache, e.g. 20GiB or 512MiB (default: 20GiB)",
    )
    serve.add_argument(
        "--lease-seconds",
        type=float,
        default=None,
        help="with --store: how long an index's background-work lease lasts unrenewed, so how soon another "
        "process takes over from one that died (default: 10)",
    )
    serve.add_argument(
        "--read-staleness",
        type=float,
        default=None,
        help="with --store: seconds a read's view of other processes' writes may lag; 0, the default, "
        "makes every read reflect every write acknowledged before it (one GET more per read)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument(
        "--port", type=int, default=5080, help="port to bind; 0 picks a free one (default: 5080)"
    )
    serve.add_argument(
        "--advertise-host",
        default=None,
        help="host name put into index hosts returned to clients (default: the bind address); it must "
        "contain a dot or be 'localhost' for the official SDK to accept it",
    )
    serve.add_argument(
        "--api-key",
        default=os.environ.get("SPRUCE_API_KEY"),
        help="require this API key on every request (default: $SPRUCE_API_KEY; unset accepts any key)",
    )
    serve.add_argument(
        "--read-only-api-key",
        default=os.environ.get("SPRUCE_READ_ONLY_API_KEY"),
        help="a second key that may only read (queries, fetches, lists, stats); writes and control-plane "
        "changes made with it get 403 (default: $SPRUCE_READ_ONLY_API_KEY)",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=limits.UPSERT_MAX_BODY_BYTES,
        help=f"largest request body accepted (default: {limits.UPSERT_MAX_BODY_BYTES}, Pinecone's 2 MB)",
    )
    serve.add_argument(
        "--threads", type=int, default=8, help="worker threads running engine calls (default: 8)"
    )
    serve.add_argument(
        "--flush-rows",
        type=int,
        default=None,
        help="memtable rows that trigger a flush to a segment, a tuning knob (default: the engine's, "
        "spruce.engine.index.DEFAULT_FLUSH_ROWS)",
    )
    serve.add_argument(
        "--request-timeout",
        type=float,
        default=30.0,
        help="seconds a request may run before it is stopped with a DEADLINE_EXCEEDED error (a filter or "
        "query too costly to finish); 0 disables the deadline (default: 30)",
    )
    serve.add_argument(
        "--flush-log-mb",
        type=int,
        default=None,
        help="unflushed log (MiB) that triggers a flush, bounding the replay at the next open (default: 64)",
    )
    serve.add_argument(
        "--flush-log-records",
        type=int,
        default=None,
        help="records written or deleted in the unflushed log that trigger a flush, bounding the replay "
        "at the next open (default: 250000)",
    )
    serve.add_argument(
        "--graph-step-work",
        type=int,
        default=None,
        help="rows x dimensions one compaction step adds to a graph at most, a tuning knob (default: "
        "12,800,000: each step commits, so a restart loses at most one)",
    )
    serve.add_argument(
        "--graph-step-seconds",
        type=float,
        default=None,
        help="seconds of graph building one compaction step aims at, at the insertion rate last measured "
        "(default: 10; keep it well below the time between restarts)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=float,
        default=30.0,
        help="seconds before an idle keep-alive connection is closed (default: 30)",
    )
    serve.add_argument(
        "--header-timeout",
        type=float,
        default=10.0,
        help="seconds a client has to send a request's "
        "headers, and a new connection its first bytes (slowloris; default: 10)",
    )
    serve.add_argument(
        "--body-timeout",
        type=float,
        default=60.0,
        help="seconds a client has to send a request's body once its headers are in (default: 60)",
    )
    serve.add_argument(
        "--max-connections",
        type=int,
        default=1000,
        help="connections served at once; beyond, requests get 503, which clients retry (default: 1000)",
    )
    serve.add_argument(
        "--disk-reserve-mb",
        type=int,
        default=None,
        help="free space (MiB) that background work (flushes, compaction) leaves to the log, so that "
        "writes keep working on a nearly full disk (default: 128)",
    )
    serve.add_argument(
        "--index-ports",
        default=None,
        metavar="BASE|none",
        help="give index number n its own port BASE+n, serving REST and gRPC (gRPC clients reach an index "
        "only by port); 'none' serves every index on the main port only, REST at /index/<name> "
        "(default: the --port value, so index 1 listens on port+1; under --port 0 the OS picks each)",
    )
    serve.add_argument(
        "--tls-cert",
        default=None,
        metavar="PEM",
        help="serve HTTPS (and gRPC over TLS) with this certificate chain; needs --tls-key (default: plain "
        "HTTP, for loopback)",
    )
    serve.add_argument("--tls-key", default=None, metavar="PEM", help="the private key of --tls-cert")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    verify = sub.add_parser(
        "verify",
        help="read every object of a store and check every checksum; exit 1 if primary data is damaged",
    )
    verify.add_argument("--data", default="./spruce-data", help="data directory (default: ./spruce-data)")
    verify.add_argument("--store", default=None, help="s3://bucket[/prefix]: the store in a bucket instead")
    verify.add_argument("--cache", default=None, help="with --store: local cache directory")
    repair = sub.add_parser(
        "repair",
        help="rebuild a lost or damaged catalog from the indexes' own config records (nothing is deleted)",
    )
    repair.add_argument("--data", default="./spruce-data", help="data directory (default: ./spruce-data)")
    repair.add_argument("--store", default=None, help="s3://bucket[/prefix]: the store in a bucket instead")
    repair.add_argument("--cache", default=None, help="with --store: local cache directory")
    sub.add_parser(
        "demo",
        help="run the README's pinecone SDK snippet against a throwaway server on a temporary store",
    )
    return parser


def _serve(args: argparse.Namespace) -> int:
    from spruce.engine import Database
    from spruce.errors import SpruceError
    from spruce.server.config import ServerConfig
    from spruce.server.run import bind_socket, serve
    from spruce.server.tls import TlsError, tls_context
    from spruce.storage.stores import open_store

    for flag, value in (("--api-key", args.api_key), ("--read-only-api-key", args.read_only_api_key)):
        if value is not None and not value.strip():
            print(
                f"spruce: {flag} (or its environment variable) is set but empty; unset it to accept any "
                "key, or give a key",
                file=sys.stderr,
            )
            return 2
    if args.read_only_api_key and not args.api_key:
        print("spruce: --read-only-api-key needs --api-key too (else every key may write)", file=sys.stderr)
        return 2
    try:
        tls = tls_context(args.tls_cert, args.tls_key)
    except TlsError as exc:
        print(f"spruce: {exc}", file=sys.stderr)
        return 2
    config = ServerConfig(
        host=args.host,
        port=args.port,
        advertise_host=args.advertise_host,
        api_key=args.api_key or None,
        read_only_api_key=args.read_only_api_key or None,
        max_body_bytes=args.max_body_bytes,
        threads=args.threads,
        index_port_base=_index_port_base(args.index_ports, args.port),
        request_timeout=args.request_timeout or None,
        idle_timeout=args.idle_timeout,
        header_timeout=args.header_timeout,
        body_timeout=args.body_timeout,
        max_connections=args.max_connections,
        tls=tls,
    )
    try:
        tuning = {} if args.flush_rows is None else {"flush_rows": args.flush_rows}
        if args.disk_reserve_mb is not None:
            tuning["disk_reserve"] = args.disk_reserve_mb << 20
        if args.flush_log_mb is not None:
            tuning["flush_log_bytes"] = args.flush_log_mb << 20
        if args.flush_log_records is not None:
            tuning["flush_log_records"] = args.flush_log_records
        if args.graph_step_work is not None:
            tuning["graph_step_work"] = args.graph_step_work
        if args.graph_step_seconds is not None:
            tuning["graph_step_seconds"] = args.graph_step_seconds
        if args.read_staleness is not None:
            tuning["read_staleness"] = args.read_staleness
        where = args.store if args.store is not None else args.data
        if args.store is not None:
            store = open_store(
                args.store,
                cache_dir=args.cache,
                cache_bytes=_size(args.cache_size),
                lease_seconds=args.lease_seconds,
            )
            db = Database(store, **tuning)
        else:
            db = Database.open(args.data, **tuning)
    except SpruceError as exc:
        print(f"spruce: cannot open {where}: {exc}", file=sys.stderr)
        return 2
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        db.close()
        print(f"spruce: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    serve(db, config, sock)
    return 0


def _size(text: str | None) -> int | None:
    """``20GiB``, ``512MiB``, ``1.5GB`` or a number of bytes; None stays None (the default)."""
    if text is None:
        return None
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
    units |= {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*", text.lower())
    try:
        assert match is not None
        value = float(match[1]) * units[match[2]]
    except (AssertionError, KeyError):
        raise SystemExit(f"spruce: --cache-size {text!r}: expected a size such as 20GiB or 512MiB") from None
    if value <= 0:
        raise SystemExit(f"spruce: --cache-size {text!r}: must be positive")
    return int(value)


def _open_store(args: argparse.Namespace) -> ObjectStore:
    """The store of ``verify``/``repair``: ``--store`` (a bucket) if given, else the ``--data`` directory,
    which must exist (neither command creates a store)."""
    from spruce.errors import SpruceError
    from spruce.storage.stores import open_store

    where = args.store or args.data
    if args.store is None and not os.path.isdir(where):
        raise SystemExit(f"spruce: {where} is not a directory")
    try:
        return open_store(where, cache_dir=args.cache)
    except SpruceError as exc:
        raise SystemExit(f"spruce: cannot open {where}: {exc}") from None


def _verify(args: argparse.Namespace) -> int:
    from spruce.engine.verify import verify_store

    store = _open_store(args)
    checked = 0

    def progress(key: str) -> None:
        nonlocal checked
        checked += 1

    try:
        findings = verify_store(store, progress)
    finally:
        store.close()
    for finding in findings:
        print(finding)
    loss = sum(f.loss for f in findings)
    print(f"spruce verify: {checked} objects checked, {loss} damaged, {len(findings) - loss} warnings")
    return 1 if loss else 0


def _repair(args: argparse.Namespace) -> int:
    from spruce.engine.repair import repair_catalog
    from spruce.errors import SpruceError

    store = _open_store(args)
    try:
        for line in repair_catalog(store):
            print(line)
    except SpruceError as exc:
        print(f"spruce repair: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


def _index_port_base(value: str | None, port: int) -> int | None:
    if value is None:
        return port
    if value.lower() == "none":
        return None
    try:
        base = int(value)
    except ValueError:
        raise SystemExit(f"spruce: --index-ports takes a port number or 'none', got {value!r}") from None
    if not 0 <= base <= 65535:
        raise SystemExit(f"spruce: --index-ports {base} is not a port number")
    return base


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # Only spruce's own loggers follow --log-level; libraries (httpx, the SDK in ``demo``) stay at WARNING.
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("spruce").setLevel(getattr(args, "log_level", "info").upper())
    if args.command == "serve":
        return _serve(args)
    if args.command == "verify":
        return _verify(args)
    if args.command == "repair":
        return _repair(args)
    if args.command == "demo":
        from spruce.demo import run_demo

        return run_demo()
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
