"""Benchmark 7, a cold container's first broadcast: the connections it must open before posting.

A fresh process (spawned, as a new Lambda sandbox is) under Lambda's CPU share for
``memory_mb`` (``bench.cpushare``) makes the Lambda's sender (``chat.signed_sender.
SignedHttpSender``, ``pool_size`` = ``FANOUT_CONCURRENCY`` as ``chat.gateway.SenderPool``
makes it) for a local HTTPS ``@connections`` endpoint (``bench.tls``'s certificate, trusted by
a verifying context; keep-alive; each post answered after ``delay_ms``), and runs
``chat.broadcast.broadcast`` twice in a row: the first broadcast opens its connections (TCP and
a TLS handshake each), the second finds them open. Two cases:

- ``direct``: the sending invocation's path, ``direct`` recipients, no pacing;
- ``worker``: a delivery worker's job, ``worker`` recipients (one shard of a 10,000-member
  room), paced by ``chat.jobs.DeliverySettings.worker_pace``.

Printed per case: each broadcast's wall and CPU time and the connections it opened. The bound:
a broadcast has at most ``FANOUT_CONCURRENCY`` posts in flight, each on a connection of its
own (``chat.flight.SelectorFlight.start`` opens one only for a post that finds none idle), so
a cold one opens at most that many; each costs the function the CPU measured here per
connection (the cold broadcast's extra CPU over the warm one, per connection opened), so the
function's own share of a cold broadcast's extra time is at most ``FANOUT_CONCURRENCY`` x that
CPU / the CPU share. The rest of the extra wall time is the endpoint's side of the handshakes:
here one Python process on the same shared cores (API Gateway's fleet makes them in parallel)
and the loopback's round trips (2 for TCP and TLS 1.3, about 1 ms each in one region).
"""

from __future__ import annotations

import http.server
import multiprocessing
import socketserver
import ssl
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from bench.cpushare import CpuShareUnavailable, cpu_share, lambda_share
from bench.measure import Target
from bench.paths import use_backend
from bench.tls import Certificate, local_certificate

use_backend()

from botocore.credentials import ReadOnlyCredentials  # noqa: E402
from chat.broadcast import broadcast  # noqa: E402
from chat.config import DEFAULT_FANOUT_CONCURRENCY  # noqa: E402
from chat.connections import ConnectionId  # noqa: E402
from chat.jobs import DeliverySettings  # noqa: E402
from chat.signed_sender import SignedHttpSender  # noqa: E402

NAME: Final = "coldbroadcast"
_FRAME: Final = b'{"type":"message","id":"01ARZ3NDEKTSV4RRFFQ69G5FAV","text":"hello"}'
_REGION: Final = "eu-west-1"


@dataclass(frozen=True)
class ColdBroadcastConfig:
    """The cases' sizes, the simulated round trip and the memory size."""

    direct: int = 1000
    worker: int = 1250
    delay_ms: float = 20.0
    memory_mb: int = 512
    concurrency: int = DEFAULT_FANOUT_CONCURRENCY


class _Endpoint(http.server.BaseHTTPRequestHandler):
    """``@connections``: 200 after the delay, keep-alive."""

    protocol_version = "HTTP/1.1"
    delay_s = 0.02

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        time.sleep(self.delay_s)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        """Quiet."""


class _TlsServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    """One thread per connection, its TLS handshake made there (never one after another)."""

    daemon_threads = True
    request_queue_size = 1024  # listen()'s backlog: 5 would drop SYNs (a 1 s retransmission)
    context: ssl.SSLContext
    accepted = 0

    def finish_request(self, request: Any, client_address: Any) -> None:
        self.accepted += 1
        try:
            tls = self.context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        super().finish_request(tls, client_address)


