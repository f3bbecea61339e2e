"""Benchmark 2, cold start: a fresh process importing the handler and serving its first event.

Each sample is a new ``python`` process, as a new Lambda sandbox is. The handler's code is
``build/lambda.zip`` extracted into a fresh directory (``backend/chat`` copied if the zip is
missing) and, as in Lambda, whose ``/var/task`` is read-only, nothing is written back:
``PYTHONDONTWRITEBYTECODE=1``. boto3 and botocore come precompiled, as the Lambda runtime's do.

The zip carries each module's bytecode for the runtime, Python 3.13 (``scripts/
runtime_bytecode.py``), which this machine's Python cannot load: a 3.13 ``.pyc`` is ignored by
3.11. So that the handler's modules load from bytecode here as they do on Lambda, the benchmark
compiles the zip's sources for its own interpreter, the same way (hash-checked ``.pyc`` in
``__pycache__``), before any sample; a zip built without bytecode is run as it is.

- ``ping``: import ``chat.handler``, serve a ``ping``: builds the runtime (a DynamoDB client
  and the ``@connections`` sender) and posts the ``pong`` to a local ``@connections`` sink that
  answers 200.
- ``$connect``: import, serve a ``$connect``: a DynamoDB client, then the source's connect
  counter and the admission's ``TransactWriteItems``, in moto (alice presents her key, so every
  sample is admitted).
- the floor, any boto3 handler's: import boto3, create a DynamoDB and an
  ``apigatewaymanagementapi`` client.

Two more variants explain the gap: ``floor_post``, the floor plus one post to the sink (what
any handler that answers pays for its first request), and ``ping_source``, the ``ping`` from the
sources alone, every module compiled at import (a zip without bytecode: what the bytecode saves).

Times are taken inside the process, from before the first import to the handler's return
(``in_process``), and from outside, from spawn to exit (``process``, which adds the
interpreter's own start-up to both sides). Variants are interleaved so noise hits all alike.
``python -X importtime`` gives the handler's own import time: the self times of ``chat.*``
(as deployed, and from the sources alone).
"""

from __future__ import annotations

import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench.aws import DUMMY_CREDENTIALS, ISOLATION, REGION
from bench.measure import Target, median
from bench.paths import BACKEND, LAMBDA_ZIP, use_backend
from local_stack.dynamodb import MotoServer, create_table
from scripts.build_lambda import PACKAGE, SHARED_PACKAGES

use_backend()

from chat.config import MAX_LIVE_CONNECTIONS, EnvVar  # noqa: E402
from chat.messages import TABLE_SCHEMA as MESSAGES_SCHEMA  # noqa: E402

NAME: Final = "coldstart"
_TABLE: Final = "bench-coldstart-connections"
_MESSAGES_TABLE: Final = "bench-coldstart-messages"
_MARK: Final = "BENCH-RESULT "
_CHILD_TIMEOUT_S: Final = 60.0

_HANDLER_CHILD: Final = """
import time
started = time.perf_counter()
import chat.handler
imported = time.perf_counter()
result = chat.handler.handler(EVENT, None)
served = time.perf_counter()
import json
print("MARK" + json.dumps({"init_s": imported - started, "first_event_s": served - imported,
                           "in_process_s": served - started, "cpu_s": time.process_time(),
                           "status": result["statusCode"]}))
"""

_FLOOR_CHILD: Final = """
import time
started = time.perf_counter()
import boto3
session = boto3.session.Session()
session.client("dynamodb", region_name=REGION)
session.client("apigatewaymanagementapi", endpoint_url=ENDPOINT, region_name=REGION)
served = time.perf_counter()
import json
print("MARK" + json.dumps({"in_process_s": served - started, "cpu_s": time.process_time()}))
"""

_FLOOR_POST_CHILD: Final = """
import time
started = time.perf_counter()
import boto3
session = boto3.session.Session()
session.client("dynamodb", region_name=REGION)
client = session.client("apigatewaymanagementapi", endpoint_url=ENDPOINT, region_name=REGION)
client.post_to_connection(ConnectionId="Cq3VbdUxjoECH0A=", Data=b'{"type":"pong"}')
served = time.perf_counter()
import json
print("MARK" + json.dumps({"in_process_s": served - started, "cpu_s": time.process_time()}))
"""

_CONNECTION_ID: Final = "Cq3VbdUxjoECH0A="
_NAME_KEY: Final = "bench-coldstart-key-0123456789"


def _ping_event() -> dict[str, Any]:
    return {
        "requestContext": {
            "routeKey": "ping",
            "messageId": "Cq3dKe1hjoECF2w=",
            "eventType": "MESSAGE",
            "stage": "local",
            "connectedAt": 1795610096000,
            "requestTimeEpoch": 1795610396001,
            "identity": {"sourceIp": "127.0.0.1"},
            "requestId": "Cq3dKG6bjoEFxLw=",
            "domainName": "127.0.0.1",
            "connectionId": _CONNECTION_ID,
            "apiId": "loca1stack",
        },
        "body": '{"action":"ping"}',
        "isBase64Encoded": False,
    }


