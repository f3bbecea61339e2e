"""Helper processes that talk JSON lines over stdin/stdout.

Servers and WebSocket clients run in processes of their own, so that ``time.process_time()``
in the benchmark process counts the broadcasting side only. The parent writes one JSON
command per line; the child answers each with one JSON line. Closing the child's stdin asks it
to stop. A child's stderr goes to a log file, quoted when something fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Final

from bench.paths import ROOT
from local_stack.moto_server import reap

_START_TIMEOUT_S: Final = 120.0
_STOP_TIMEOUT_S: Final = 20.0
_EOF: Final = object()


class ChildError(RuntimeError):
    """A helper process failed, answered with an error, or did not answer in time."""


class Child:
    """``python -m <module> <args>`` answering JSON commands; a context manager."""

    def __init__(
        self,
        module: str,
        args: Sequence[str],
        *,
        log_path: Path,
        env: Mapping[str, str] | None = None,
        start_timeout_s: float = _START_TIMEOUT_S,
    ) -> None:
        self.module = module
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("w", encoding="utf-8")
        self._process = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
            env=dict(env) if env is not None else None,
        )
        self._lines: queue.Queue[object] = queue.Queue()
        stdout = self._process.stdout
        if stdout is None:  # pragma: no cover - Popen with PIPE always has it
            raise ChildError("no stdout")
        threading.Thread(target=_pump, args=(stdout, self._lines), daemon=True).start()
        try:
            self.hello = self._read(start_timeout_s)
            """The child's first line: what it started (addresses, counts)."""
        except ChildError:
            # No ``with`` block will stop a child whose start failed: kill it here, before the
            # caller stops what the child uses (the clients went on opening connections to a
            # stopping stack, whose 502s then ended their log, quoted as if they were the cause).
            self._process.kill()
            self.stop()
            raise

    @property
    def pid(self) -> int:
        """The child's process id."""
        return self._process.pid

    def ask(self, command: str, timeout_s: float = 60.0, **fields: Any) -> dict[str, Any]:
        """Send ``{"cmd": command, **fields}`` and return the answer."""
        stdin = self._process.stdin
        if stdin is None or stdin.closed:
            raise ChildError(f"{self.module} is stopped")
        try:
            stdin.write(json.dumps({"cmd": command, **fields}) + "\n")
            stdin.flush()
        except BrokenPipeError:
            raise ChildError(self._failure("exited")) from None
        return self._read(timeout_s)

    def _read(self, timeout_s: float) -> dict[str, Any]:
        try:
            line = self._lines.get(timeout=timeout_s)
        except queue.Empty:
            raise ChildError(self._failure(f"did not answer within {timeout_s:.0f} s")) from None
        if line is _EOF:
            raise ChildError(self._failure("exited"))
        answer = json.loads(str(line))
        if not isinstance(answer, dict):
            raise ChildError(f"{self.module} answered {answer!r}, not an object")
        if "error" in answer:
            raise ChildError(f"{self.module}: {answer['error']}")
        return answer

    def _failure(self, what: str) -> str:
        self._log.flush()
        tail = self.log_path.read_text(encoding="utf-8", errors="replace")[-3000:]
        return f"{self.module} {what}; its log ({self.log_path}) ends with:\n{tail}"

    def stop(self) -> None:
        """Close stdin (the child's cue to stop), wait, and kill it if it does not."""
        process = self._process
        if process.stdin is not None and not process.stdin.closed:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        reap(process, _STOP_TIMEOUT_S)
        self._log.close()

    def __enter__(self) -> Child:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _pump(stream: IO[str], lines: queue.Queue[object]) -> None:
    for line in stream:
        if line.strip():
            lines.put(line)
    lines.put(_EOF)


def serve(
    hello: Mapping[str, Any], commands: Mapping[str, Callable[[dict[str, Any]], Any]]
) -> None:
    """The child's side: print ``hello``, then answer commands from stdin until it closes.

    A command's handler returns a JSON-able mapping; an exception becomes ``{"error": ...}``.
    """
    _answer(hello)
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            request = json.loads(line)
            handler = commands[request["cmd"]]
            answer = handler(request)
        except Exception as error:  # the parent reports it; the child goes on serving
            answer = {"error": f"{type(error).__name__}: {error}"}
        _answer(answer)


def _answer(answer: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def child_env(**extra: str) -> dict[str, str]:
    """The parent's environment with ``extra`` over it (children inherit nothing else)."""
    return {**os.environ, **extra}
