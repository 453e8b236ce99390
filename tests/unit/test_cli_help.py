"""Every command has ``--help`` (argparse's), naming its flags, exit status 0 (issue 16)."""

from __future__ import annotations

import pytest

from spruce.cli import main

FLAGS = {
    "serve": ["--data", "--store", "--port", "--index-ports", "--api-key", "--tls-cert"],
    "stats": ["--data", "--store", "--cache", "--index", "--json"],
    "compact": ["--data", "--store", "--cache", "--index", "--json"],
    "verify": ["--data", "--store", "--cache"],
    "repair": ["--data", "--store", "--cache"],
    "demo": [],
}


@pytest.mark.parametrize("command", sorted(FLAGS))
def test_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith(f"usage: spruce {command}")
    for flag in FLAGS[command]:
        assert flag in out, flag


def test_the_command_list(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for command in FLAGS:
        assert command in out
