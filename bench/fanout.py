"""Benchmark 1, fan-out: the backend's broadcast path against a sequential loop.

The backend's real path: ``chat.broadcast.broadcast`` with the sender that
``chat.gateway.SenderPool.from_session`` builds (the Lambda's: SigV4-signed HTTP posts over
pooled keep-alive connections, ``FANOUT_CONCURRENCY`` in flight), posting to the local stack's
``@connections`` endpoint, which waits ``delay_s`` per call as API Gateway's round trip would.
The recipients are real WebSocket clients in another process, each connected through
``$connect`` of the real handler; every post becomes a frame they receive and count.

Beside it, taking turns with it, the same ``broadcast`` with the boto3 reference sender
(``bench.boto3_sender.boto3_pool``: a ``post_to_connection`` per recipient), which the backend
used before this benchmark showed it CPU-bound.

The baseline is the loop of AWS's Python WebSocket chat example: one ``post_to_connection``
after another with a default boto3 client. It takes ``size * delay_s`` seconds, so it is
measured in full up to ``sequential_full_max`` recipients and extrapolated beyond (per-post time
of the largest full measurement times the size), and the results say which.

The stack (emulator, Lambda workers, moto) and the clients run in processes of their own:
``time.process_time()`` here counts the broadcasting side only (all its threads).
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from botocore.exceptions import ClientError

from bench.aws import local_session
from bench.boto3_sender import boto3_pool
from bench.children import Child
from bench.measure import (
    Stopwatch,
    Target,
    boto3_connections_opened,
    kernel_tcp_opens,
    median,
    passive_opens_since,
)
from bench.paths import use_backend

use_backend()

from chat.broadcast import BroadcastStats, broadcast  # noqa: E402
from chat.config import DEFAULT_FANOUT_CONCURRENCY  # noqa: E402
from chat.connections import ConnectionId  # noqa: E402
from chat.gateway import Sender, SenderPool  # noqa: E402
from chat.protocol import message_frame  # noqa: E402

NAME: Final = "fanout"
_DELIVERY_TIMEOUT_S: Final = 60.0
_SPARE_FILES: Final = 1024  # beyond one socket per connection: logs, pipes, HTTP pools


@dataclass(frozen=True)
class FanoutConfig:
    """Sizes and settings of the fan-out benchmark."""

    sizes: tuple[int, ...] = (100, 1000, 5000)
    delay_s: float = 0.02
    concurrency: int = DEFAULT_FANOUT_CONCURRENCY
    repeats: int = 3
    sequential_full_max: int = 1000
    """The sequential loop is measured in full up to this size, and extrapolated beyond."""
    sweep: tuple[int, ...] = (16, 32, 64, 128)
    """Concurrency settings tried at ``sweep_size`` recipients (both senders)."""
    sweep_size: int = 1000
    sweep_repeats: int = 2
    reference: bool = True
    """Also run the boto3 reference sender, taking turns with the backend's."""
    reference_size: int = 1000
    """The size the absolute targets are stated for."""
    large_size: int = 5000
    """The size linearity is checked at, against ``reference_size``."""


class _CountingPruner:
    """The broadcaster's ``Pruner``: every recipient is connected, so nothing should be pruned."""

    def __init__(self) -> None:
        self.deleted = 0

    def delete(self, connection_id: ConnectionId) -> None:
        self.deleted += 1


@dataclass
class _Rig:
    """The stack, the clients and what the runs share."""

    stack: Child
    clients: Child
    endpoint: str
    ids: list[ConnectionId]
    payload: bytes
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
class _Contender:
    """One way to post: the backend's sender or the boto3 reference."""

    name: str
    sender: Sender
    connections: Callable[[], int | None]
    """TCP connections the sender has opened so far (None if unknown)."""
    close: Callable[[], None]
    runs: list[dict[str, Any]] = field(default_factory=list)


