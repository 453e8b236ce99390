"""Several ``spruce serve`` processes on one bucket (issue 15): real processes, a real SeaweedFS, the SDK.

What is checked: a write through any process is read at once through the others (read-your-writes across
processes, exact stats everywhere, list pagination stable while another process writes); racing writers
leave the store equal to a model replayed in LSN order; concurrent creates of one index give one 201 and
one 409; kill -9 of random processes while clients write loses no acknowledged write; a lease holder
paused past its lease (SIGSTOP) is fenced when it comes back; SeaweedFS restarted under writes gives
retryable errors only, and spruce goes on without a restart.
"""

from __future__ import annotations

import json
import random
import signal
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from s3_cluster import Cluster, fetch_ids, kill9_soak
from s3_cluster import vec as _vec
from seaweed import SeaweedFS
from spruce_server_proc import make_index

DIM = 4
LEASE_S = 2.0


@pytest.fixture
def cluster(seaweed: SeaweedFS, tmp_path: Path) -> Iterator[Callable[..., Cluster]]:
    made: list[Cluster] = []

    def make(n: int = 3, extra: list[str] | None = None) -> Cluster:
        url = f"s3://{seaweed.bucket()}/shared"
        c = Cluster(tmp_path, seaweed.env(), url, n, extra, lease_seconds=LEASE_S).start()
        made.append(c)
        return c

    yield make
    for c in made:
        logs = c.stop()
        assert "Traceback" not in logs, logs[-4000:]


def _create(http: httpx.Client, name: str = "ix") -> None:
    make_index(http, name, DIM, "euclidean")


def _upsert(http: httpx.Client, records: list[dict[str, Any]], ns: str = "") -> int:
    r = http.post("/index/ix/vectors/upsert", json={"vectors": records, "namespace": ns})
    assert r.status_code == 200, r.text
    return int(r.headers["x-pinecone-lsn-committed"])


def _fetch(http: httpx.Client, ids: list[str], ns: str = "") -> dict[str, Any]:
    return fetch_ids(http, "ix", ids, ns)


def _stats(http: httpx.Client) -> dict[str, Any]:
    r = http.post("/index/ix/describe_index_stats", json={})
    assert r.status_code == 200, r.text
    return dict(r.json())


def _list_all(
    http: httpx.Client, prefix: str, limit: int = 7, between: Callable[[], None] = lambda: None
) -> list[str]:
    ids: list[str] = []
    token = None
    while True:
        params = {"prefix": prefix, "limit": str(limit)} | ({"paginationToken": token} if token else {})
        r = http.get("/index/ix/vectors/list", params=params)
        assert r.status_code == 200, r.text
        body = r.json()
        ids += [v["id"] for v in body.get("vectors", [])]
        token = (body.get("pagination") or {}).get("next")
        if not token:
            return ids
        between()


def test_a_write_through_any_process_is_read_at_once_through_the_others(
    cluster: Callable[..., Cluster],
) -> None:
    c = cluster(3)
    clients = [c.http(i) for i in range(3)]
    _create(clients[0])
    for i in range(3):  # the index created through process 0 is known to the others at once
        assert clients[i].get("/indexes/ix").status_code == 200
    expected: set[str] = set()
    for rnd in range(24):
        w = rnd % 3
        ids = [f"a-{rnd:02d}-{k}" for k in range(25)]
        lsn = _upsert(
            clients[w], [{"id": x, "values": _vec(k), "metadata": {"r": rnd}} for k, x in enumerate(ids)]
        )
        expected |= set(ids)
        if rnd % 4 == 3:  # a delete through the next process, read through the one after
            gone = sorted(expected)[:5]
            r = clients[(w + 1) % 3].post("/index/ix/vectors/delete", json={"ids": gone})
            assert r.status_code == 200
            expected -= set(gone)
            assert not _fetch(clients[(w + 2) % 3], gone)
        for other in range(3):
            got = _fetch(clients[other], ids)
            assert set(got) == set(ids), f"round {rnd}: process {other} misses writes made through {w}"
            stats = _stats(clients[other])
            assert stats["totalVectorCount"] == len(expected), f"round {rnd}: process {other}'s stats"
            r = clients[other].get("/index/ix/vectors/fetch", params={"ids": ids[0]})
            assert int(r.headers["x-pinecone-lsn-reconciled"]) >= lsn

    # list pagination through one process stays exact while another writes other ids between the pages
    writes = iter(range(1000))

    def write_elsewhere() -> None:
        k = next(writes)
        _upsert(clients[1], [{"id": f"b-{k}", "values": _vec(k)}])

    listed = _list_all(clients[2], "a-", between=write_elsewhere)
    assert listed == sorted(expected), "pages must neither skip nor repeat ids while another process writes"


