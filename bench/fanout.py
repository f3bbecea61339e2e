"""Benchmark 1, fan-out: the backend's broadcast path against a sequential loop.

The backend's real path: ``chat.broadcast.broadcast`` with the sender that
``chat.gateway.SenderPool.from_session`` builds (the Lambda's: SigV4-signed HTTP posts over
pooled keep-alive connections, ``FANOUT_CONCURRENCY`` in flight), posting to the local stack's
``@connections`` endpoint, which waits ``delay_s`` per call as API Gateway's round trip would.
The recipients are real WebSocket clients in another process, each connected through
``$connect`` of the real handler; every post becomes a frame they receive and count.

Beside it, taking turns with it: the same ``broadcast`` with the previous backend sender
(``bench.threaded_sender``: ``http.client``, one blocking post per thread) over HTTP and over
HTTPS (the stack's second, TLS port, its certificate made at start and trusted by a verifying
context), and with the boto3 reference sender (``bench.boto3_sender.boto3_pool``: a
``post_to_connection`` per recipient), which the backend used before this benchmark showed it
CPU-bound.

Lambda's CPU share: the backend's broadcast over HTTPS again, with this process under a cgroup
CPU quota equal to the share Lambda gives each memory size (``bench.cpushare``), for several
``FANOUT_CONCURRENCY`` settings; wall time, GB-seconds and dollars per broadcast.

The baseline is the loop of AWS's Python WebSocket chat example: one ``post_to_connection``
after another with a default boto3 client. It takes ``size * delay_s`` seconds, so it is
measured in full up to ``sequential_full_max`` recipients and extrapolated beyond (per-post time
of the largest full measurement times the size), and the results say which.

The stack (emulator, Lambda workers, moto) and the clients run in processes of their own:
``time.process_time()`` here counts the broadcasting side only (all its threads).
"""

from __future__ import annotations

import resource
import ssl
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from botocore.exceptions import ClientError

from bench.aws import local_session
from bench.boto3_sender import boto3_pool
from bench.children import Child
from bench.cpushare import (
    ARM64_USD_PER_GB_S,
    CpuShareUnavailable,
    check_available,
    cpu_share,
    gb_seconds,
    lambda_share,
    measured_share,
    usd,
)
from bench.measure import (
    Stopwatch,
    Target,
    boto3_connections_opened,
    kernel_tcp_opens,
    median,
    passive_opens_since,
)
from bench.paths import use_backend
from bench.threaded_sender import threaded_pool
from bench.tls import Certificate

use_backend()

from chat.broadcast import broadcast  # noqa: E402
from chat.config import DEFAULT_FANOUT_CONCURRENCY, MAX_ROOM_MAX_MEMBERS, EnvVar  # noqa: E402
from chat.connections import ConnectionId  # noqa: E402
from chat.delivery import BroadcastStats  # noqa: E402
from chat.frames import message_frame  # noqa: E402
from chat.gateway import Sender  # noqa: E402
from chat.signed_sender import SenderPool  # noqa: E402

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
    tls: bool = True
    """Also post over HTTPS (both backend senders), the way the Lambda posts."""
    share_memory: tuple[int, ...] = (512, 1024, 1769)
    """Lambda memory sizes (MB) whose CPU share the broadcast is run under; () skips it."""
    share_sizes: tuple[int, ...] = (100, 1000, 5000)
    share_concurrency: tuple[int, ...] = (32, 64, 128)
    share_repeats: int = 2
    share_target_s: float = 1.0
    """A setting is fit if ``reference_size`` recipients take at most this under its share."""
    integration_timeout_s: float = 29.0
    """API Gateway's integration timeout: ``large_size`` recipients must fit in it at the
    smallest memory size."""


class _CountingPruner:
    """The broadcaster's ``Pruner``: every recipient is connected, so nothing should be pruned."""

    def __init__(self) -> None:
        self.deleted = 0

    def prune(self, connection_id: ConnectionId, connected_before_ms: int) -> bool:
        self.deleted += 1
        return True


@dataclass
class _Rig:
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
class _Contender:
    """One way to post: the backend's sender or the boto3 reference."""

    name: str
    protocol: str
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


