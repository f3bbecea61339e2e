"""One Lambda execution environment: a child process that loads the handler and runs invocations.

``lambda_runtime`` starts it as ``python -I lambda_worker.py <code_dir> <module.function>`` with
exactly the function's environment, so nothing of the emulator's process leaks in: only the code
directory (first on ``sys.path``, also the working directory, like ``/var/task``) and the
interpreter's site-packages (boto3, as the Lambda runtime provides). Standard library only.

Protocol, one JSON document per line:

- worker -> runtime, once: ``{"ready": true}``, or ``{"ready": false, "errorType", "errorMessage"}``
  and exit (an init failure, retried by the next invocation as Lambda does);
- runtime -> worker: ``{"event": ..., "requestId": ..., "timeoutMs": ...}``;
- worker -> runtime: ``{"ok": true, "result": ...}``, or
  ``{"ok": false, "errorType", "errorMessage"}``.

The handler's own stdout is redirected to stderr (its log, as Lambda ships it to CloudWatch), so
a ``print()`` in the handler cannot corrupt the channel.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import IO, Any

Handler = Callable[[Any, Any], Any]


class LambdaContext:
    """The context object of the Python runtime (awslambdaric's ``LambdaContext``)."""

    def __init__(self, request_id: str, timeout_ms: int) -> None:
        env = os.environ
        region = env.get("AWS_REGION", "us-east-1")
        self.aws_request_id = request_id
        self.function_name = env.get("AWS_LAMBDA_FUNCTION_NAME", "function")
        self.function_version = env.get("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        # A string, as in the real runtime (it reads AWS_LAMBDA_FUNCTION_MEMORY_SIZE as is).
        self.memory_limit_in_mb = env.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        self.invoked_function_arn = (
            f"arn:aws:lambda:{region}:000000000000:function:{self.function_name}"
        )
        self.log_group_name = env.get("AWS_LAMBDA_LOG_GROUP_NAME", "")
        self.log_stream_name = env.get("AWS_LAMBDA_LOG_STREAM_NAME", "")
        self.identity = None
        self.client_context = None
        self._deadline = time.monotonic() + timeout_ms / 1000

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the configured timeout ends this invocation."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


def load_handler(spec: str) -> tuple[Handler | None, dict[str, str] | None]:
    """Import ``package.module.function``; returns the function, or Lambda's init error."""
    module_name, _, function_name = spec.rpartition(".")
    if not module_name:
        return None, {
            "errorType": "Runtime.MalformedHandlerName",
            "errorMessage": f"Bad handler '{spec}': not enough values to unpack",
        }
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # any import failure is the function's, not ours
        traceback.print_exc()
        return None, {
            "errorType": "Runtime.ImportModuleError",
            "errorMessage": f"Unable to import module '{module_name}': {exc}",
        }
    handler = getattr(module, function_name, None)
    if not callable(handler):
        return None, {
            "errorType": "Runtime.HandlerNotFound",
            "errorMessage": f"Handler '{function_name}' missing on module '{module_name}'",
        }
    return handler, None


def invoke(handler: Handler, request: dict[str, Any]) -> dict[str, Any]:
    """Run one invocation; every outcome becomes a reply, never an exception."""
    context = LambdaContext(str(request["requestId"]), int(request["timeoutMs"]))
    try:
        result = handler(request["event"], context)
    except Exception as exc:
        print(f"[ERROR] {type(exc).__name__}: {exc}", file=sys.stderr)
        traceback.print_exc()
        return {"ok": False, "errorType": type(exc).__name__, "errorMessage": str(exc)}
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        return {
            "ok": False,
            "errorType": "Runtime.MarshalError",
            "errorMessage": f"Unable to marshal response: {exc}",
        }
    return {"ok": True, "result": result}


def _send(channel: IO[str], message: dict[str, Any]) -> None:
    channel.write(json.dumps(message) + "\n")
    channel.flush()


def main(argv: list[str]) -> int:
    """Serve invocations until the runtime closes stdin."""
    code_dir, spec = argv[1], argv[2]
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the handler's prints go to the log, not the channel
    sys.dont_write_bytecode = True  # leave the code directory as it was
    sys.path.insert(0, code_dir)
    os.chdir(code_dir)
    handler, init_error = load_handler(spec)
    if handler is None:
        _send(channel, {"ready": False, **(init_error or {})})
        return 1
    _send(channel, {"ready": True})
    for line in sys.stdin.buffer:
        _send(channel, invoke(handler, json.loads(line)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
