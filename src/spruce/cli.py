"""The ``spruce`` command: ``spruce serve`` runs the Pinecone-compatible server on a local store;
``spruce stats`` reports a store's indexes, ``spruce compact`` indexes them fully (offline), ``spruce
verify`` checks every object of a store, ``spruce repair`` rebuilds a lost catalog (docs/operations.md).

Kept thin on purpose: it parses flags, opens the store, binds the socket and hands over to
:mod:`spruce.server.run` (the operators' commands to :mod:`spruce.admin`). Failures a user can fix (a bad
flag value, a store locked by another process, a port in use) end with a one-line message and exit status
2, not a traceback: flag values are checked as they are parsed (``_Parser.error`` keeps argparse's own
complaints to one line), and what only the open finds out is caught around it.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from spruce import __version__, limits
from spruce.logs import configure as configure_logs

if TYPE_CHECKING:
    from spruce.engine import Database

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="spruce", description="A vector database that speaks Pinecone's API.")
    parser.add_argument("--version", action="version", version=f"spruce {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser(
        "serve", help="serve Pinecone's API: REST (control and data plane) and the gRPC data plane"
    )
    serve.add_argument(
        "--data", type=_nonempty, default="./spruce-data", help="data directory (default: ./spruce-data)"
    )
    serve.add_argument(
        "--store",
        type=_s3_url,
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
        type=_size,
        default=None,
        help="with --store: bound of the cache, e.g. 20GiB or 512MiB (default: 20GiB)",
    )
    serve.add_argument(
        "--lease-seconds",
        type=_positive_float,
        default=None,
        help="with --store: how long an index's background-work lease lasts unrenewed, so how soon another "
        "process takes over from one that died (default: 10)",
    )
    serve.add_argument(
        "--read-staleness",
        type=_non_negative_float,
        default=None,
        help="with --store: seconds a read's view of other processes' writes may lag; 0, the default, "
        "makes every read reflect every write acknowledged before it (one GET more per read)",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument(
        "--port", type=_port, default=5080, help="port to bind; 0 picks a free one (default: 5080)"
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
        type=_positive_int,
        default=limits.UPSERT_MAX_BODY_BYTES,
        help=f"largest request body accepted (default: {limits.UPSERT_MAX_BODY_BYTES}, Pinecone's 2 MB)",
    )
    serve.add_argument(
        "--threads", type=_positive_int, default=8, help="worker threads running engine calls (default: 8)"
    )
    serve.add_argument(
        "--flush-rows",
        type=_positive_int,
        default=None,
        help="memtable rows that trigger a flush to a segment, a tuning knob (default: the engine's, "
        "spruce.engine.index.DEFAULT_FLUSH_ROWS)",
    )
    serve.add_argument(
        "--request-timeout",
        type=_non_negative_float,
        default=30.0,
        help="seconds a request may run before it is stopped with a DEADLINE_EXCEEDED error (a filter or "
        "query too costly to finish); 0 disables the deadline (default: 30)",
    )
    serve.add_argument(
        "--flush-log-mb",
        type=_positive_int,
        default=None,
        help="unflushed log (MiB) that triggers a flush, bounding the replay at the next open (default: 64)",
    )
    serve.add_argument(
        "--flush-log-records",
        type=_positive_int,
        default=None,
        help="records written or deleted in the unflushed log that trigger a flush, bounding the replay "
        "at the next open (default: 250000)",
    )
    serve.add_argument(
        "--graph-step-work",
        type=_positive_int,
        default=None,
        help="rows x dimensions one compaction step adds to a graph at most, a tuning knob (default: "
        "12,800,000: each step commits, so a restart loses at most one)",
    )
    serve.add_argument(
        "--graph-step-seconds",
        type=_positive_float,
        default=None,
        help="seconds of graph building one compaction step aims at, at the insertion rate last measured "
        "(default: 10; keep it well below the time between restarts)",
    )
    serve.add_argument(
        "--idle-timeout",
        type=_positive_float,
        default=30.0,
        help="seconds before an idle keep-alive connection is closed (default: 30)",
    )
    serve.add_argument(
        "--header-timeout",
        type=_positive_float,
        default=10.0,
        help="seconds a client has to send a request's "
        "headers, and a new connection its first bytes (slowloris; default: 10)",
    )
    serve.add_argument(
        "--body-timeout",
        type=_positive_float,
        default=60.0,
        help="seconds a client has to send a request's body once its headers are in (default: 60)",
    )
    serve.add_argument(
        "--max-connections",
        type=_positive_int,
        default=1000,
        help="connections served at once; beyond, requests get 503, which clients retry (default: 1000)",
    )
    serve.add_argument(
        "--disk-reserve-mb",
        type=_non_negative_int,
        default=None,
        help="free space (MiB) that background work (flushes, compaction) leaves to the log, so that "
        "writes keep working on a nearly full disk (default: 128)",
    )
    serve.add_argument(
        "--index-ports",
        type=_index_ports,
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
    serve.add_argument(
        "--log-format",
        default="text",
        choices=["text", "json"],
        help="json: one object per line, for log shippers (default: text)",
    )
    serve.add_argument(
        "--no-access-log",
        dest="access_log",
        action="store_false",
        help="no line per request (spruce.access, at INFO); slow requests are still logged",
    )
    serve.add_argument(
        "--slow-request",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="log a request slower than this at WARNING (default: 1)",
    )
    serve.add_argument(
        "--metrics-public",
        action="store_true",
        help="serve GET /metrics without an API key, for a scraper that has none (default: key needed)",
    )
    _store_flags(
        sub.add_parser(
            "verify",
            help="read every object of a store and check every checksum; exit 1 if primary data is damaged",
            description="Read every object of a store and check every checksum, changing nothing. Prints "
            "each problem found and a summary; exit status 1 if primary data is damaged, 0 otherwise. The "
            "store must not be open in another process (stop the server first).",
        )
    )
    _store_flags(
        sub.add_parser(
            "repair",
            help="rebuild a lost or damaged catalog from the indexes' own config records (nothing is "
            "deleted)",
        )
    )
    stats = _store_flags(
        sub.add_parser(
            "stats",
            help="indexes, namespaces, record counts, segments, unflushed log and disk use of a store",
            description="Report every index of a store as the engine sees it: records per namespace (the "
            "counts of describe_index_stats), segments and graphs, records not yet indexed, the log not "
            "yet flushed, objects and bytes on disk. Changes nothing. The store must not be open in another "
            "process; a running server reports the same per index at GET /index/<name>/spruce/storage.",
        )
    )
    stats.add_argument("--index", action="append", metavar="NAME", help="only this index (repeatable)")
    stats.add_argument("--json", action="store_true", help="print one JSON document instead of tables")
    compact = _store_flags(
        sub.add_parser(
            "compact",
            help="offline: flush and compact every index until it is fully indexed, with progress",
            description="Flush every memtable and run every compaction step due, until each index is fully "
            "indexed (unindexed records 0, nothing left in the log to replay), then report segments "
            "before and after, records and seconds. Offline: refused while a server holds the store. An "
            "interrupted run keeps every step it finished.",
        )
    )
    compact.add_argument("--index", action="append", metavar="NAME", help="only this index (repeatable)")
    compact.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    sub.add_parser(
        "demo",
        help="run the README's pinecone SDK snippet against a throwaway server on a temporary store",
    )
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors on one line (``spruce serve: argument --port: ...``) instead of the
    usage block that buries them; ``--help`` still shows the usage."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {self.prog} --help)\n")


def _store_flags(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The flags naming an existing store, shared by the commands that work on one."""
    parser.add_argument(
        "--data", type=_nonempty, default="./spruce-data", help="data directory (default: ./spruce-data)"
    )
    parser.add_argument(
        "--store", type=_s3_url, default=None, help="s3://bucket[/prefix]: the store in a bucket instead"
    )
    parser.add_argument("--cache", default=None, help="with --store: local cache directory")
    return parser