def _contenders(
    rig: _Rig, concurrency: int, *, reference: bool, previous: bool = True, tls: bool = True
) -> list[_Contender]:
    """Fresh senders (new pools: they open their connections on first use): the backend's
    (first), the previous backend sender, over HTTP and HTTPS, and the boto3 reference."""
    endpoints = [("http", rig.endpoint)]
    if tls and rig.tls_endpoint is not None:
        endpoints.append(("https", rig.tls_endpoint))
    found: list[_Contender] = []
    for protocol, endpoint in endpoints:
        pools = [("backend", SenderPool.from_session)]
        if previous:
            pools.append(("previous", threaded_pool))
        for name, make_pool in pools:
            sender = make_pool(
                local_session(), concurrency=concurrency, ssl_context=rig.trust
            ).sender_for(endpoint)
            found.append(
                _Contender(
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
            _Contender(
                "boto3",
                "http",
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
    with tempfile.TemporaryDirectory(prefix="bench-tls-") as tls_dir:
        tls = ["--tls-dir", tls_dir] if config.tls else []
        with Child(
            "bench.stack_process",
            # Every client is one address, and an address holds at most a quarter of a room:
            # the room's cap at its maximum lets one address fill the benchmark's room.
            [
                "--delay",
                str(config.delay_s),
                "--environment",
                f"{EnvVar.ROOM_MAX_MEMBERS.value}={MAX_ROOM_MAX_MEMBERS}",
                *tls,
            ],
            log_path=logs / "fanout-stack.log",
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
                    raise RuntimeError(
                        f"expected {largest} open connections, the stack has {len(ids)}"
                    )
                rig = _Rig(
                    stack,
                    clients,
                    str(stack.hello["management_endpoint"]),
                    ids,
                    _payload(),
                    tls_endpoint=stack.hello.get("management_tls_endpoint"),
                    trust=Certificate.in_directory(Path(tls_dir)).trusting()
                    if config.tls
                    else None,
                )
                results = _run_all(config, rig, say)
                results["clients_open_s"] = clients.hello["seconds"]
                stack.stop()  # first: the stack closes sockets without a $disconnect storm
    return results


def _run_all(config: FanoutConfig, rig: _Rig, say: Callable[[str], None]) -> dict[str, Any]:
    rows: list[dict[str, Any]] = []
    reference_rows: list[dict[str, Any]] = []
    transport: list[dict[str, Any]] = []
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
        reference_rows.extend(row for row in measured if row["sender"] == "boto3")
        transport.extend(row for row in measured if row["sender"] != "boto3")
        say(
            f"fan-out: {size} recipients: "
            + ", ".join(
                f"{row['sender']} ({row['protocol']}) {row['wall_s']:.3f} s, "
                f"{row['cpu_ms_per_recipient']:.3f} ms CPU per recipient"
                for row in measured
            )
        )

    sweep: list[dict[str, Any]] = []
    for concurrency in config.sweep:
        sweep += _compare(
            rig,
            rig.ids[: config.sweep_size],
            _contenders(rig, concurrency, reference=config.reference, previous=False, tls=False),
            concurrency=concurrency,
            repeats=config.sweep_repeats,
        )
        say(f"fan-out: concurrency {concurrency} at {config.sweep_size} recipients done")

    share = _under_lambda_shares(config, rig, say)

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
        "transport": transport,
        "sweep": sweep,
        "sweep_size": config.sweep_size,
        "share": share,
        "floor_s": {
            str(size): _floor(size, config.concurrency, config.delay_s) for size in config.sizes
        },
    }


def _under_lambda_shares(
    config: FanoutConfig, rig: _Rig, say: Callable[[str], None]
) -> dict[str, Any]:
    """The backend's broadcast over HTTPS (HTTP without TLS) with this process under each
    memory size's CPU share; ``{"skipped": why}`` where no cgroup can be made."""
    if not config.share_memory:
        return {"skipped": "not asked for"}
    try:
        check_available()
    except CpuShareUnavailable as error:
        say(f"fan-out: SKIPPED the Lambda CPU share runs: {error}")
        return {"skipped": str(error)}
    protocol = "https" if config.tls and rig.tls_endpoint is not None else "http"
    rows: list[dict[str, Any]] = []
    sizes = [size for size in config.share_sizes if size <= len(rig.ids)]
    largest = max(sizes, default=0)
    for memory in config.share_memory:
        share = lambda_share(memory)
        try:
            with cpu_share(share):
                before = measured_share()
                for concurrency in config.share_concurrency:
                    for size in sizes:
                        contender = _contenders(
                            rig, concurrency, reference=False, previous=False, tls=config.tls
                        )[-1]
                        # One broadcast more than asked: the first opens the connections
                        # (TLS handshakes), the figure is the warm ones', as in a warm Lambda.
                        repeats = 1 + (1 if size == largest else config.share_repeats)
                        row = _compare(
                            rig,
                            rig.ids[:size],
                            [contender],
                            concurrency=concurrency,
                            repeats=repeats,
                        )[0]
                        rows.append(_priced(row, memory, share))
                after = measured_share()
        except CpuShareUnavailable as error:
            say(f"fan-out: SKIPPED the Lambda CPU share runs: {error}")
            return {"skipped": str(error), "rows": rows}
        for row in rows:
            if row["memory_mb"] == memory:
                row["measured_share"] = [before, after]
        say(
            f"fan-out: {memory} MB share {share:.3f} vCPU (measured {before:.3f}, {after:.3f}) done"
        )
    return {
        "protocol": protocol,
        "rows": rows,
        "usd_per_gb_s": ARM64_USD_PER_GB_S,
        "cheapest": cheapest_setting(rows, config.reference_size, config.share_target_s),
        "target_size": config.reference_size,
        "target_s": config.share_target_s,
    }


def _priced(row: dict[str, Any], memory: int, share: float) -> dict[str, Any]:
    warm = median(row["wall_s_runs"][1:]) if len(row["wall_s_runs"]) > 1 else row["wall_s"]
    warm_cpu = median([run["cpu_s"] for run in row["runs"][1:]]) if len(row["runs"]) > 1 else None
    return {
        **row,
        "wall_s": warm,
        "cpu_ms_per_recipient": row["cpu_ms_per_recipient"]
        if warm_cpu is None
        else warm_cpu / row["recipients"] * 1000,
        "memory_mb": memory,
        "share": share,
        "gb_s": gb_seconds(memory, warm),
        "usd": usd(memory, warm),
    }


def cheapest_setting(
    rows: Sequence[dict[str, Any]], size: int, target_s: float
) -> dict[str, Any] | None:
    """The row of ``size`` recipients within ``target_s`` that costs the least per broadcast
    (ties: the smaller memory, then the smaller concurrency), or ``None`` if none fits."""
    fit = [row for row in rows if row["recipients"] == size and row["wall_s"] <= target_s]
    if not fit:
        return None
    best = min(fit, key=lambda row: (row["gb_s"], row["memory_mb"], row["concurrency"]))
    return {key: best[key] for key in ("memory_mb", "concurrency", "wall_s", "gb_s", "usd")}


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
    found += _transport_targets(results, size)
    found += _share_targets(results, config)
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


def _transport_targets(results: dict[str, Any], size: int) -> list[Target]:
    rows = {
        (row["sender"], row["protocol"]): row
        for row in results.get("transport", [])
        if row["recipients"] == size
    }
    backend, previous = rows.get(("backend", "https")), rows.get(("previous", "https"))
    if backend is None or previous is None:
        return []
    ratio = backend["cpu_ms_per_recipient"] / previous["cpu_ms_per_recipient"]
    return [
        Target(
            NAME,
            f"CPU per recipient over HTTPS, {size} recipients, vs the previous sender",
            "<= 0.5x",
            f"{ratio:.2f}x ({backend['cpu_ms_per_recipient']:.3f} vs "
            f"{previous['cpu_ms_per_recipient']:.3f} ms)",
            ratio <= 0.5,
        )
    ]


def _share_targets(results: dict[str, Any], config: FanoutConfig) -> list[Target]:
    share = results.get("share", {})
    rows = share.get("rows", [])
    if "skipped" in share or not rows:
        return []
    found: list[Target] = []
    at_1024 = [
        row
        for row in rows
        if row["memory_mb"] == 1024 and row["recipients"] == config.reference_size
    ]
    if at_1024:
        best = min(at_1024, key=lambda row: row["wall_s"])
        found.append(
            Target(
                NAME,
                f"{config.reference_size} recipients under the 1,024 MB share (best concurrency)",
                f"<= {config.share_target_s:g} s",
                f"{best['wall_s']:.3f} s at {best['concurrency']}",
                best["wall_s"] <= config.share_target_s,
            )
        )
    smallest = min(row["memory_mb"] for row in rows)
    large = [
        row
        for row in rows
        if row["memory_mb"] == smallest and row["recipients"] == config.large_size
    ]
    if large:
        best = min(large, key=lambda row: row["wall_s"])
        lost = best["recipients"] - min(best["delivered"], best["frames_received_min"])
        found.append(
            Target(
                NAME,
                f"{config.large_size} recipients under the {smallest} MB share, nothing lost",
                f"<= {config.integration_timeout_s:g} s, 0 lost",
                f"{best['wall_s']:.3f} s at {best['concurrency']}, {lost} lost",
                best["wall_s"] <= config.integration_timeout_s and lost == 0,
            )
        )
    return found