@contextmanager
def _endpoint(certificate: Certificate, delay_s: float) -> Iterator[_TlsServer]:
    handler = type("Endpoint", (_Endpoint,), {"delay_s": delay_s})
    server = _TlsServer(("127.0.0.1", 0), handler)
    server.context = certificate.server_context()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _twice(
    endpoint: str, cert_dir: str, size: int, paced: bool, plan: tuple[int, int]
) -> dict[str, Any]:
    """In a fresh process: two broadcasts through one new sender, under the CPU share."""
    memory_mb, concurrency = plan
    credentials = ReadOnlyCredentials("AKID", "secret", None)
    sender = SignedHttpSender(
        endpoint,
        lambda: credentials,
        _REGION,
        pool_size=concurrency,
        ssl_context=Certificate.in_directory(Path(cert_dir)).trusting(),
    )
    ids = [ConnectionId(f"c{i:07d}=") for i in range(size)]

    class NoPrune:
        def prune(self, connection_id: ConnectionId, connected_before_ms: int) -> bool:
            return True

    runs: list[dict[str, Any]] = []
    quota = True
    try:
        share = cpu_share(lambda_share(memory_mb), name="awsome-chat-bench-cold")
        share.__enter__()
    except CpuShareUnavailable:
        quota, share = False, None
    try:
        for _ in range(2):
            pace = DeliverySettings().worker_pace() if paced else None
            opened = sender.opened
            wall, cpu = time.perf_counter(), time.process_time()
            stats = broadcast(_FRAME, ids, sender, NoPrune(), concurrency=concurrency, pace=pace)
            runs.append(
                {
                    "wall_s": time.perf_counter() - wall,
                    "cpu_s": time.process_time() - cpu,
                    "opened": sender.opened - opened,
                    "delivered": stats.delivered,
                }
            )
    finally:
        if share is not None:
            share.__exit__(None, None, None)
    return {"cold": runs[0], "warm": runs[1], "quota": quota}


def run(config: ColdBroadcastConfig, say: Callable[[str], None]) -> dict[str, Any]:
    """Both cases, each in a fresh process; JSON-able results."""
    context = multiprocessing.get_context("spawn")
    cases: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="awsome-chat-cold-") as directory:
        certificate = local_certificate(Path(directory))
        with _endpoint(certificate, config.delay_ms / 1000) as server:
            endpoint = f"https://127.0.0.1:{server.server_address[1]}/prod"
            for case, size, paced in (
                ("direct", config.direct, False),
                ("worker", config.worker, True),
            ):
                with context.Pool(1) as pool:
                    result = pool.apply(
                        _twice,
                        (endpoint, directory, size, paced, (config.memory_mb, config.concurrency)),
                    )
                result["size"] = size
                cold, warm = result["cold"], result["warm"]
                extra_cpu = max(0.0, cold["cpu_s"] - warm["cpu_s"])
                result["handshake_cpu_ms"] = extra_cpu / max(1, cold["opened"]) * 1000
                result["bound_s"] = (
                    config.concurrency
                    * result["handshake_cpu_ms"]
                    / 1000
                    / lambda_share(config.memory_mb)
                )
                cases[case] = result
                say(describe(case, result))
    return {
        "memory_mb": config.memory_mb,
        "concurrency": config.concurrency,
        "delay_ms": config.delay_ms,
        "cases": cases,
    }


def describe(case: str, r: dict[str, Any]) -> str:
    """One case as a line."""
    cold, warm = r["cold"], r["warm"]
    return (
        f"cold {case} broadcast to {r['size']:,}: first {cold['wall_s']:.2f} s "
        f"({cold['cpu_s'] * 1000:.0f} ms CPU, {cold['opened']} connections opened), second "
        f"{warm['wall_s']:.2f} s ({warm['cpu_s'] * 1000:.0f} ms CPU, {warm['opened']} opened); "
        f"{r['handshake_cpu_ms']:.1f} ms CPU per connection opened, so the function's own "
        f"handshakes add at most {r['bound_s']:.2f} s; delivered {cold['delivered']}, "
        f"{warm['delivered']}; CPU quota {'applied' if r['quota'] else 'NOT applied'}"
    )


def targets(results: dict[str, Any]) -> list[Target]:
    """A cold broadcast opens at most ``FANOUT_CONCURRENCY`` connections; nothing lost."""
    found: list[Target] = []
    for case, r in results["cases"].items():
        opened = r["cold"]["opened"]
        found.append(
            Target(
                NAME,
                f"{case}, {r['size']:,}: connections a cold broadcast opens",
                f"at most {results['concurrency']} (FANOUT_CONCURRENCY)",
                str(opened),
                opened <= results["concurrency"],
            )
        )
        lost = 2 * r["size"] - r["cold"]["delivered"] - r["warm"]["delivered"]
        found.append(Target(NAME, f"{case}, {r['size']:,}: lost", "0", str(lost), lost == 0))
    return found
