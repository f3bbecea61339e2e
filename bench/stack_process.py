"""``python -m bench.stack_process``: the local stack in a process of its own.

The benchmark process then measures only its own side (``time.process_time()``); the
emulator's CPU is reported by this process. Commands: ``ids`` (the open connections),
``counters`` (the emulator's counters and this process's CPU seconds). With ``--tls-dir``
the ``@connections`` API is also served over HTTPS (``management_tls_endpoint``), with a
certificate written there for the benchmark to trust (``bench.tls``). Closing stdin stops the
stack, which closes every socket with 1001 and fires no ``$disconnect``.
"""

from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.children import serve
from bench.tls import local_certificate
from local_stack.emulator.core.faults import FaultInjection
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import CHAT_ROUTES, LIFTED_RATE_LIMITS, StackOptions, running_stack


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per @connections call")
    parser.add_argument("--lambda-concurrency", type=int, default=8)
    parser.add_argument("--environment", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument(
        "--tls-dir", type=Path, help="also serve HTTPS with a certificate made in this directory"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the stack until stdin closes."""
    args = _arguments(argv)
    logging.basicConfig(level=logging.WARNING)
    # Benchmarks send in volume on purpose: lift the per-connection rate limits.
    environment = {**LIFTED_RATE_LIMITS, **dict(item.split("=", 1) for item in args.environment)}
    options = StackOptions(
        port=0,
        emulator=EmulatorSettings(
            routes=CHAT_ROUTES,
            faults=FaultInjection(delay_s=args.delay),
            heartbeat_s=None,  # thousands of idle sockets: no pings to muddy the figures
        ),
        function=FunctionSettings(
            concurrency=args.lambda_concurrency, timeout_s=30.0, environment=environment
        ),
        site_dir=None,
        tls=None if args.tls_dir is None else local_certificate(args.tls_dir).server_context(),
    )
    with running_stack(options) as stack:

        def ids(_request: dict[str, Any]) -> dict[str, Any]:
            return {"ids": stack.open_connection_ids()}

        def counters(_request: dict[str, Any]) -> dict[str, Any]:
            return {"counters": stack.counters(), "cpu_s": time.process_time()}

        serve(
            {
                "ws_url": stack.ws_url,
                "management_endpoint": stack.management_endpoint,
                "management_tls_endpoint": stack.management_tls_endpoint,
                "dynamodb_endpoint": stack.dynamodb_endpoint,
                "table_name": stack.table_name,
                "region": stack.region,
            },
            {"ids": ids, "counters": counters},
        )


if __name__ == "__main__":
    main()