# ---------------------------------------------------------------- flag values (argparse ``type=``)


def _nonempty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _s3_url(text: str) -> str:
    if not text.startswith("s3://"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an s3://bucket[/prefix] URL (a directory is --data)"
        )
    return text


def _number(text: str, kind: type[int] | type[float]) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not {'an integer' if kind is int else 'a number'}"
        ) from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def _port(text: str) -> int:
    value = int(_number(text, int))
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535; 0 picks a free one)")
    return value


def _positive_int(text: str) -> int:
    value = int(_number(text, int))
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value}: must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value}: must be 0 or more")
    return value


def _positive_float(text: str) -> float:
    value = _number(text, float)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text}: must be more than 0")
    return value


def _non_negative_float(text: str) -> float:
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text}: must be 0 or more")
    return value


def _size(text: str) -> int:
    """``20GiB``, ``512MiB``, ``1.5GB`` or a number of bytes."""
    units = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
    units |= {"kib": 1 << 10, "mib": 1 << 20, "gib": 1 << 30, "tib": 1 << 40}
    match = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([a-z]*)\s*", text.lower())
    if match is None or match[2] not in units:
        raise argparse.ArgumentTypeError(f"{text!r}: expected a size such as 20GiB or 512MiB")
    value = int(float(match[1]) * units[match[2]])
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r}: must be positive")
    return value


