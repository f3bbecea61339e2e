"""``make dev``: the whole chat on http://127.0.0.1:8080, reloading the handler on every edit.

    python -m local_stack.dev [--port 8080] [--host 127.0.0.1]

Starts moto's DynamoDB with the connections table, the API Gateway emulator running
``backend/`` and the site from ``frontend/``, all on one port (``--port``, else ``PORT``, else
8080). Polls ``backend/`` once a second and reloads the handler when a ``.py`` file changes;
``frontend/`` is read on every request, so a browser reload shows edits there. Ctrl-C or
SIGTERM stops everything.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from local_stack.emulator.core import EmulatorConfigError
from local_stack.stack import StackOptions, running_stack

_POLL_S = 1.0


def snapshot(code_dir: Path) -> dict[Path, int]:
    """Modification times of the Python files under ``code_dir``: cheap enough to poll."""
    return {
        path: path.stat().st_mtime_ns
        for path in code_dir.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_stack.dev", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 8080),
        help="the one port for page, WebSocket and @connections (default: $PORT or 8080)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the local stack until Ctrl-C or SIGTERM."""
    args = _arguments(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        print(f"\n{signal.Signals(signum).name}: stopping...", flush=True)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    started = time.monotonic()
    try:
        with running_stack(StackOptions(host=args.host, port=args.port)) as stack:
            print(
                f"awsome-chat is running (started in {time.monotonic() - started:.1f} s)\n"
                f"  page:        {stack.page_url}\n"
                f"  websocket:   {stack.ws_url}\n"
                f"  @connections {stack.management_endpoint}\n"
                f"  dynamodb:    {stack.dynamodb_endpoint} (table {stack.table_name})\n"
                "Edits to backend/ reload the handler. Ctrl-C stops everything.",
                flush=True,
            )
            code_dir = stack.options.function.code_dir
            seen = snapshot(code_dir)
            while not stop.wait(_POLL_S):
                current = snapshot(code_dir)
                if current != seen:
                    seen = current
                    stack.reload_handler()
                    print(
                        "backend/ changed: the handler reloads on its next invocation", flush=True
                    )
    except EmulatorConfigError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
