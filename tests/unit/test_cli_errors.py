"""Every CLI mistake a user can make ends with one line on stderr and a non-zero exit, never a traceback
(issue 16: a bad ``--data`` path or an out-of-range ``--port`` used to print one). Each case was found
by trying the commands as a new user would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import spruce
from spruce.cli import main


def _cli(capsys: pytest.CaptureFixture[str], args: list[str]) -> tuple[int, str, str]:
    try:
        rc = main(args)
    except SystemExit as exc:
        rc = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.fixture
def place(tmp_path: Path) -> Path:
    """A directory holding a plain file ``afile`` and a store ``db`` with no index."""
    (tmp_path / "afile").write_text("not a store")
    spruce.Client(path=str(tmp_path / "db")).close()
    return tmp_path


# (arguments, with {p} the fixture's directory; what the one line says)
CASES = [
    # serve: flag values, refused while parsing
    (["serve", "--port", "70000"], "argument --port: 70000 is not a port number (0-65535"),
    (["serve", "--port", "-1"], "argument --port: -1 is not a port number"),
    (["serve", "--port", "http"], "argument --port: 'http' is not an integer"),
    (["serve", "--index-ports", "70000"], "argument --index-ports: 70000 is not a port number"),
    (["serve", "--index-ports", "some"], "argument --index-ports: takes a port number or 'none'"),
    (["serve", "--threads", "0"], "argument --threads: 0: must be at least 1"),
    (["serve", "--max-body-bytes", "-5"], "argument --max-body-bytes: -5: must be at least 1"),
    (["serve", "--max-connections", "0"], "argument --max-connections: 0: must be at least 1"),
    (["serve", "--flush-rows", "0"], "argument --flush-rows: 0: must be at least 1"),
    (["serve", "--request-timeout", "-1"], "argument --request-timeout: -1: must be 0 or more"),
    (["serve", "--idle-timeout", "0"], "argument --idle-timeout: 0: must be more than 0"),
    (["serve", "--header-timeout", "nan"], "argument --header-timeout: 'nan' is not a finite number"),
    (["serve", "--disk-reserve-mb", "-1"], "argument --disk-reserve-mb: -1: must be 0 or more"),
    (["serve", "--lease-seconds", "0", "--store", "s3://b"], "argument --lease-seconds: 0: must be more"),
    (
        ["serve", "--cache-size", "12XB", "--store", "s3://b"],
        "argument --cache-size: '12XB': expected a size",
    ),
    (["serve", "--cache-size", "0", "--store", "s3://b"], "argument --cache-size: '0': must be positive"),
    (["serve", "--store", "http://x"], "argument --store: 'http://x' is not an s3://bucket[/prefix] URL"),
    (["serve", "--store", "./dir"], "argument --store: './dir' is not an s3://bucket[/prefix] URL"),
    (["serve", "--data", ""], "argument --data: must not be empty"),
    (["serve", "--bogus"], "unrecognized arguments: --bogus"),
    ([], "the following arguments are required: command"),
    (["bogus"], "argument command: invalid choice: 'bogus'"),
    # serve: flags that only make sense together, or files, refused before anything is opened
    (["serve", "--data", "{p}/afile", "--port", "0"], "--data {p}/afile is not a directory"),
    (["serve", "--data", "{p}/afile/sub", "--port", "0"], "cannot open {p}/afile/sub: Not a directory"),
    (["serve", "--cache", "{p}/c", "--data", "{p}/d"], "--cache applies to --store (a bucket) only"),
    (
        ["serve", "--api-key", "k", "--read-only-api-key", "k"],
        "--read-only-api-key must differ from --api-key",
    ),
    (["serve", "--tls-cert", "{p}/no.pem", "--tls-key", "{p}/no.pem"], "--tls-cert {p}/no.pem: no such file"),
    # the commands on an existing store: nothing is created where it is not
    (["stats", "--data", "{p}/missing"], "{p}/missing: no such directory"),
    (["stats", "--data", "{p}/afile"], "{p}/afile is not a directory"),
    (["stats", "--data", "{p}"], "{p} holds no spruce store"),
    (["stats", "--data", "{p}/db", "--index", "nope"], "--index nope: no such index (the store has: none)"),
    (["stats", "--data", "{p}/db", "--cache", "{p}/c"], "--cache applies to --store (a bucket) only"),
    (["compact", "--data", "{p}/missing"], "{p}/missing: no such directory"),
    (["compact", "--data", "{p}/db", "--index", "nope"], "--index nope: no such index"),
    (["verify", "--data", "{p}/afile"], "{p}/afile is not a directory"),
    (["repair", "--data", "{p}/missing"], "{p}/missing: no such directory"),
    (["verify", "--store", "{p}/db"], "argument --store: "),
]


@pytest.mark.parametrize(("args", "says"), CASES, ids=[" ".join(a) or "(none)" for a, _ in CASES])
def test_one_line_and_a_non_zero_exit(
    place: Path, capsys: pytest.CaptureFixture[str], args: list[str], says: str
) -> None:
    before = sorted(place.rglob("*"))
    rc, out, err = _cli(capsys, [a.format(p=place) for a in args])
    assert rc == 2, err
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("spruce"), err
    assert says.format(p=place) in err
    assert sorted(place.rglob("*")) == before  # nothing created on the way


def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    """Through the real entry point: the two the issue names (a bad --data, an out-of-range --port)."""
    (tmp_path / "afile").write_text("")
    for args in (["--data", str(tmp_path / "afile")], ["--data", str(tmp_path / "d"), "--port", "70000"]):
        done = subprocess.run(
            [sys.executable, "-m", "spruce.cli", "serve", *args], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr


def test_a_directory_that_cannot_be_written_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import os

    if os.geteuid() == 0:
        pytest.skip("root writes anywhere")
    locked = tmp_path / "ro"
    locked.mkdir(mode=0o500)
    rc, _, err = _cli(capsys, ["serve", "--data", str(locked / "d"), "--port", "0"])
    assert rc == 2 and err == f"spruce: cannot open {locked / 'd'}: Permission denied\n"


@pytest.mark.parametrize("command", ["stats", "compact"])
def test_a_store_that_refuses_to_open_says_why_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    """A store whose catalog is gone while its indexes hold data: the engine's refusal, pointing at
    ``spruce repair``, as the one line (and nothing changed)."""
    import shutil

    db = spruce.Client(path=str(tmp_path / "db"))
    db.create_index("ix", dimension=2)
    db.Index("ix").upsert([("a", [1.0, 0.0])])
    db.close()
    shutil.rmtree(tmp_path / "db" / "catalog")
    rc, out, err = _cli(capsys, [command, "--data", str(tmp_path / "db")])
    assert rc == 2 and out == "" and err.count("\n") == 1
    assert err.startswith(f"spruce {command}: cannot open the store: the catalog (catalog/) is missing")
    assert "spruce repair" in err