def _one_run(
    rig: _Rig, recipients: Sequence[ConnectionId], contender: _Contender, concurrency: int
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


def _compare(
    rig: _Rig,
    recipients: Sequence[ConnectionId],
    contenders: Sequence[_Contender],
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


def _summary(contender: _Contender, size: int, concurrency: int) -> dict[str, Any]:
    runs = contender.runs
    walls = [run["wall_s"] for run in runs]
    cpus = [run["cpu_s"] for run in runs]
    return {
        "sender": contender.name,
        "recipients": size,
        "concurrency": concurrency,
        "repeats": len(runs),
        "wall_s": median(walls),
        "wall_s_runs": walls,
        "cpu_ms_per_recipient": median(cpus) / size * 1000,
        "tcp_opened_first_run": runs[0]["tcp_opened"],
        "tcp_opened_later_runs": _sum_or_none([run["tcp_opened"] for run in runs[1:]]),
        "tcp_accepted_kernel_first_run": runs[0]["tcp_accepted_kernel"],
        "delivered": min(run["stats"]["delivered"] for run in runs),
        "failed": max(run["stats"]["failed"] for run in runs),
        "frames_received_min": min(run["frames_received"] for run in runs),
        "emulator_cpu_ms_per_post": median([run["emulator_cpu_ms_per_post"] for run in runs]),
        "runs": runs,
    }


def _sequential(rig: _Rig, recipients: Sequence[ConnectionId]) -> dict[str, Any]:
    """AWS's example loop: a default boto3 client, one ``post_to_connection`` at a time."""
    client = local_session().client("apigatewaymanagementapi", endpoint_url=rig.endpoint)
    kernel_before = kernel_tcp_opens()
    errors = 0
    with Stopwatch() as watch:
        for connection_id in recipients:
            try:
                client.post_to_connection(Data=rig.payload, ConnectionId=connection_id)
            except ClientError:
                errors += 1
    accepted = passive_opens_since(kernel_before)
    opened = boto3_connections_opened(client)
    received = rig.wait_delivered(len(recipients))
    client.close()
    return {
        "posts": len(recipients),
        "wall_s": watch.span.wall_s,
        "cpu_ms_per_recipient": watch.span.cpu_s / len(recipients) * 1000,
        "errors": errors,
        "frames_received": received,
        "tcp_opened": opened,
        "tcp_accepted_kernel": accepted,
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


def _contenders(rig: _Rig, concurrency: int, *, reference: bool) -> list[_Contender]:
    """Fresh senders (new pools: they open their connections on first use): the backend's,
    and the boto3 reference."""
    backend = SenderPool.from_session(local_session(), concurrency=concurrency).sender_for(
        rig.endpoint
    )
    found = [
        _Contender(
            "backend",
            backend,
            lambda: getattr(backend, "opened", None),
            getattr(backend, "close", lambda: None),
        )
    ]
    if reference:
        boto3 = boto3_pool(local_session(), concurrency=concurrency)
        client = getattr(boto3.sender_for(rig.endpoint), "_client", None)  # to count its TCP
        found.append(
            _Contender(
                "boto3",
                boto3.sender_for(rig.endpoint),
                lambda: boto3_connections_opened(client),
                lambda: client.close() if client is not None else None,
            )
        )
    return found


def _payload() -> bytes:
    return message_frame(
        message_id="01JDQ7ZK3V8Y6W4T2R1P0N9M8K",
        room="bench",
        sender="alice",
        text="The benchmark's message: about the size of a short chat line, forty-odd words.",
        sent_at="2026-11-25T12:34:56.789Z",
    )


def ensure_open_files(needed: int) -> int:
    """Raise this process's soft open-file limit to ``needed`` if the hard limit allows.

    The stack and the clients (children, which inherit the limit) each hold one socket per
    connection. Returns the limit now in force; raises ``RuntimeError`` saying what to do.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft >= needed:
        return soft
    if hard != resource.RLIM_INFINITY and hard < needed:
        raise RuntimeError(
            f"the fan-out needs {needed} open files per process but the hard limit is {hard}: "
            f"raise it (ulimit -Hn {needed}) or pass smaller --fanout-sizes"
        )
    resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
    return needed


def run(config: FanoutConfig, logs: Path, say: Callable[[str], None]) -> dict[str, Any]:
    """Run the fan-out benchmark; return its JSON-able results."""
    largest = max((*config.sizes, config.sweep_size if config.sweep else 0))
    ensure_open_files(largest + _SPARE_FILES)
    say(f"fan-out: starting the local stack ({config.delay_s * 1000:g} ms per @connections call)")
    with Child(
        "bench.stack_process", ["--delay", str(config.delay_s)], log_path=logs / "fanout-stack.log"
    ) as stack:
        say(f"fan-out: opening {largest} WebSocket connections through $connect")
        with Child(
            "bench.clients_process",
            [str(stack.hello["ws_url"]), str(largest)],
            log_path=logs / "fanout-clients.log",
            start_timeout_s=max(120.0, largest / 20),
        ) as clients:
            ids = [ConnectionId(cid) for cid in stack.ask("ids")["ids"]]
            if len(ids) != largest:
                raise RuntimeError(f"expected {largest} open connections, the stack has {len(ids)}")
            rig = _Rig(stack, clients, str(stack.hello["management_endpoint"]), ids, _payload())
            results = _run_all(config, rig, say)
            results["clients_open_s"] = clients.hello["seconds"]
            stack.stop()  # first: the stack closes sockets without a $disconnect storm
    return results


def _run_all(config: FanoutConfig, rig: _Rig, say: Callable[[str], None]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    reference_rows: list[dict[str, Any]] = []
    for size in config.sizes:
        contenders = _contenders(rig, config.concurrency, reference=config.reference)
        measured = _compare(
            rig,
            rig.ids[:size],
            contenders,
            concurrency=config.concurrency,
            repeats=config.repeats,
        )
        rows.append(measured[0])
        reference_rows.extend(measured[1:])
        say(
            f"fan-out: {size} recipients: "
            + ", ".join(
                f"{row['sender']} {row['wall_s']:.3f} s, "
                f"{row['cpu_ms_per_recipient']:.3f} ms CPU per recipient"
                for row in measured
            )
        )

    sweep: list[dict[str, Any]] = []
    for concurrency in config.sweep:
        sweep += _compare(
            rig,
            rig.ids[: config.sweep_size],
            _contenders(rig, concurrency, reference=config.reference),
            concurrency=concurrency,
            repeats=config.sweep_repeats,
        )
        say(f"fan-out: concurrency {concurrency} at {config.sweep_size} recipients done")

    sequential: dict[int, dict[str, Any]] = {}
    for size in sorted(config.sizes):
        if size <= config.sequential_full_max:
            say(f"fan-out: sequential baseline, {size} posts one after another")
            sequential[size] = _sequential(rig, rig.ids[:size])
    for row in rows:
        row["sequential"] = _sequential_estimate(row["recipients"], sequential)
        row["speedup"] = row["sequential"]["wall_s"] / row["wall_s"]
    for row in reference_rows:
        row["speedup"] = (
            _sequential_estimate(row["recipients"], sequential)["wall_s"] / row["wall_s"]
        )
    return {
        "delay_ms": config.delay_s * 1000,
        "concurrency": config.concurrency,
        "repeats": config.repeats,
        "sequential_full_max": config.sequential_full_max,
        "rows": rows,
        "boto3_reference": reference_rows,
        "sweep": sweep,
        "sweep_size": config.sweep_size,
        "floor_s": {
            str(size): _floor(size, config.concurrency, config.delay_s) for size in config.sizes
        },
    }


def _floor(size: int, concurrency: int, delay_s: float) -> float:
    """The wall time if posting cost nothing but the injected delay."""
    return -(-size // concurrency) * delay_s


def _sequential_estimate(size: int, measured: dict[int, dict[str, Any]]) -> dict[str, Any]:
    if size in measured:
        return {**measured[size], "how": "measured"}
    if not measured:
        return {"wall_s": float("nan"), "how": "not measured"}
    basis = max(measured)
    per_post = measured[basis]["wall_s"] / basis
    return {
        "wall_s": per_post * size,
        "cpu_ms_per_recipient": measured[basis]["cpu_ms_per_recipient"],
        "how": f"extrapolated from {basis} measured posts",
    }


def targets(results: dict[str, Any], config: FanoutConfig) -> list[Target]:
    """The issue's fan-out targets, evaluated on ``results``."""
    by_size = {row["recipients"]: row for row in results["rows"]}
    reference = by_size.get(config.reference_size) or by_size[max(by_size)]
    size = reference["recipients"]
    found = [
        Target(
            NAME,
            f"wall time, {size} recipients",
            "<= 1.0 s",
            f"{reference['wall_s']:.3f} s",
            reference["wall_s"] <= 1.0,
        ),
        Target(
            NAME,
            f"speed-up over sequential, {size} recipients",
            ">= 20x",
            f"{reference['speedup']:.1f}x",
            reference["speedup"] >= 20,
        ),
        Target(
            NAME,
            f"CPU per recipient, {size} recipients",
            "<= 0.5 ms",
            f"{reference['cpu_ms_per_recipient']:.3f} ms",
            reference["cpu_ms_per_recipient"] <= 0.5,
        ),
    ]
    large = by_size.get(config.large_size)
    if large is not None and large is not reference:
        growth = (large["wall_s"] / large["recipients"]) / (reference["wall_s"] / size)
        found.append(
            Target(
                NAME,
                f"growth {size} -> {large['recipients']} (time per recipient, ratio)",
                "about linear (<= 1.25)",
                f"{growth:.2f}",
                growth <= 1.25,
            )
        )
    return found
