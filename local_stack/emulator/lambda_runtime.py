"""A local Lambda runtime: invokes ``handler(event, context)`` in a pool of worker processes.

Each worker (``lambda_worker.py``) is one execution environment, as in Lambda: it imports the
handler once (the init phase), then serves invocations one at a time; concurrent invocations
get concurrent workers, up to ``concurrency``, spawned on demand and kept warm.

Processes rather than threads, for three reasons that a chat emulator meets on day one:

- the function's environment (``TABLE_NAME``, ``AWS_ENDPOINT_URL_DYNAMODB``, dummy credentials)
  is the worker's whole ``os.environ``: nothing leaks into or out of the caller's process, so
  several stacks (and unrelated tests) can share one pytest process;
- a handler past its timeout is killed, as Lambda kills the sandbox; a thread could not be;
- a crash (an exception, ``sys.exit``, a segfault) or a broken import costs one worker, never
  the emulator.

Reloading (``make dev``) retires every worker: the next invocation imports the code afresh.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.responses import InvocationFailed, InvocationOk, InvocationResult

log = logging.getLogger(__name__)

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
BACKEND_DIR: Final = REPO_ROOT / "backend"
_WORKER: Final = Path(__file__).with_name("lambda_worker.py")
_CHANNEL_LIMIT: Final = 16 * 1024 * 1024  # Lambda's payloads are at most 6 MB
_EXIT_GRACE_S: Final = 2.0  # a worker whose channel ended exits by itself within this

DUMMY_CREDENTIALS: Final = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}


@dataclass(frozen=True)
class FunctionSettings:
    """One Lambda function: its code, handler, environment and limits."""

    handler: str = "chat.handler.handler"
    """``package.module.function``, as in Lambda's handler setting."""
    code_dir: Path = BACKEND_DIR
    """The directory that would be the root of the zip (``/var/task``)."""
    environment: Mapping[str, str] = field(default_factory=dict)
    """The function's environment variables, over the runtime's defaults."""
    timeout_s: float = 10.0
    memory_mb: int = 128
    function_name: str = "awsome-chat-local"
    region: str = "us-east-1"
    concurrency: int = 8
    """How many invocations run at once (like reserved concurrency); more wait their turn."""
    init_timeout_s: float = 10.0
    """Lambda's 10-second limit on the init phase (importing the handler)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "code_dir", Path(self.code_dir))  # a str path works too
        if not self.code_dir.is_dir():
            raise EmulatorConfigError(f"the function's code directory {self.code_dir} is missing")
        if self.timeout_s <= 0 or self.init_timeout_s <= 0:
            raise EmulatorConfigError("Lambda timeouts must be positive numbers of seconds")
        if self.concurrency < 1:
            raise EmulatorConfigError("Lambda concurrency must be at least 1")


def lambda_environment(config: FunctionSettings) -> dict[str, str]:
    """The whole environment of a worker: Lambda's reserved variables, then the function's.

    The credentials are dummies and the AWS config files are disabled, so the function can
    never reach a real account from a developer's shell settings.
    """
    today = datetime.now(tz=UTC)
    env = {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(config.code_dir),
        "_HANDLER": config.handler,
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{sys.version_info.major}.{sys.version_info.minor}",
        "AWS_LAMBDA_FUNCTION_NAME": config.function_name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_mb),
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{config.function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": f"{today:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}",
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        **DUMMY_CREDENTIALS,
    }
    env.update(config.environment)
    return env


class _Worker:
    """One worker process and its channel."""

    def __init__(self, process: asyncio.subprocess.Process, generation: int) -> None:
        self.process = process
        self.generation = generation
        self.log_pump: asyncio.Task[None] | None = None

    @property
    def alive(self) -> bool:
        return self.process.returncode is None

    async def read(self, timeout_s: float) -> dict[str, Any] | None:
        """The next message from the worker, None at end of stream; TimeoutError if late."""
        if self.process.stdout is None:
            return None
        line = await asyncio.wait_for(self.process.stdout.readline(), timeout_s)
        if not line:
            return None
        message: dict[str, Any] = json.loads(line)
        return message

    async def write(self, message: dict[str, Any]) -> None:
        if self.process.stdin is None:
            raise ConnectionResetError("the worker has no stdin")
        self.process.stdin.write(json.dumps(message).encode() + b"\n")
        await self.process.stdin.drain()

    async def kill(self) -> None:
        if self.alive:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
        await self.process.wait()

    async def exited(self, grace_s: float) -> None:
        """Wait for a worker whose channel ended to exit by itself; kill it after ``grace_s``.

        Killed at once, a worker already exiting (``sys.exit(4)``, or killed by ``close``) was
        reported with SIGKILL's status, or, when the kill's poll reaped it before asyncio's
        child watcher, with 255 and asyncio's "Unknown child process" warning.
        """
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.process.wait(), grace_s)
        await self.kill()


class LambdaRuntime:
    """Invokes one function; create, use and close it on the same event loop."""

    def __init__(self, config: FunctionSettings) -> None:
        self.config = config
        self._environment = lambda_environment(config)
        self._slots = asyncio.Semaphore(config.concurrency)
        self._idle: list[_Worker] = []
        self._workers: set[_Worker] = set()
        self._pumps: set[asyncio.Task[None]] = set()
        self._generation = 0
        self._closed = False
        self.invocations = 0
        self.cold_starts = 0
        # Where the function's output goes, as Lambda sends it to CloudWatch Logs.
        self._function_log = logging.getLogger(f"lambda.{config.function_name}")

    @property
    def environment(self) -> Mapping[str, str]:
        """The environment every worker gets."""
        return dict(self._environment)

    def worker_pids(self) -> list[int]:
        """The process ids of the live workers (idle or busy)."""
        return [w.process.pid for w in list(self._workers) if w.alive]

    def busy_worker_pids(self) -> list[int]:
        """The process ids of the workers running an invocation now (for fault injection)."""
        idle = {id(w) for w in self._idle}
        return [w.process.pid for w in list(self._workers) if w.alive and id(w) not in idle]

    async def invoke(self, event: Mapping[str, Any]) -> InvocationResult:
        """Run ``handler(event, context)``; every failure is a result, never an exception."""
        async with self._slots:
            if self._closed:
                return InvocationFailed("Runtime.Unavailable", "the runtime is shut down")
            self.invocations += 1
            worker = await self._checkout()
            if isinstance(worker, InvocationFailed):
                return worker
            result, reusable = await self._run(worker, event)
            if reusable and worker.generation == self._generation and not self._closed:
                self._idle.append(worker)
            else:
                await self._retire(worker)
            return result

    async def warm(self) -> bool:
        """Start one worker ahead of the first invocation; True if the handler loaded."""
        worker = await self._checkout()
        if isinstance(worker, InvocationFailed):
            return False
        self._idle.append(worker)
        return True

    async def reload(self) -> None:
        """Forget every loaded copy of the code; the next invocation imports it afresh."""
        self._generation += 1
        idle, self._idle = self._idle, []
        for worker in idle:
            await self._retire(worker)

    async def close(self) -> None:
        """Kill every worker, busy or not; later invocations fail."""
        self._closed = True
        self._idle = []
        workers = list(self._workers)
        await asyncio.gather(*(self._retire(w) for w in workers))
        await asyncio.gather(*(w.log_pump for w in workers if w.log_pump is not None))

    async def _checkout(self) -> _Worker | InvocationFailed:
        while self._idle:
            worker = self._idle.pop()
            if worker.alive:
                return worker
            await self._retire(worker)
        return await self._spawn()

    async def _spawn(self) -> _Worker | InvocationFailed:
        self.cold_starts += 1
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            str(_WORKER),
            str(self.config.code_dir),
            self.config.handler,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._environment,
            cwd=str(self.config.code_dir),
            limit=_CHANNEL_LIMIT,
            start_new_session=True,  # Ctrl-C in `make dev` is the emulator's to handle
        )
        worker = _Worker(process, self._generation)
        worker.log_pump = asyncio.get_running_loop().create_task(self._pump_log(process))
        self._pumps.add(worker.log_pump)  # a strong reference until the worker's log ends
        worker.log_pump.add_done_callback(self._pumps.discard)
        self._workers.add(worker)
        try:
            ready = await worker.read(self.config.init_timeout_s)
        except TimeoutError:
            await self._retire(worker)
            return InvocationFailed(
                "Runtime.InitTimeout",
                f"init phase exceeded {self.config.init_timeout_s:.2f} seconds",
            )
        if ready is None or not ready.get("ready"):
            await self._retire(worker)
            error = ready or {"errorType": "Runtime.ExitError", "errorMessage": "exited in init"}
            log.warning("%s failed to load: %s", self.config.handler, error.get("errorMessage", ""))
            return InvocationFailed(str(error.get("errorType")), str(error.get("errorMessage", "")))
        return worker

    async def _run(
        self, worker: _Worker, event: Mapping[str, Any]
    ) -> tuple[InvocationResult, bool]:
        request_id = str(uuid.uuid4())
        timeout_s = self.config.timeout_s
        try:
            await worker.write(
                {"event": event, "requestId": request_id, "timeoutMs": int(timeout_s * 1000)}
            )
            reply = await worker.read(timeout_s)
        except TimeoutError:
            log.warning("invocation %s timed out after %.2f s", request_id, timeout_s)
            return InvocationFailed(
                "Sandbox.Timedout",
                f"RequestId: {request_id} Error: Task timed out after {timeout_s:.2f} seconds",
            ), False
        except (ConnectionError, ValueError) as exc:
            reply = None
            log.warning("invocation %s lost its worker: %s", request_id, exc)
        if reply is None:
            await worker.exited(_EXIT_GRACE_S)
            return InvocationFailed(
                "Runtime.ExitError",
                f"RequestId: {request_id} Error: Runtime exited with error: "
                f"exit status {worker.process.returncode}",
            ), False
        if reply.get("ok"):
            return InvocationOk(reply.get("result")), True
        log.info(
            "invocation %s failed: %s: %s",
            request_id,
            reply.get("errorType"),
            reply.get("errorMessage"),
        )
        return InvocationFailed(
            str(reply.get("errorType")), str(reply.get("errorMessage", ""))
        ), True

    async def _pump_log(self, process: asyncio.subprocess.Process) -> None:
        """Forward the function's log (its stderr and prints) to ``logging``, line by line."""
        if process.stderr is None:
            return
        while line := await process.stderr.readline():
            self._function_log.info("%s", line.decode("utf-8", "replace").rstrip())

    async def _retire(self, worker: _Worker) -> None:
        self._workers.discard(worker)
        if worker.process.stdin is not None:
            worker.process.stdin.close()
        await worker.kill()
