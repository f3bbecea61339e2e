"""The rig: the local stack and the WebSocket clients the broadcasts reach, and the contenders
(the backend's sender, the previous one, the boto3 reference) broadcasting through the real
``chat.broadcast.broadcast``, taking turns, measured."""

from __future__ import annotations

import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from bench.aws import local_session
from bench.boto3_sender import boto3_pool
from bench.children import Child
from bench.measure import (
    Stopwatch,
    boto3_connections_opened,
    kernel_tcp_opens,
    median,
    passive_opens_since,
)
from bench.paths import use_backend
from bench.threaded_sender import threaded_pool

use_backend()

from chat.broadcast import broadcast  # noqa: E402
from chat.connections import ConnectionId  # noqa: E402
from chat.delivery import BroadcastStats  # noqa: E402
from chat.frames import message_frame  # noqa: E402
from chat.gateway import Sender  # noqa: E402
from chat.signed_sender import SenderPool  # noqa: E402

_DELIVERY_TIMEOUT_S: Final = 60.0


class _CountingPruner:
    """The broadcaster's ``Pruner``: every recipient is connected, so nothing should be pruned."""

    def __init__(self) -> None:
        self.deleted = 0

    def prune(self, connection_id: ConnectionId, connected_before_ms: int) -> bool:
        self.deleted += 1
        return True


@dataclass
class Rig:
    """The stack, the clients and what the runs share."""

    stack: Child
    clients: Child
    endpoint: str
    ids: list[ConnectionId]
    payload: bytes
    tls_endpoint: str | None = None
    trust: ssl.SSLContext | None = None
    received: int = 0
    log: list[str] = field(default_factory=list)

    def emulator(self) -> tuple[int, float]:
        answer = self.stack.ask("counters")
        return int(answer["counters"].get("posts", 0)), float(answer["cpu_s"])

    def wait_delivered(self, expected_new: int) -> int:
        """Wait until the clients got ``expected_new`` more frames; return how many they got."""
        target = self.received + expected_new
        deadline = time.monotonic() + _DELIVERY_TIMEOUT_S
        got = self.received
        while time.monotonic() < deadline:
            got = int(self.clients.ask("received")["received"])
            if got >= target:
                break
            time.sleep(0.05)
        new, self.received = got - self.received, got
        return new


@dataclass
class Contender:
    """One way to post: the backend's sender or the boto3 reference."""

    name: str
    protocol: str
    sender: Sender
    connections: Callable[[], int | None]
    """TCP connections the sender has opened so far (None if unknown)."""
    close: Callable[[], None]
    runs: list[dict[str, Any]] = field(default_factory=list)


def _one_run(
    rig: Rig, recipients: Sequence[ConnectionId], contender: Contender, concurrency: int
) -> dict[str, Any]:
    """One broadcast to ``recipients`` through the real ``broadcast``, measured."""
    pruner = _CountingPruner()
    posts_before, emulator_cpu_before = rig.emulator()
    opened_before = contender.connections()
    kernel_before = kernel_tcp_opens()
    with Stopwatch() as watch:
        stats = broadcast(
            rig.payload, recipients, contender.sender, pruner, concurrency=concurrency
        )
    accepted = passive_opens_since(kernel_before)
    opened_after = contender.connections()
    delivered = rig.wait_delivered(len(recipients))
    posts_after, emulator_cpu_after = rig.emulator()
    posts = posts_after - posts_before
    return {
        "wall_s": watch.span.wall_s,
        "cpu_s": watch.span.cpu_s,
        "stats": _stats(stats),
        "pruned": pruner.deleted,
        "frames_received": delivered,
        "tcp_opened": None
        if opened_before is None or opened_after is None
        else opened_after - opened_before,
        "tcp_accepted_kernel": accepted,
        "emulator_cpu_ms_per_post": (emulator_cpu_after - emulator_cpu_before)
        / max(posts, 1)
        * 1000,
    }