def _index_ports(text: str) -> int | str:
    """A base port, or ``none`` (no per-index ports)."""
    if text.lower() == "none":
        return "none"
    try:
        base = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"takes a port number or 'none', got {text!r}") from None
    if not 0 <= base <= 65535:
        raise argparse.ArgumentTypeError(f"{base} is not a port number (0-65535)")
    return base


def _index_port_base(value: int | str | None, port: int) -> int | None:
    if value is None:
        return port
    return None if value == "none" else int(value)


# ---------------------------------------------------------------- serve


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
    problem = _serve_flags_error(args)
    if problem is not None:
        print(f"spruce serve: {problem}", file=sys.stderr)
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
        metrics_public=args.metrics_public,
        access_log=args.access_log,
        slow_request=args.slow_request,
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
                cache_bytes=args.cache_size,
                lease_seconds=args.lease_seconds,
            )
            db = Database(store, **tuning)
        else:
            db = Database.open(args.data, **tuning)
    except SpruceError as exc:
        print(f"spruce: cannot open {where}: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the directory cannot be created or written (a file in its path, permissions)
        print(f"spruce: cannot open {where}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        db.close()
        print(f"spruce: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    serve(db, config, sock)
    return 0


def _serve_flags_error(args: argparse.Namespace) -> str | None:
    """What is wrong with ``serve``'s flags taken together, found before anything is opened."""
    if args.store is None:
        for flag, value in (("--cache", args.cache), ("--cache-size", args.cache_size)):
            if value is not None:
                return f"{flag} applies to --store (a bucket) only"
        if os.path.exists(args.data) and not os.path.isdir(args.data):
            return f"--data {args.data} is not a directory"
    if args.read_only_api_key and args.read_only_api_key == args.api_key:
        return "--read-only-api-key must differ from --api-key (the same key cannot both write and not)"
    for flag, path in (("--tls-cert", args.tls_cert), ("--tls-key", args.tls_key)):
        if path is not None and not os.path.isfile(path):
            return f"{flag} {path}: no such file"
    return None


# ---------------------------------------------------------------- the operators' commands


def _verify(args: argparse.Namespace) -> int:
    from spruce.admin.offline import open_existing_store
    from spruce.admin.progress import Progress
    from spruce.engine.verify import verify_store

    store = open_existing_store(args.data, args.store, args.cache)
    checked = 0
    try:
        # the objects under indexes/: an upper bound of what is checked (old manifests and log entries
        # below the manifest are not read), so the bar may end short of 100%
        with Progress("verify", "object", total=len(store.list("indexes/"))) as bar:

            def progress(key: str) -> None:
                nonlocal checked
                checked += 1
                bar.advance()

            findings = verify_store(store, progress)
    finally:
        store.close()
    for finding in findings:
        print(finding)
    loss = sum(f.loss for f in findings)
    print(f"spruce verify: {checked} objects checked, {loss} damaged, {len(findings) - loss} warnings")
    return 1 if loss else 0


def _repair(args: argparse.Namespace) -> int:
    from spruce.admin.offline import open_existing_store
    from spruce.engine.repair import repair_catalog
    from spruce.errors import SpruceError

    store = open_existing_store(args.data, args.store, args.cache)
    try:
        for line in repair_catalog(store):
            print(line)
    except SpruceError as exc:
        print(f"spruce repair: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


def _stats(args: argparse.Namespace) -> int:
    import orjson

    from spruce.admin import stats
    from spruce.admin.offline import open_database, open_existing_store, store_bytes

    where = args.store or args.data
    busy = ", or ask the server: GET /index/<name>/spruce/storage (per index)"
    db = open_database(open_existing_store(args.data, args.store, args.cache, busy=busy))
    try:
        reports = stats.gather(db, _chosen(db, args.index))
        disk = store_bytes(db.store)
    finally:
        db.close(flush=False)
    if args.json:
        print(orjson.dumps(stats.to_json(where, reports, disk), option=orjson.OPT_INDENT_2).decode())
    else:
        print(stats.render(where, reports, disk))
    return 0


def _compact(args: argparse.Namespace) -> int:
    import orjson

    from spruce.admin.compact import CompactReport, check_lease, compact_index, render
    from spruce.admin.offline import open_database, open_existing_store
    from spruce.admin.progress import Progress

    db = open_database(open_existing_store(args.data, args.store, args.cache))
    reports: list[CompactReport] = []
    try:
        engines = [db.index(name) for name in _chosen(db, args.index)]
        for engine in engines:  # all refused before any is touched
            check_lease(engine)
        for engine in engines:
            bars: list[Progress] = []  # made at the first call, which knows the backlog

            def progress(
                done: int, total: int, name: str = engine.config.name, bars: list[Progress] = bars
            ) -> None:
                if not bars:
                    bars.append(Progress(f"compact {name}", "record", total=total))
                bars[0].reach(done)

            try:
                reports.append(compact_index(engine, progress))
            finally:
                for bar in bars:
                    bar.close()
    except KeyboardInterrupt:
        print("spruce compact: interrupted; every step finished before stays committed", file=sys.stderr)
        return 130
    finally:
        db.close(flush=False)
    if args.json:
        print(orjson.dumps([r.to_json() for r in reports], option=orjson.OPT_INDENT_2).decode())
        return 0
    print(render(reports))
    print(f"spruce compact: {len(reports)} {'index' if len(reports) == 1 else 'indexes'} fully indexed")
    return 0


def _chosen(db: Database, names: list[str] | None) -> list[str]:
    """The indexes ``--index`` names (each must exist), else every index, by name."""
    from spruce.admin.offline import AdminError

    known = sorted(c.name for c in db.list_indexes())
    if names is None:
        return known
    for name in names:
        if name not in known:
            have = ", ".join(known) if known else "none"
            raise AdminError(f"--index {name}: no such index (the store has: {have})")
    return list(dict.fromkeys(names))


def main(argv: Sequence[str] | None = None) -> int:
    from spruce.admin.offline import AdminError

    args = _parser().parse_args(argv)
    # (the commands without --log-level, which print reports, say only warnings and errors; ``spruce.logs``)
    configure_logs(getattr(args, "log_level", "warning"), getattr(args, "log_format", "text"))
    commands = {"serve": _serve, "verify": _verify, "repair": _repair, "stats": _stats, "compact": _compact}
    try:
        if args.command in commands:
            return commands[args.command](args)
    except AdminError as exc:
        print(f"spruce {args.command}: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # (Ctrl-C while a store opens, a verify reads; ``serve`` handles its own)
        print(f"spruce {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # (``spruce stats | head``: the reader left; say nothing more)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    if args.command == "demo":
        from spruce.demo import run_demo

        return run_demo()
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())
