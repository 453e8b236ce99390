"""The store in a bucket of a real S3-compatible object store (SeaweedFS on loopback, ``tests/support``).

The object-store contract, run against both backends; the background-work lease; the clear errors for bad
URLs, a missing bucket and wrong credentials; and the engine on a bucket, embedded and behind ``spruce
serve``, driven with the official SDK, including a restart with an empty cache after kill -9. Several
processes on one bucket: ``test_s3_shared.py``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from seaweed import SeaweedFS
from spruce_server_proc import ServerProcess

import spruce
from spruce.errors import (
    InvalidArgumentError,
    NotFoundError,
    StoreClosedError,
    StoreUnavailableError,
)
from spruce.storage.objectstore import LocalStore, ObjectStore
from spruce.storage.s3store import S3Store


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ObjectStore]:
    if request.param == "local":
        opened: ObjectStore = LocalStore(tmp_path / "store")
    else:
        request.getfixturevalue("s3_env")
        server: SeaweedFS = request.getfixturevalue("seaweed")
        opened = S3Store(f"s3://{server.bucket()}/some/prefix", cache_dir=tmp_path / "cache")
    yield opened
    opened.close()


# ---------------------------------------------------------------------------------------------- contract


def test_put_if_absent_is_conditional(store: ObjectStore) -> None:
    assert store.put_if_absent("a/b/c", b"one")
    assert not store.put_if_absent("a/b/c", b"two")
    assert store.put_if_absent("a/b/c", b"one") in (True, False)  # the same bytes: either answer is true
    assert store.get("a/b/c") == b"one"


def test_parts_are_concatenated(store: ObjectStore) -> None:
    assert store.put_if_absent("p", [b"ab", memoryview(b"cd"), bytearray(b"ef")])
    assert store.get("p") == b"abcdef"


def test_missing_object_is_not_found(store: ObjectStore) -> None:
    with pytest.raises(NotFoundError):
        store.get("nope")


def test_list_is_by_key_prefix_and_sorted(store: ObjectStore) -> None:
    for key in ["x/2", "x/1", "y/1", "x/10", "xa"]:
        assert store.put_if_absent(key, key.encode())
    assert store.list("x/") == ["x/1", "x/10", "x/2"]
    assert store.list("x") == ["x/1", "x/10", "x/2", "xa"]
    assert store.list("x/1") == ["x/1", "x/10"]
    assert store.list("z") == []
    store.delete("x/1")
    store.delete("x/1")  # absent: not an error
    assert store.list("x/") == ["x/10", "x/2"]


def test_local_path_holds_the_object(store: ObjectStore) -> None:
    store.put_if_absent("seg/1.seg", b"segment bytes")
    path = store.local_path("seg/1.seg")
    assert path is not None and Path(path).read_bytes() == b"segment bytes"


def test_a_closed_store_refuses_writes(store: ObjectStore) -> None:
    store.close()
    with pytest.raises(StoreClosedError):
        store.put_if_absent("k", b"v")
    assert store.not_writable() == "the store is closed"


def test_the_cache_keeps_the_most_recently_used_objects_within_its_bound(
    seaweed: SeaweedFS, s3_env: dict[str, str], tmp_path: Path
) -> None:
    url = f"s3://{seaweed.bucket()}/cache"
    store = S3Store(url, cache_dir=tmp_path / "c", cache_bytes=3000)
    for i in range(5):
        assert store.put_if_absent(f"indexes/x/seg/{i}", bytes([i]) * 1000)

    def cached() -> set[str]:
        return {p.name for p in (tmp_path / "c" / "indexes" / "x" / "seg").iterdir()}

    def use(s: S3Store, i: int) -> None:
        assert Path(s.local_path(f"indexes/x/seg/{i}") or "").read_bytes() == bytes([i]) * 1000
        time.sleep(0.02)  # (file times tick coarsely: keep the uses apart for the restart's order)

    for i in range(3):
        use(store, i)
    assert cached() == {"0", "1", "2"}
    use(store, 0)  # used again: now the most recent
    use(store, 3)  # over the bound: the least recently used (1) goes
    assert cached() == {"0", "2", "3"}
    use(store, 4)
    assert cached() == {"0", "3", "4"}
    store.close()
    again = S3Store(url, cache_dir=tmp_path / "c", cache_bytes=3000)  # a restart keeps the order (mtimes)
    use(again, 1)
    assert cached() == {"3", "4", "1"}
    again.close()


# ---------------------------------------------------------------------------------------------- the lease


def test_a_lease_is_held_by_one_process_and_taken_over_once_it_stops_renewing(
    seaweed: SeaweedFS, s3_env: dict[str, str], tmp_path: Path
) -> None:
    url = f"s3://{seaweed.bucket()}/db"
    first, second = (S3Store(url, cache_dir=tmp_path / c, lease_seconds=1.0) for c in ("c1", "c2"))
    a, b = first.lease("indexes/x/lease"), second.lease("indexes/x/lease")
    assert a.try_acquire() and a.held()
    started = time.monotonic()
    while time.monotonic() - started < 2.5:  # the holder renews: the other never gets it
        assert a.renew()
        assert not b.try_acquire()
        time.sleep(0.2)
    # the holder stops renewing (paused, or cut off): it stops counting itself the holder first ...
    deadline = time.monotonic() + 5
    while a.held() and time.monotonic() < deadline:
        assert not b.try_acquire()
        time.sleep(0.05)
    assert not a.held()
    # ... and the other takes the lease only after watching it unchanged for a whole period
    stopped = time.monotonic()
    while not b.try_acquire():
        assert time.monotonic() - stopped < 5
        time.sleep(0.1)
    assert b.held() and not a.renew(), "the former holder's renewal must fail: its ETag is gone"
    b.release()  # released: the next one takes it at once
    assert a.try_acquire()
    first.close()
    second.close()


def test_a_lease_left_by_a_killed_process_is_taken_at_once(
    seaweed: SeaweedFS, s3_env: dict[str, str], tmp_path: Path
) -> None:
    url = f"s3://{seaweed.bucket()}/db"
    code = f"""
