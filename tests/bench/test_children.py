"""The benchmarks' helper processes (``bench.children``)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from bench.children import Child, ChildError


def test_a_child_that_does_not_start_in_time_is_killed(tmp_path: Path) -> None:
    """A child that does not answer within its start timeout raises ChildError and is gone.

    It used to be left running: the fan-out benchmark's clients went on opening connections
    while the benchmark stopped the stack, and the 502s of that stopping stack ended their log,
    quoted in the error as if they were the cause."""
    log = tmp_path / "silent.log"
    started = time.monotonic()
    with pytest.raises(ChildError, match="did not answer within 2 s"):
        Child("tests.bench.silent_child", [], log_path=log, start_timeout_s=2.0)
    assert time.monotonic() - started < 10  # killed, not waited for until it stops
    pid = int(log.read_text().split()[0])
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