def compare(
    rig: Rig,
    recipients: Sequence[ConnectionId],
    contenders: Sequence[Contender],
    *,
    concurrency: int,
    repeats: int,
) -> list[dict[str, Any]]:
    """Broadcast ``repeats`` times with each contender, taking turns, so that both meet the
    same moments of a busy machine; one summary row per contender."""
    for _ in range(repeats):
        for contender in contenders:
            contender.runs.append(_one_run(rig, recipients, contender, concurrency))
    for contender in contenders:
        contender.close()
    return [_summary(contender, len(recipients), concurrency) for contender in contenders]


def _summary(contender: Contender, size: int, concurrency: int) -> dict[str, Any]:
    runs = contender.runs
    walls = [run["wall_s"] for run in runs]
    cpus = [run["cpu_s"] for run in runs]
    return {
        "sender": contender.name,
        "protocol": contender.protocol,
        "recipients": size,
        "concurrency": concurrency,
        "repeats": len(runs),
        "wall_s": median(walls),
        "wall_s_runs": walls,
        "cpu_ms_per_recipient": median(cpus) / size * 1000,
        "wall_s_first_run": walls[0],
        "tcp_opened_first_run": runs[0]["tcp_opened"],
        "tcp_opened_later_runs": _sum_or_none([run["tcp_opened"] for run in runs[1:]]),
        "tcp_accepted_kernel_first_run": runs[0]["tcp_accepted_kernel"],
        "delivered": min(run["stats"]["delivered"] for run in runs),
        "failed": max(run["stats"]["failed"] for run in runs),
        "frames_received_min": min(run["frames_received"] for run in runs),
        "emulator_cpu_ms_per_post": median([run["emulator_cpu_ms_per_post"] for run in runs]),
        "runs": runs,
    }


def _sum_or_none(values: Sequence[int | None]) -> int | None:
    if any(value is None for value in values):
        return None
    return sum(value for value in values if value is not None)


def _stats(stats: BroadcastStats) -> dict[str, int]:
    return {
        "delivered": stats.delivered,
        "pruned": stats.pruned,
        "retried": stats.retried,
        "failed": stats.failed,
    }


def fresh_contenders(
    rig: Rig, concurrency: int, *, reference: bool, previous: bool = True, tls: bool = True
) -> list[Contender]:
    """Fresh senders (new pools: they open their connections on first use): the backend's
    (first), the previous backend sender, over HTTP and HTTPS, and the boto3 reference."""
    endpoints = [("http", rig.endpoint)]
    if tls and rig.tls_endpoint is not None:
        endpoints.append(("https", rig.tls_endpoint))
    found: list[Contender] = []
    for protocol, endpoint in endpoints:
        pools = [("backend", SenderPool.from_session)]
        if previous:
            pools.append(("previous", threaded_pool))
        for name, make_pool in pools:
            sender = make_pool(
                local_session(), concurrency=concurrency, ssl_context=rig.trust
            ).sender_for(endpoint)
            found.append(
                Contender(
                    name,
                    protocol,
                    sender,
                    lambda sender=sender: getattr(sender, "opened", None),  # type: ignore[misc]
                    getattr(sender, "close", lambda: None),
                )
            )
    if reference:
        boto3 = boto3_pool(local_session(), concurrency=concurrency)
        client = getattr(boto3.sender_for(rig.endpoint), "_client", None)  # to count its TCP
        found.append(
            Contender(
                "boto3",
                "http",
                boto3.sender_for(rig.endpoint),
                lambda: boto3_connections_opened(client),
                lambda: client.close() if client is not None else None,
            )
        )
    return found


def payload() -> bytes:
    return message_frame(
        message_id="01JDQ7ZK3V8Y6W4T2R1P0N9M8K",
        room="bench",
        sender="alice",
        text="The benchmark's message: about the size of a short chat line, forty-odd words.",
        sent_at="2026-11-25T12:34:56.789Z",
    )