import os
from spruce.storage.s3store import S3Store
store = S3Store({url!r}, cache_dir={str(tmp_path / "c1")!r}, lease_seconds=600)
assert store.lease("indexes/x/lease").try_acquire()
os._exit(0)  # as kill -9 would leave it: the lease still there, for ten minutes
"""
    subprocess.run([sys.executable, "-c", code], check=True, env=os.environ.copy())
    store = S3Store(url, cache_dir=tmp_path / "c2")
    assert store.lease("indexes/x/lease").try_acquire(), "the dead holder was a process of this host"
    store.close()


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("url", "says"),
    [("s3:///x", "names no bucket"), ("http://bucket/x", "not an s3:// URL"), ("s3://b/x?y=1", "no query")],
)
def test_bad_urls_are_named(url: str, says: str) -> None:
    with pytest.raises(InvalidArgumentError, match=says):
        S3Store(url)


def test_a_missing_bucket_is_named(s3_env: dict[str, str], tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailableError, match="the bucket does not exist"):
        S3Store("s3://no-such-bucket-here/x", cache_dir=tmp_path)


def test_wrong_credentials_are_named(
    seaweed: SeaweedFS, s3_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bucket = seaweed.bucket()
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    with pytest.raises(StoreUnavailableError, match="access denied"):
        S3Store(f"s3://{bucket}/x", cache_dir=tmp_path)


def test_an_unreachable_endpoint_is_named(
    s3_env: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")  # discard: nothing listens
    with pytest.raises(StoreUnavailableError, match="cannot connect"):
        S3Store("s3://bucket/x", cache_dir=tmp_path)


def test_serve_with_a_missing_bucket_exits_with_the_message(s3_env: dict[str, str], tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "spruce.cli", "serve", "--store", "s3://no-such-bucket-here", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )
    assert run.returncode == 2
    assert "the bucket does not exist" in run.stderr and "Traceback" not in run.stderr


def _serve_exits(url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    cmd = [
        sys.executable,
        "-m",
        "spruce.cli",
        "serve",
        "--store",
        url,
        "--cache",
        str(tmp_path),
        "--port",
        "0",
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=os.environ.copy())


def test_a_prefix_holding_something_else_is_refused_and_left_alone(
    seaweed: SeaweedFS, s3_env: dict[str, str], tmp_path: Path
) -> None:
    import boto3

    bucket = seaweed.bucket()
    client: Any = seaweed.client(boto3)
    client.put_object(Bucket=bucket, Key="photos/2024/cat.jpg", Body=b"\xff\xd8 not a store")
    run = _serve_exits(f"s3://{bucket}", tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "not a spruce store" in run.stderr and "photos" in run.stderr, run.stderr
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["photos/2024/cat.jpg"], "nothing may be written into it"


def test_a_store_written_by_a_newer_format_version_is_refused_by_name(
    seaweed: SeaweedFS, s3_env: dict[str, str], tmp_path: Path
) -> None:
    import boto3

    from spruce.storage import framing

    url = f"s3://{seaweed.bucket()}/future"
    db = spruce.Client(store=url)
    db.create_index("ix", dimension=2)
    db.close()
    bucket = url.removeprefix("s3://").split("/")[0]
    client: Any = seaweed.client(boto3)
    key = next(o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix="future/catalog/")["Contents"])
    data = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    magic, _, _, seq, length, _ = framing.HEADER.unpack_from(data)
    head = framing.HEADER.pack(magic, framing.VERSION + 1, 0, seq, length, 0)[:24]
    crc = framing.crc32(data[framing.HEADER.size :], framing.crc32(head))
    newer = head + crc.to_bytes(4, "little") + data[framing.HEADER.size :]  # a whole frame of version 2
    client.put_object(Bucket=bucket, Key=key, Body=newer)
    before = sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"])
    run = _serve_exits(url, tmp_path)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "written by a newer spruce (format version 2" in run.stderr, run.stderr
    assert sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]) == before


# ---------------------------------------------------------------------------------------------- the engine


def test_embedded_client_on_a_bucket_survives_a_reopen_with_an_empty_cache(
    seaweed: SeaweedFS, s3_env: dict[str, str], tmp_path: Path
) -> None:
    url = f"s3://{seaweed.bucket()}/embedded"
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(3000, 16)).astype(np.float32)
    db = spruce.Client(store=url, ann_min_rows=1000)
    db.create_index("films", dimension=16, metric="cosine")
    idx = db.Index("films")
    idx.upsert([(f"f{i}", vecs[i], {"year": 1990 + i % 30}) for i in range(3000)], batch_size=1000)
    idx.flush()
    idx.compact()
    idx.delete(ids=["f1", "f2"])
    idx.upsert([("f3", vecs[0], {"year": 1800})])  # logged only: replayed at the next open
    before = idx.query(vector=vecs[7].tolist(), top_k=5, filter={"year": {"$gte": 2000}})
    db.close()
    db = spruce.Client(store=url)
    idx = db.Index("films")
    assert idx.describe_index_stats().total_vector_count == 2998
    assert idx.fetch(ids=["f1", "f3"]).vectors.keys() == {"f3"}
    assert idx.fetch(ids=["f3"]).vectors["f3"].metadata == {"year": 1800}
    after = idx.query(vector=vecs[7].tolist(), top_k=5, filter={"year": {"$gte": 2000}})
    assert [m.id for m in after.matches] == [m.id for m in before.matches]
    db.close()


def test_serve_on_a_bucket_with_the_sdk_and_a_kill_9(
    seaweed: SeaweedFS, s3_env: dict[str, str], tmp_path: Path
) -> None:
    from pinecone import Pinecone, ServerlessSpec

    url = f"s3://{seaweed.bucket()}/srv"
    server = ServerProcess(tmp_path, ["--store", url, "--cache", str(tmp_path / "cache1")]).start()
    try:
        pc = Pinecone(api_key="k", host=server.url)
        pc.create_index("s3", dimension=8, metric="euclidean", spec=ServerlessSpec(cloud="aws", region="x"))
        idx = pc.Index(name="s3")
        rng = np.random.default_rng(1)
        vecs = rng.normal(size=(2000, 8)).round(4)
        for start in range(0, 2000, 500):
            idx.upsert(vectors=[(f"v{i}", vecs[i].tolist()) for i in range(start, start + 500)])
        idx.delete(ids=["v0"])
        assert idx.describe_index_stats().total_vector_count == 1999
        server.stop(signal.SIGKILL)
        server.extra_args = ["--store", url, "--cache", str(tmp_path / "cache2")]  # an empty cache
        server.start()
        pc = Pinecone(api_key="k", host=server.url)
        idx = pc.Index(name="s3")
        assert idx.describe_index_stats().total_vector_count == 1999
        got = idx.fetch(ids=["v0", "v5"]).vectors
        assert set(got) == {"v5"} and np.allclose(got["v5"].values, vecs[5])
        top = idx.query(vector=vecs[9].tolist(), top_k=1).matches
        assert top[0].id == "v9"
    finally:
        server.stop(signal.SIGTERM)
    assert "Traceback" not in "".join(server.log)


def test_verify_reads_a_bucket_and_names_damage(
    seaweed: SeaweedFS, s3_env: dict[str, str], tmp_path: Path
) -> None:
    import boto3

    bucket = seaweed.bucket()
    url = f"s3://{bucket}/v"
    db = spruce.Client(store=url)
    db.create_index("ix", dimension=4)
    idx = db.Index("ix")
    idx.upsert([(f"r{i}", [1.0, float(i), 0.0, 1.0]) for i in range(200)])
    idx.flush()
    db.close()

    def verify(cache: str) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, "-m", "spruce.cli", "verify", "--store", url, "--cache", str(tmp_path / cache)]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=os.environ.copy())

    clean = verify("c1")
    assert clean.returncode == 0 and ", 0 damaged" in clean.stdout, clean.stdout + clean.stderr
    client = seaweed.client(boto3)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]]  # type: ignore[attr-defined]
    segment = next(k for k in keys if k.endswith(".seg"))
    body = bytearray(client.get_object(Bucket=bucket, Key=segment)["Body"].read())  # type: ignore[attr-defined]
    body[len(body) // 2] ^= 0xFF
    client.put_object(Bucket=bucket, Key=segment, Body=bytes(body))  # type: ignore[attr-defined]
    damaged = verify("c2")  # (an empty cache: the damaged object is what it reads)
    assert damaged.returncode == 1, damaged.stdout + damaged.stderr
    assert segment.removeprefix("v/") in damaged.stdout and "Traceback" not in damaged.stderr