def test_racing_writers_leave_the_store_equal_to_a_model_in_lsn_order(
    cluster: Callable[..., Cluster],
) -> None:
    """3 processes x 3 threads: per-thread ids and ids shared by all processes; deletes by id and by filter
    and updates by id among the upserts. Every acknowledged write's LSN is recorded; replaying them in LSN
    order into a dict must give exactly what every process serves, and the LSNs must be contiguous."""
    c = cluster(3)
    _create(c.http(0))
    done: list[tuple[int, int, str, Any]] = []  # (lsn, order within the thread, kind, argument)
    mu = threading.Lock()
    errors: list[str] = []

    def writer(p: int, t: int) -> None:
        http = c.http(p)
        rng = random.Random(p * 10 + t)
        for step in range(40):
            # only thread 0 of each process touches the shared ids, so that two upserts of one id never
            # share one group-committed entry (whose internal order the model cannot know)
            pool = [f"s-{k}" for k in range(12)] if t == 0 else [f"p{p}t{t}-{k}" for k in range(12)]
            kind = rng.choice(["upsert", "upsert", "upsert", "delete", "update", "delete_filter"])
            if kind == "upsert":
                recs = [
                    {"id": x, "values": _vec(rng.randrange(99)), "metadata": {"by": p, "step": step}}
                    for x in rng.sample(pool, 3)
                ]
                r = http.post("/index/ix/vectors/upsert", json={"vectors": recs})
                arg: Any = recs
            elif kind == "delete":
                ids = rng.sample(pool, 2)
                r = http.post("/index/ix/vectors/delete", json={"ids": ids})
                arg = ids
            elif kind == "update":
                x = rng.choice(pool)
                r = http.post("/index/ix/vectors/update", json={"id": x, "setMetadata": {"u": step}})
                arg = (x, {"u": step})
            else:
                flt = {"by": {"$eq": rng.randrange(3)}, "step": {"$lt": step // 2}}
                r = http.post("/index/ix/vectors/delete", json={"filter": flt})
                arg = flt
            if r.status_code != 200:
                errors.append(f"{kind}: {r.status_code} {r.text}")
                return
            with mu:
                done.append((int(r.headers["x-pinecone-lsn-committed"]), len(done), kind, arg))

    threads = [threading.Thread(target=writer, args=(p, t)) for p in range(3) for t in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors

    model: dict[str, dict[str, Any]] = {}
    for _, _, kind, arg in sorted(done):
        if kind == "upsert":
            for rec in arg:
                model[rec["id"]] = {"values": rec["values"], "metadata": rec["metadata"]}
        elif kind == "delete":
            for x in arg:
                model.pop(x, None)
        elif kind == "update":
            x, meta = arg
            if x in model:
                model[x]["metadata"] = {**model[x]["metadata"], **meta}
        else:
            by, below = arg["by"]["$eq"], arg["step"]["$lt"]
            for x in [
                x for x, r in model.items() if r["metadata"]["by"] == by and r["metadata"]["step"] < below
            ]:
                del model[x]
    lsns = sorted({lsn for lsn, *_ in done})
    # every logged entry came from an acknowledged write of this test (no-ops return the current LSN)
    assert lsns == list(range(lsns[0], lsns[-1] + 1)), lsns

    everything = [f"s-{k}" for k in range(12)] + [
        f"p{p}t{t}-{k}" for p in range(3) for t in range(3) for k in range(12)
    ]
    for i in range(3):
        got = _fetch(c.http(i), everything)
        assert set(got) == set(model), f"process {i} disagrees with the model on which ids exist"
        for x, rec in model.items():
            assert (
                got[x]["values"] == pytest.approx(rec["values"]) and got[x].get("metadata") == rec["metadata"]
            ), x
        assert _stats(c.http(i))["totalVectorCount"] == len(model)


def test_two_processes_creating_one_index_give_one_201_and_one_409(cluster: Callable[..., Cluster]) -> None:
    c = cluster(2)

    def create(i: int, name: str, gate: threading.Barrier, results: list[int]) -> None:
        http = c.http(i)
        gate.wait()
        body = {
            "name": name,
            "dimension": DIM,
            "metric": "cosine",
            "spec": {"serverless": {"cloud": "aws", "region": "us-east-1"}},
        }
        results.append(http.post("/indexes", json=body).status_code)

    for round_ in range(8):
        name = f"race-{round_}"
        results: list[int] = []
        gate = threading.Barrier(2)
        threads = [threading.Thread(target=create, args=(i, name, gate, results)) for i in range(2)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert sorted(results) == [201, 409], (name, results)
        listed = [ix["name"] for ix in c.http(1 - round_ % 2).get("/indexes").json()["indexes"]]
        assert listed.count(name) == 1


def _holder_pid(seaweed: SeaweedFS, url: str) -> int:
    import boto3

    bucket, _, prefix = url.removeprefix("s3://").partition("/")
    client: Any = seaweed.client(boto3)
    keys = [o["Key"] for o in client.list_objects_v2(Bucket=bucket, Prefix=prefix)["Contents"]]
    lease = next(k for k in keys if k.endswith("/lease"))
    holder = json.loads(client.get_object(Bucket=bucket, Key=lease)["Body"].read())["holder"]
    return int(holder.split(":")[1])


def test_a_holder_paused_past_its_lease_is_fenced_and_nothing_is_lost(
    cluster: Callable[..., Cluster], seaweed: SeaweedFS
) -> None:
    c = cluster(3, ["--flush-rows", "200"])
    _create(c.http(0))
    acked: set[str] = set()
    for k in range(10):
        _upsert(c.http(k % 3), [{"id": f"x-{k}-{j}", "values": _vec(j)} for j in range(50)])
        acked |= {f"x-{k}-{j}" for j in range(50)}
    old = _holder_pid(seaweed, c.url)
    stopped = next(p for p in c.procs if p.proc is not None and p.proc.pid == old)
    others = [i for i, p in enumerate(c.procs) if p is not stopped]
    assert stopped.proc is not None
    stopped.proc.send_signal(signal.SIGSTOP)
    try:
        deadline = time.monotonic() + 8 * LEASE_S
        k = 100
        while _holder_pid(seaweed, c.url) == old:  # writes go on through the others meanwhile
            assert time.monotonic() < deadline, "nobody took the lease over"
            _upsert(c.http(others[k % 2]), [{"id": f"x-{k}-{j}", "values": _vec(j)} for j in range(50)])
            acked |= {f"x-{k}-{j}" for j in range(50)}
            k += 1
        for _ in range(10):  # enough rows for the new holder to flush and commit manifests of its own
            _upsert(c.http(others[k % 2]), [{"id": f"x-{k}-{j}", "values": _vec(j)} for j in range(50)])
            acked |= {f"x-{k}-{j}" for j in range(50)}
            k += 1
        time.sleep(2 * LEASE_S)
    finally:
        stopped.proc.send_signal(signal.SIGCONT)
    time.sleep(3 * LEASE_S)  # the former holder wakes up mid-step: its commits must be refused
    for i in range(3):
        got = _fetch(c.http(i), sorted(acked))
        assert set(got) == acked, f"process {i} lost acknowledged writes"
        assert _stats(c.http(i))["totalVectorCount"] == len(acked)
    log = "".join(stopped.log)
    assert _holder_pid(seaweed, c.url) != old
    assert "not renewed in time; given up" in log or "fenced" in log, log[-3000:]


def test_kill_9_of_random_processes_while_clients_write_loses_nothing(
    cluster: Callable[..., Cluster],
) -> None:
    """20 cycles here; ``benchmarks/soak_s3_kill9.py`` runs as many as asked."""
    c = cluster(3, ["--flush-rows", "300"])
    _create(c.http(0))
    report = kill9_soak(c, "ix", cycles=20)
    assert not report.failures, report.failures[:5]
    assert len(report.acked) > 1000
    assert report.missing == {0: 0, 1: 0, 2: 0}, report.missing
    assert all(n >= len(report.acked) for n in report.counts.values()), report.counts


def test_seaweedfs_restarted_under_writes_gives_retryable_errors_only(tmp_path: Path) -> None:
    weed = SeaweedFS(tmp_path / "weed").start()
    try:
        url = f"s3://{weed.bucket()}/restart"
        c = Cluster(tmp_path, weed.env(), url, 2, lease_seconds=LEASE_S).start()
        try:
            _create(c.http(0))
            acked: set[str] = set()
            statuses: list[int] = []
            for k in range(60):
                if k == 20:
                    weed.stop()
                if k == 35:
                    weed.restart()
                ids = [f"w-{k}-{j}" for j in range(10)]
                r = c.http(k % 2).post(
                    "/index/ix/vectors/upsert",
                    json={"vectors": [{"id": x, "values": _vec(j)} for j, x in enumerate(ids)]},
                )
                statuses.append(r.status_code)
                if r.status_code == 200:
                    acked |= set(ids)
                else:
                    assert r.status_code == 503 and "retry-after" in r.headers, (r.status_code, r.text)
                    # reads go on from what is applied, and say so
                    f = c.http(k % 2).get("/index/ix/vectors/fetch", params={"ids": "w-0-0"})
                    assert f.status_code == 200 and "x-spruce-stale" in f.headers
            assert 503 in statuses and statuses[-10:] == [200] * 10, statuses
            for i in range(2):
                assert set(_fetch(c.http(i), sorted(acked))) == acked
        finally:
            logs = c.stop()
        assert "Traceback" not in logs, logs[-3000:]
    finally:
        weed.stop()


@pytest.mark.parametrize("b_commits", [0, 2], ids=["takeover-only", "after-two-more-commits"])
def test_a_former_holders_manifest_commit_is_refused_and_its_orphans_collected(
    seaweed: SeaweedFS,
    s3_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    b_commits: int,
) -> None:
    """The fence itself, deterministically, with two embedded databases on one bucket: A holds the lease and
    is then "paused" (its renewal and sync threads stopped) until B takes over; A is then made to believe it
    still holds the lease (the one fault injected: a pause that falls between its check and its commit,
    which no real clock produces on demand) and flushes. Its manifest commit must be refused, A must reload
    B's manifest, and the segment it wrote must be collected by B after the grace period.

    ``b_commits``: B commits that many more manifests before A wakes. Each commit deletes the versions
    below it, so the version A would commit next is *absent* again by then: its put succeeds, and only
    the listing after it can tell A that a newer version exists."""
    from spruce.engine import state as state_module
    from spruce.engine.database import Database
    from spruce.storage.s3store import S3Store

    url = f"s3://{seaweed.bucket()}/fence"
    a = Database(S3Store(url, cache_dir=tmp_path / "a", lease_seconds=1.0))
    a.create_index("ix", dimension=DIM, metric="euclidean")
    ia = a.index("ix")
    ia.upsert([(f"a{i}", _vec(i)) for i in range(100)])
    ia.flush()
    assert ia._maint.lease.held()
    a._stopping.set()  # A is paused: no renewals, no syncing
    for thread in a._threads:
        thread.join()
    b = Database(S3Store(url, cache_dir=tmp_path / "b", lease_seconds=1.0))
    ib = b.index("ix")
    deadline = time.monotonic() + 10
    while not ib._maint.lease.held():
        assert time.monotonic() < deadline, "B never took the lease over"
        time.sleep(0.1)
    for round_ in range(b_commits):
        ib.upsert([(f"b-early{round_}", _vec(round_))])
        ib.flush()
    version_b = ib._st.manifest.version
    assert not ia._maint.lease.held()
    ia._maint.lease._valid_until = float("inf")  # type: ignore[attr-defined]
    ia.upsert([(f"late{i}", _vec(i)) for i in range(50)])  # (any process may write the log)
    segments_before = set(a.store.list(ia._st.prefix + "seg/"))
    ia.flush()  # builds and puts a segment, then its manifest commit is refused
    assert not ia._maint.lease.held(), "a fenced holder stops counting itself the holder"
    orphans = set(a.store.list(ia._st.prefix + "seg/")) - segments_before
    assert orphans, "the fenced flush should have written its segment before the commit"
    assert ia._st.manifest.version >= version_b and ia._st.manifest_doc == ib._st.manifest.load()
    for db in (a, b):
        idx = db.index("ix")
        assert idx.describe_index_stats().total_vector_count == 150 + b_commits
        assert len(idx.fetch(ids=[f"late{i}" for i in range(50)]).vectors) == 50
    monkeypatch.setattr(state_module, "GRACE_S", 0.5)
    ib.upsert([("b0", _vec(0))])
    ib.flush()  # B's next commit retires what no manifest names: A's orphan, deleted after the grace
    deadline = time.monotonic() + 10
    while orphans & set(b.store.list(ib._st.prefix + "seg/")):
        assert time.monotonic() < deadline, "the fenced holder's segment was never collected"
        time.sleep(0.2)
    assert ia.describe_index_stats().total_vector_count == 151 + b_commits
    b.close()
    a.close()


def test_a_read_barrier_across_processes_under_read_staleness(cluster: Callable[..., Cluster]) -> None:
    """With ``--read-staleness 60`` a read may skip the sync with the other processes; a client that needs
    a write made elsewhere sends its LSN as ``x-spruce-min-lsn`` and the read waits for it."""
    c = cluster(2, ["--read-staleness", "60"])
    writer, reader = c.http(0), c.http(1)
    _create(writer)
    _fetch(reader, ["warm"])  # the reader's last sync is now, so reads skip syncing for a minute
    for k in range(20):
        lsn = _upsert(writer, [{"id": f"m{k}", "values": _vec(k)}])
        r = reader.get(
            "/index/ix/vectors/fetch", params={"ids": f"m{k}"}, headers={"x-spruce-min-lsn": str(lsn)}
        )
        assert r.status_code == 200 and f"m{k}" in r.json()["vectors"], (k, r.text)
        assert int(r.headers["x-pinecone-lsn-reconciled"]) >= lsn
