"""The local Lambda runtime: loading, environment, context, timeouts, crashes, concurrency."""

from __future__ import annotations

import asyncio
import os
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest

from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.responses import InvocationFailed, InvocationOk
from local_stack.emulator.lambda_runtime import FunctionSettings, LambdaRuntime
from tests.local_stack.support import REPO_ROOT

T = TypeVar("T")

FUNCTIONS = """
import json, os, sys, time

def env(event, context):
    return {name: os.environ.get(name) for name in event["names"]}

def context_of(event, context):
    return {
        "aws_request_id": context.aws_request_id,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "invoked_function_arn": context.invoked_function_arn,
        "log_group_name": context.log_group_name,
        "remaining": context.get_remaining_time_in_millis(),
        "cwd": os.getcwd(),
        "path0": sys.path[0],
    }

def sleep(event, context):
    time.sleep(event["seconds"])
    return {"remaining": context.get_remaining_time_in_millis(), "pid": os.getpid()}

def chatty(event, context):
    print("this goes to the log, not the channel")
    sys.stdout.write("{not json\\n")
    return "fine"

def unserialisable(event, context):
    return {1, 2}

def raises(event, context):
    raise ValueError("bad input: " + str(event))

def exits(event, context):
    sys.exit(4)

def pid(event, context):
    return os.getpid()

def announced_sleep(event, context):
    open(os.path.join(event["dir"], str(os.getpid())), "w").close()
    time.sleep(event["seconds"])
"""


def run(work: Callable[[LambdaRuntime], Awaitable[T]], config: FunctionSettings) -> T:
    """Run ``work`` with a runtime for ``config`` on a fresh event loop; close it after."""

    async def main() -> T:
        runtime = LambdaRuntime(config)
        try:
            return await work(runtime)
        finally:
            await runtime.close()

    return asyncio.run(main())


@pytest.fixture
def code_dir(tmp_path: Path) -> Path:
    """A function package ``fn`` with the handlers above."""
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "__init__.py").write_text("")
    (tmp_path / "fn" / "handlers.py").write_text(FUNCTIONS)
    return tmp_path


def config(code_dir: Path, name: str, **overrides: Any) -> FunctionSettings:
    return FunctionSettings(handler=f"fn.handlers.{name}", code_dir=code_dir, **overrides)


