"""``make dev``'s runner: starts quickly, serves everything on one port, stops cleanly."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from local_stack.dev import snapshot
from tests.local_stack.support import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_snapshot_sees_python_edits_only(tmp_path: Path) -> None:
    """Changing, adding or removing a .py file changes the snapshot; other files do not."""
    (tmp_path / "pkg").mkdir()
    module = tmp_path / "pkg" / "a.py"
    module.write_text("x = 1\n")
    before = snapshot(tmp_path)
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "a.py").write_text("ignored")
    assert snapshot(tmp_path) == before
    os.utime(module, ns=(1, before[module] + 1_000_000))
    assert snapshot(tmp_path) != before
    (tmp_path / "pkg" / "b.py").write_text("")
    assert len(snapshot(tmp_path)) == 2


def test_dev_runner_starts_serves_and_stops_on_sigterm() -> None:
    """`python -m local_stack.dev` with PORT set prints the URLs within seconds and exits 0."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack.dev"],
        cwd=REPO_ROOT,
        env={**os.environ, "PORT": str(port), "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = []
        while not any("Ctrl-C" in line for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        startup = time.monotonic() - started
        output = "".join(lines)
        assert f"http://127.0.0.1:{port}/" in output
        assert f"ws://127.0.0.1:{port}/local" in output
        assert startup < 10, startup
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config.js", timeout=5) as answer:
            assert f"ws://127.0.0.1:{port}/local".encode() in answer.read()
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=15)
        assert process.returncode == 0, rest
        assert "stopped" in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more