def _connect_event() -> dict[str, Any]:
    return {
        "headers": {"Host": "127.0.0.1", "User-Agent": "bench"},
        # With its key, alice is admitted again by every sample (the same person coming back,
        # docs/protocol.md): without one, every sample after the first was refused with 409
        # (name taken by the first sample's item) and never reached its PutItem.
        "queryStringParameters": {"name": "alice", "room": "bench", "key": _NAME_KEY},
        "requestContext": {
            "routeKey": "$connect",
            "eventType": "CONNECT",
            "stage": "local",
            "connectedAt": 1795610096000,
            "requestTimeEpoch": 1795610096000,
            "identity": {"sourceIp": "127.0.0.1"},
            "requestId": "Cq3VbF5JDoEFwYQ=",
            "domainName": "127.0.0.1",
            "connectionId": _CONNECTION_ID,
            "apiId": "loca1stack",
        },
        "isBase64Encoded": False,
    }


@dataclass(frozen=True)
class ColdStartConfig:
    """How many fresh processes per variant."""

    repeats: int = 10
    importtime_repeats: int = 3


class _Sink(http.server.BaseHTTPRequestHandler):
    """``@connections`` that accepts every post, as API Gateway does for an open connection."""

    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.send_header("x-amzn-RequestId", "bench")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: no line per request."""


@contextmanager
def _sink() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/local"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextmanager
def _code_dirs() -> Iterator[tuple[Path, Path, str]]:
    """The function's code as Lambda runs it (loaded from bytecode when the zip carries the
    runtime's), the same sources with no bytecode at all, and what they came from."""
    with tempfile.TemporaryDirectory(prefix="bench-task-") as tmp:
        sources = Path(tmp) / "sources"
        bytecode = False
        if LAMBDA_ZIP.is_file():
            with zipfile.ZipFile(LAMBDA_ZIP) as archive:
                names = archive.namelist()
                archive.extractall(sources, [name for name in names if name.endswith(".py")])
            bytecode = any(name.endswith(".pyc") for name in names)
            origin = f"{LAMBDA_ZIP.relative_to(LAMBDA_ZIP.parents[1])} (extracted)"
        else:
            for package in (PACKAGE, *SHARED_PACKAGES):
                shutil.copytree(
                    BACKEND / package,
                    sources / package,
                    ignore=shutil.ignore_patterns("__pycache__"),
                )
            origin = "backend/chat and its shared packages (copied; build/lambda.zip not built)"
        task = sources
        if bytecode:
            task = Path(tmp) / "task"
            shutil.copytree(sources, task)
            compile_all = [sys.executable, "-m", "compileall", "-q"]
            subprocess.run(
                [*compile_all, "--invalidation-mode", "checked-hash", str(task)],
                check=True,
                timeout=60,
            )
            origin += ", its bytecode compiled for this Python as it is for the runtime"
        else:
            origin += ", no bytecode"
        yield task, sources, origin


def _environment(task: Path, endpoint: str, dynamodb: str) -> dict[str, str]:
    """A Lambda-like environment: the function's variables and nothing of the caller's."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(task),
        "PYTHONDONTWRITEBYTECODE": "1",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        **DUMMY_CREDENTIALS,
        **ISOLATION,
        "TABLE_NAME": _TABLE,
        "MESSAGES_TABLE_NAME": _MESSAGES_TABLE,
        "CONNECTIONS_ENDPOINT": endpoint,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb,
        # Every $connect sample is one connection id from one address, counted again each
        # time: lift the live-connection caps (a quarter of the room, 250 samples, remains).
        EnvVar.LIVE_CONNECTIONS_PER_ROOM.value: str(MAX_LIVE_CONNECTIONS),
        EnvVar.LIVE_CONNECTIONS_TOTAL.value: str(MAX_LIVE_CONNECTIONS),
    }


def _child(code: str, env: Mapping[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(env),
        cwd=env["PYTHONPATH"],  # the code's directory, as Lambda runs in /var/task
        capture_output=True,
        text=True,
        timeout=_CHILD_TIMEOUT_S,
        check=False,
    )
    elapsed = time.perf_counter() - started
    lines = [line for line in done.stdout.splitlines() if line.startswith(_MARK)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"cold-start child failed (exit {done.returncode}):\n{done.stderr[-2000:]}"
        )
    result: dict[str, Any] = json.loads(lines[-1][len(_MARK) :])
    result["process_s"] = elapsed
    return result


def _handler_code(event: dict[str, Any]) -> str:
    return _HANDLER_CHILD.replace("MARK", _MARK).replace("EVENT", repr(event))


def _floor_code(endpoint: str, template: str = _FLOOR_CHILD) -> str:
    return (
        template.replace("MARK", _MARK)
        .replace("REGION", repr(REGION))
        .replace("ENDPOINT", repr(endpoint))
    )


def importtime(code: str, env: Mapping[str, str]) -> dict[str, float]:
    """``python -X importtime -c code``: self and cumulative microseconds. The code is a first
    event's child, not ``import chat.handler`` alone: the handler imports a route's modules
    when it first serves it, so the import alone would leave them out."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", code],
        env=dict(env),
        cwd=env["PYTHONPATH"],  # -c puts the working directory first on sys.path
        capture_output=True,
        text=True,
        timeout=_CHILD_TIMEOUT_S,
        check=True,
    )
    return parse_importtime(done.stderr)