def test_function_sees_its_environment_and_nothing_of_the_callers(
    code_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The worker's environment is Lambda's plus the function's; the caller's does not leak."""
    monkeypatch.setenv("CALLER_SECRET", "do-not-leak")
    monkeypatch.setenv("AWS_PROFILE", "real-account")
    names = [
        "CALLER_SECRET",
        "AWS_PROFILE",
        "TABLE_NAME",
        "AWS_REGION",
        "AWS_ACCESS_KEY_ID",
        "AWS_CONFIG_FILE",
        "AWS_LAMBDA_FUNCTION_NAME",
        "LAMBDA_TASK_ROOT",
        "_HANDLER",
    ]
    cfg = config(code_dir, "env", environment={"TABLE_NAME": "t1"}, region="eu-west-1")
    result = run(lambda rt: rt.invoke({"names": names}), cfg)
    assert isinstance(result, InvocationOk)
    env = result.payload
    assert env["CALLER_SECRET"] is None
    assert env["AWS_PROFILE"] is None
    assert env["TABLE_NAME"] == "t1"
    assert env["AWS_REGION"] == "eu-west-1"
    assert env["AWS_ACCESS_KEY_ID"] == "testing"
    assert env["AWS_CONFIG_FILE"] == os.devnull
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "awsome-chat-local"
    assert env["LAMBDA_TASK_ROOT"] == str(code_dir)
    assert env["_HANDLER"] == "fn.handlers.env"
    assert "CALLER_SECRET" not in LambdaRuntime(cfg).environment
    assert os.environ["CALLER_SECRET"] == "do-not-leak"  # and the caller's is untouched


def test_context_is_lambda_like(code_dir: Path) -> None:
    """The context has Lambda's attributes; remaining time counts down from the timeout."""
    cfg = config(code_dir, "context_of", timeout_s=3.0, memory_mb=256, function_name="chat-fn")
    result = run(lambda rt: rt.invoke({}), cfg)
    assert isinstance(result, InvocationOk)
    ctx = result.payload
    assert len(ctx["aws_request_id"]) == 36
    assert ctx["function_name"] == "chat-fn"
    assert ctx["function_version"] == "$LATEST"
    assert ctx["memory_limit_in_mb"] == "256"  # a string, as in the real runtime
    assert ctx["invoked_function_arn"].endswith(":function:chat-fn")
    assert ctx["log_group_name"] == "/aws/lambda/chat-fn"
    assert 2500 < ctx["remaining"] <= 3000
    assert ctx["cwd"] == str(code_dir)
    assert ctx["path0"] == str(code_dir)


def test_remaining_time_shrinks_during_an_invocation(code_dir: Path) -> None:
    """get_remaining_time_in_millis() honours the configured timeout as time passes."""
    result = run(lambda rt: rt.invoke({"seconds": 0.5}), config(code_dir, "sleep", timeout_s=2))
    assert isinstance(result, InvocationOk)
    assert 1300 < result.payload["remaining"] <= 1550


def test_timeout_kills_the_worker_and_the_next_invocation_works(code_dir: Path) -> None:
    """An invocation past the timeout fails as Sandbox.Timedout; a fresh worker serves next."""

    async def work(runtime: LambdaRuntime) -> tuple[Any, Any, float]:
        started = time.monotonic()
        slow = await runtime.invoke({"seconds": 30})
        elapsed = time.monotonic() - started
        fast = await runtime.invoke({"seconds": 0})
        return slow, fast, elapsed

    slow, fast, elapsed = run(work, config(code_dir, "sleep", timeout_s=0.5))
    assert isinstance(slow, InvocationFailed)
    assert slow.error_type == "Sandbox.Timedout"
    assert "0.50 seconds" in slow.message
    assert 0.45 <= elapsed < 3
    assert isinstance(fast, InvocationOk)


def test_exceptions_exits_and_bad_results_are_failed_invocations(code_dir: Path) -> None:
    """A raise, sys.exit and an unserialisable result each fail one invocation only."""

    async def work(runtime: LambdaRuntime) -> list[Any]:
        return [await runtime.invoke({"n": 1}) for _ in range(2)]

    raised = run(work, config(code_dir, "raises"))
    assert all(isinstance(r, InvocationFailed) for r in raised)
    assert raised[0].error_type == "ValueError"
    assert raised[0].message == "bad input: {'n': 1}"
    exited = run(work, config(code_dir, "exits"))
    assert [r.error_type for r in exited] == ["Runtime.ExitError"] * 2
    assert all(r.message.endswith("exit status 4") for r in exited), exited
    bad = run(work, config(code_dir, "unserialisable"))
    assert [r.error_type for r in bad] == ["Runtime.MarshalError"] * 2


def test_handler_output_does_not_corrupt_the_channel(code_dir: Path) -> None:
    """Whatever the handler prints goes to the log, not into the runtime's channel."""
    result = run(lambda rt: rt.invoke({}), config(code_dir, "chatty"))
    assert result == InvocationOk("fine")


@pytest.mark.parametrize(
    ("handler", "error_type", "fragment"),
    [
        ("fn.missing.handler", "Runtime.ImportModuleError", "Unable to import module 'fn.missing'"),
        ("fn.handlers.nope", "Runtime.HandlerNotFound", "Handler 'nope' missing"),
        ("handler", "Runtime.MalformedHandlerName", "Bad handler"),
    ],
)
def test_load_failures_are_reported_per_invocation(
    code_dir: Path, handler: str, error_type: str, fragment: str
) -> None:
    """A handler that cannot be loaded fails each invocation with Lambda's init error."""
    cfg = FunctionSettings(handler=handler, code_dir=code_dir)

    async def work(runtime: LambdaRuntime) -> tuple[bool, Any]:
        return await runtime.warm(), await runtime.invoke({})

    warmed, result = run(work, cfg)
    assert warmed is False
    assert isinstance(result, InvocationFailed)
    assert result.error_type == error_type
    assert fragment in result.message


def test_module_that_raises_on_import_is_an_import_error() -> None:
    """A module that raises while importing is Runtime.ImportModuleError, not a crash."""
    repo = REPO_ROOT
    cfg = FunctionSettings(handler="tests.local_stack.broken_handler.handler", code_dir=repo)
    result = run(lambda rt: rt.invoke({}), cfg)
    assert isinstance(result, InvocationFailed)
    assert result.error_type == "Runtime.ImportModuleError"
    assert "broken on purpose" in result.message


def test_concurrent_invocations_run_in_parallel_up_to_the_limit(code_dir: Path) -> None:
    """Three 0.6 s invocations take about 0.6 s with concurrency 3 and 1.8 s with 1."""

    async def three(runtime: LambdaRuntime) -> tuple[float, set[int]]:
        # Start the workers first, so that cold starts are not part of the timing.
        await asyncio.gather(*(runtime.invoke({"seconds": 0.3}) for _ in range(3)))
        started = time.monotonic()
        results = await asyncio.gather(*(runtime.invoke({"seconds": 0.6}) for _ in range(3)))
        pids = {r.payload["pid"] for r in results if isinstance(r, InvocationOk)}
        return time.monotonic() - started, pids

    parallel, pids = run(three, config(code_dir, "sleep", concurrency=3))
    serial, one_pid = run(three, config(code_dir, "sleep", concurrency=1))
    assert len(pids) == 3
    assert parallel < 1.5
    assert len(one_pid) == 1
    assert serial >= 1.8


def test_warm_workers_are_reused(code_dir: Path) -> None:
    """Sequential invocations reuse one warm worker (one cold start)."""

    async def work(runtime: LambdaRuntime) -> tuple[set[Any], int]:
        results = [await runtime.invoke({}) for _ in range(5)]
        return {r.payload for r in results if isinstance(r, InvocationOk)}, runtime.cold_starts

    pids, cold_starts = run(work, config(code_dir, "pid"))
    assert len(pids) == 1
    assert cold_starts == 1


def test_reload_picks_up_edited_code(tmp_path: Path) -> None:
    """After reload(), the next invocation runs the edited module; before, the loaded one."""
    module = tmp_path / "editable.py"
    module.write_text("def handler(event, context):\n    return 'v1'\n")
    cfg = FunctionSettings(handler="editable.handler", code_dir=tmp_path)

    async def work(runtime: LambdaRuntime) -> list[Any]:
        seen = [await runtime.invoke({})]
        module.write_text("def handler(event, context):\n    return 'v2'\n")
        seen.append(await runtime.invoke({}))  # still the warm copy
        await runtime.reload()
        seen.append(await runtime.invoke({}))
        return seen

    assert run(work, cfg) == [InvocationOk("v1"), InvocationOk("v1"), InvocationOk("v2")]


def test_reload_recovers_from_a_broken_edit(tmp_path: Path) -> None:
    """A syntax error fails invocations until the code is fixed; no restart needed."""
    module = tmp_path / "editable.py"
    module.write_text("def handler(event, context):\n    return 'ok'\n")
    cfg = FunctionSettings(handler="editable.handler", code_dir=tmp_path)

    async def work(runtime: LambdaRuntime) -> list[str]:
        module.write_text("def handler(event, context) oops\n")
        await runtime.reload()
        broken = await runtime.invoke({})
        module.write_text(textwrap.dedent("def handler(event, context):\n    return 'fixed'\n"))
        await runtime.reload()
        fixed = await runtime.invoke({})
        return [type(broken).__name__, str(getattr(fixed, "payload", fixed))]

    assert run(work, cfg) == ["InvocationFailed", "fixed"]


def test_close_kills_every_worker(code_dir: Path) -> None:
    """After close(), no worker process is left and invocations fail cleanly."""

    async def work(runtime: LambdaRuntime) -> tuple[list[int], Any]:
        results = await asyncio.gather(*(runtime.invoke({}) for _ in range(3)))
        pids = [r.payload for r in results if isinstance(r, InvocationOk)]
        await runtime.close()
        return pids, await runtime.invoke({})

    pids, after = run(work, config(code_dir, "pid", concurrency=3))
    assert len(pids) == 3
    assert isinstance(after, InvocationFailed)
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_close_during_invocations_reports_each_workers_own_exit(
    code_dir: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """close() with every worker busy fails each invocation with its worker's exit by SIGKILL.

    The invocations used to kill their worker a second time; the kill's poll could reap it
    before asyncio's child watcher, which then reported 255 and warned of an "Unknown child
    process" (the fan-out benchmark's stack log, when it stopped during $connects)."""
    cfg = config(code_dir, "announced_sleep", concurrency=8)

    async def closed_while_busy(round_: int) -> list[Any]:
        started = tmp_path / f"round-{round_}"
        started.mkdir()
        runtime = LambdaRuntime(cfg)
        event = {"dir": str(started), "seconds": 10}
        busy = [asyncio.ensure_future(runtime.invoke(event)) for _ in range(8)]
        while len(list(started.iterdir())) < len(busy):
            await asyncio.sleep(0.05)
        await runtime.close()
        return list(await asyncio.gather(*busy))

    async def rounds() -> list[Any]:
        return [result for n in range(2) for result in await closed_while_busy(n)]

    results = asyncio.run(rounds())
    assert [r.message.rpartition(" ")[2] for r in results] == ["-9"] * 16
    assert "Unknown child process" not in caplog.text


def test_bad_configuration_is_refused(tmp_path: Path) -> None:
    """A missing code directory or an impossible limit fails at configuration."""
    with pytest.raises(EmulatorConfigError, match="code directory"):
        FunctionSettings(code_dir=tmp_path / "absent")
    with pytest.raises(EmulatorConfigError, match="timeouts"):
        FunctionSettings(code_dir=tmp_path, timeout_s=0)
    with pytest.raises(EmulatorConfigError, match="concurrency"):
        FunctionSettings(code_dir=tmp_path, concurrency=0)
