"""moto's server in a child process: port, environment, errors, stop."""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from local_stack.moto_server import MotoServer, MotoServerError


def test_stop_closes_the_port_and_is_idempotent() -> None:
    """After stop the endpoint refuses connections, a second stop is a no-op, endpoint raises."""
    server = MotoServer()
    endpoint = server.start()
    assert endpoint == server.endpoint
    assert endpoint.startswith("http://127.0.0.1:")
    assert server.port > 0
    server.stop()
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(endpoint, timeout=2)  # noqa: S310 -- the stopped local server
    with pytest.raises(MotoServerError, match="not running"):
        _ = server.endpoint


def test_child_gets_no_aws_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_* variables of the parent never reach the child; others do."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "must-not-leak")
    monkeypatch.setenv("AWSOME_MARKER", "kept")
    seen = tmp_path / "env.txt"
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\nenv > "{seen}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    with MotoServer(python=str(wrapper)):
        names = {line.split("=", 1)[0] for line in seen.read_text().splitlines()}
    assert "AWSOME_MARKER" in names
    assert not {name for name in names if name.startswith("AWS_")}


@pytest.mark.parametrize("quiet", [False, True])
def test_a_child_that_cannot_serve_raises_an_error_naming_the_interpreter(
    quiet: bool, tmp_path: Path
) -> None:
    """A child that exits without a port raises ``MotoServerError`` naming the interpreter."""
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    server = MotoServer(python=str(broken), quiet=quiet)
    with pytest.raises(MotoServerError, match=r"did not start.*make \.venv/\.installed"):
        server.start()
    with pytest.raises(MotoServerError):
        _ = server.endpoint