def parse_importtime(report: str) -> dict[str, float]:
    """Sum ``-X importtime`` lines: ``chat.*`` and ``botocore.*`` self time, boto3's and
    everything's cumulative (the handler imports botocore alone: boto3's is then 0)."""
    chat_self = 0
    botocore_self = 0
    total = 0
    boto3 = 0
    modules = 0
    for line in report.splitlines():
        if not line.startswith("import time:"):
            continue
        parts = line[len("import time:") :].split("|")
        if len(parts) != 3 or not parts[0].strip().isdigit():
            continue  # the header line
        self_us, cumulative_us = int(parts[0]), int(parts[1])
        name = parts[2].strip()
        nested = (len(parts[2]) - 1 - len(parts[2].lstrip())) // 2
        modules += 1
        if name == "chat" or name.startswith("chat."):
            chat_self += self_us
        if name == "botocore" or name.startswith("botocore."):
            botocore_self += self_us
        if name == "boto3":
            boto3 = cumulative_us
        if nested == 0:
            total += cumulative_us
    return {
        "chat_self_ms": chat_self / 1000,
        "boto3_cumulative_ms": boto3 / 1000,
        "botocore_self_ms": botocore_self / 1000,
        "total_ms": total / 1000,
        "modules": modules,
    }


def run(config: ColdStartConfig, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the cold-start benchmark; return its JSON-able results."""
    say("cold start: starting moto's DynamoDB and a @connections sink")
    with (
        MotoServer() as database,
        _sink() as endpoint,
        _code_dirs() as (task, sources, origin),
    ):
        create_table(database.endpoint, _TABLE, REGION)
        create_table(database.endpoint, _MESSAGES_TABLE, REGION, MESSAGES_SCHEMA)
        env = _environment(task, endpoint, database.endpoint)
        variants = {
            "floor": (_floor_code(endpoint), env),
            "floor_post": (_floor_code(endpoint, _FLOOR_POST_CHILD), env),
            "ping": (_handler_code(_ping_event()), env),
            "connect": (_handler_code(_connect_event()), env),
            "ping_source": (
                _handler_code(_ping_event()),
                _environment(sources, endpoint, database.endpoint),
            ),
        }
        samples: dict[str, list[dict[str, Any]]] = {name: [] for name in variants}
        for _ in range(max(1, config.repeats)):
            for name, (code, variant_env) in variants.items():
                samples[name].append(_child(code, variant_env))
        say(f"cold start: {config.repeats} fresh processes per variant done")
        repeats = range(max(1, config.importtime_repeats))
        first_connect = _handler_code(_connect_event())
        imports = [importtime(first_connect, env) for _ in repeats]
        sources_env = _environment(sources, endpoint, database.endpoint)
        imports_source = [importtime(first_connect, sources_env) for _ in repeats]
    statuses = {
        name: sorted({run["status"] for run in runs if "status" in run})
        for name, runs in samples.items()
        if name not in {"floor", "floor_post"}
    }
    summary = {name: _summary(runs) for name, runs in samples.items()}
    floor = summary["floor"]
    for name in ("floor_post", "ping", "connect", "ping_source"):
        summary[name]["ratio_in_process"] = summary[name]["in_process_s"] / floor["in_process_s"]
        summary[name]["ratio_process"] = summary[name]["process_s"] / floor["process_s"]
        summary[name]["ratio_cpu"] = summary[name]["cpu_s"] / floor["cpu_s"]
    return {
        "repeats": config.repeats,
        "code": origin,
        "python": sys.version.split()[0],
        "variants": summary,
        "statuses": statuses,
        "importtime": {key: median([sample[key] for sample in imports]) for key in imports[0]},
        "importtime_source": {
            key: median([sample[key] for sample in imports_source]) for key in imports_source[0]
        },
        "samples": samples,
    }


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    keys = sorted({key for run in runs for key in run if key != "status"})
    summary = {key: median([float(run[key]) for run in runs]) for key in keys}
    summary["in_process_s_min"] = min(float(run["in_process_s"]) for run in runs)
    return summary


def targets(results: dict[str, Any]) -> list[Target]:
    """The issue's cold-start target, for both first events."""
    found = []
    for name in ("ping", "connect"):
        ratio = results["variants"][name]["ratio_in_process"]
        found.append(
            Target(
                NAME,
                f"import + first {name} vs the boto3 floor (median, in process)",
                "<= 1.2x",
                f"{ratio:.2f}x",
                ratio <= 1.2,
            )
        )
    return found
