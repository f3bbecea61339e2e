"""Benchmark: big rooms through the delivery workers against a simulated endpoint.

    python -m bench.workers [--sizes 1000 10000 100000] [--delay-ms 20]   # alone
    python -m bench --only workers                                      # in the report

What runs is the product's code: the sending invocation is ``chat.usecases.rooms.tell_room``
with a ``chat.jobs.RoomJobs`` (it reads the room up to the threshold, posts the sender's copy and
splits the delivery into one job per shard); each job is then given to a worker process, which
calls ``chat.handler.handle`` with the SQS event the event source mapping would send, and the
handler's worker path (``chat.usecases.deliver``) posts through ``chat.broadcast.broadcast``
paced by ``chat.jobs.DeliverySettings.worker_pace`` at the default pacing
(``DELIVERY_POST_RATE`` / ``DELIVERY_MAX_CONCURRENCY`` after a burst of ``DELIVERY_BURST_S`` of
it).

What is simulated: ``@connections`` (``SimulatedEndpoint``: each post takes ``--delay-ms``, as
API Gateway's round trip would, and is counted with its time), the room index (the members of
each shard, made in advance: DynamoDB's pages are not part of the measure) and the queue (jobs
are handed to the workers at once: SQS's and the mapping's latency, tens of milliseconds, are
not part of the measure). Each worker process, and the sending side, runs under the CPU quota
Lambda gives ``--memory-mb`` (``bench.cpushare``) when the machine allows it; the output says
whether it did.

Printed per size: time from the send to the last delivery against the floor N / 10,000 s (the
default account rate), the sending invocation's time, deliveries counted (nothing lost), and
the workers' CPU seconds and GB-seconds per 1,000 deliveries.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

from bench.cpushare import CpuShareUnavailable, cpu_share, gb_seconds, lambda_share
from bench.measure import Target
from bench.paths import use_backend

use_backend()

from chat.broadcast import Broadcaster  # noqa: E402
from chat.config import Settings  # noqa: E402
from chat.connections import ConnectionId, MemberList, RoomMember  # noqa: E402
from chat.errors import DeliveryFailed  # noqa: E402
from chat.handler import handle  # noqa: E402
from chat.jobs import DeliverySettings, Job, RoomJobs  # noqa: E402
from chat.logs import LOGGER_NAME  # noqa: E402
from chat.room_shards import room_shards, shard_number  # noqa: E402
from chat.runtime import Runtime  # noqa: E402
from chat.usecases.rooms import tell_room  # noqa: E402

NAME: Final = "workers"
ACCOUNT_RATE: Final = 10_000  # API Gateway's default account rate, requests a second
ROOM: Final = "bench"
ENDPOINT: Final = "https://bench.execute-api.eu-west-1.amazonaws.com/prod"
FRAME: Final = b'{"type":"message","id":"01ARZ3NDEKTSV4RRFFQ69G5FAV","text":"hello"}'
SETTINGS: Final = Settings(table_name="connections", messages_table_name="messages")


@dataclass(frozen=True)
class WorkersConfig:
    """Room sizes, the simulated round trip, the workers' memory size and the post rate."""

    sizes: tuple[int, ...] = (1000, 10_000, 100_000)
    delay_ms: float = 20.0
    memory_mb: int = 512
    rate: int = DeliverySettings().post_rate


class SimulatedEndpoint:
    """``@connections`` as a ``MultiplexingSender`` (the Lambda's ``SignedHttpSender`` is one,
    so the worker runs the same one-thread dispatcher): each post takes ``delay_s``; counts
    and times them."""

    def __init__(self, delay_s: float) -> None:
        self.delay_s = delay_s
        self.delivered = 0
        self.last_at = 0.0
        self._lock = threading.Lock()

    def landed(self) -> None:
        """Count one delivery, now."""
        with self._lock:
            self.delivered += 1
            self.last_at = time.time()

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        time.sleep(self.delay_s)
        self.landed()

    def delete_connection(self, connection_id: ConnectionId) -> None:
        """Never called by the workers."""

    @contextlib.contextmanager
    def flight(self) -> Iterator[SimulatedFlight]:
        yield SimulatedFlight(self)


class SimulatedFlight:
    """A ``chat.gateway.Flight`` whose every post lands ``delay_s`` after it started."""

    def __init__(self, endpoint: SimulatedEndpoint) -> None:
        self._endpoint = endpoint
        self._due: list[tuple[float, int]] = []  # (lands at, ticket): a heap
        self._tickets = itertools.count()

    @property
    def in_flight(self) -> int:
        return len(self._due)

    def start(self, connection_id: ConnectionId, data: bytes, method: str = "POST") -> int:
        ticket = next(self._tickets)
        heapq.heappush(self._due, (time.monotonic() + self._endpoint.delay_s, ticket))
        return ticket

    def wait(self, timeout: float | None) -> list[tuple[int, DeliveryFailed | None]]:
        if not self._due:
            if timeout:
                time.sleep(timeout)
            return []
        pause = self._due[0][0] - time.monotonic()
        if timeout is not None:
            pause = min(pause, timeout)
        if pause > 0:
            time.sleep(pause)
        now = time.monotonic()
        landed: list[tuple[int, DeliveryFailed | None]] = []
        while self._due and self._due[0][0] <= now:
            landed.append((heapq.heappop(self._due)[1], None))
            self._endpoint.landed()
        return landed


class RoomOf:
    """The room index as the code reads it: its members, by shard."""

    def __init__(self, ids: list[str]) -> None:
        self.ids = ids

    def members(self, room: str, now_s: int) -> Iterator[RoomMember]:
        for cid in self.ids:
            yield RoomMember(ConnectionId(cid), cid, 0)

    def list_members(self, room: str, now_s: int, limit: int) -> MemberList:
        """At most ``limit`` + 1 entries read, as the table's bounded read (``tell_room``'s
        decision between the direct path and the workers)."""
        read = [RoomMember(ConnectionId(cid), cid, 0) for cid in self.ids[: limit + 1]]
        return MemberList(tuple(read[:limit]), complete=len(read) <= limit)

    def shard_members(self, shards: list[str], now_s: int) -> Iterator[RoomMember]:
        wanted = {int(s.rsplit("#", 1)[1]) for s in shards}
        for cid in self.ids:
            if shard_number(cid) in wanted:
                yield RoomMember(ConnectionId(cid), cid, 0)

    def prune(self, connection_id: ConnectionId, connected_before_ms: int) -> bool:
        return True


def _runtime(store: Any, sender: SimulatedEndpoint, delivery: DeliverySettings) -> Runtime:
    return Runtime(
        settings=SETTINGS,
        store=store,
        messages=None,  # type: ignore[arg-type]  # a worker reads no message
        sender_for=lambda _endpoint: sender,
        new_id=lambda: "x",
        delivery=delivery,
    )


@contextlib.contextmanager
def _quota(memory_mb: int) -> Iterator[bool]:
    """Lambda's CPU share for ``memory_mb``, if the machine allows; yields whether it applied."""
    try:
        with cpu_share(lambda_share(memory_mb), name="awsome-chat-bench-workers"):
            yield True
    except CpuShareUnavailable:
        yield False


def _worker(
    job_body: str, ids: list[str], delay_s: float, plan: tuple[int, int, int]
) -> dict[str, Any]:
    """One worker invocation, in its own process under its CPU quota; ``plan`` is (memory
    MB, all workers' post rate, most workers)."""
    memory_mb, rate, workers = plan
    entered = time.time()
    logging.getLogger(LOGGER_NAME).setLevel(logging.WARNING)  # the report sums the jobs up
    store = RoomOf(ids)
    sender = SimulatedEndpoint(delay_s)
    delivery = DeliverySettings(post_rate=rate, max_concurrency=workers)
    event = {"Records": [{"messageId": "m", "eventSource": "aws:sqs", "body": job_body}]}
    with _quota(memory_mb) as quota:
        wall, cpu = time.perf_counter(), time.process_time()
        answer = handle(event, None, runtime_factory=lambda: _runtime(store, sender, delivery))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {
        "delivered": sender.delivered,
        "last_at": sender.last_at,
        "entered_at": entered,
        "members": len(ids),
        "wall_s": wall,
        "cpu_s": cpu,
        "failed": len(answer.get("batchItemFailures", [])),
        "quota": quota,
    }


def _warm(memory_mb: int) -> float:
    """Import this module (the chat's code with it) in a pool process, as a warm container has."""
    return lambda_share(memory_mb)


def measure(
    size: int, pool: ProcessPoolExecutor, *, delay_s: float, memory_mb: int, rate: int
) -> dict[str, Any]:
    """One message to a room of ``size`` through the workers."""
    ids = [f"conn-{i:07d}=" for i in range(size)]
    by_shard: dict[str, list[str]] = {s: [] for s in room_shards(ROOM)}
    for cid in ids:
        by_shard[f"{ROOM}#{shard_number(cid)}"].append(cid)
    workers = len(by_shard)
    jobs: list[Job] = []

    class Collect:
        def send(self, batch: list[Job]) -> None:
            jobs.extend(batch)

    sender = SimulatedEndpoint(delay_s)
    broadcaster = Broadcaster(
        sender,
        RoomOf(ids),  # type: ignore[arg-type]  # the part a broadcast uses: prune
        concurrency=128,
        jobs=RoomJobs(Collect(), 0, ENDPOINT),
    )
    started = time.time()
    with _quota(memory_mb) as quota:
        wall = time.perf_counter()
        tell_room(
            ConnectionId(ids[0]),
            ROOM,
            FRAME,
            store=RoomOf(ids),  # type: ignore[arg-type]
            broadcaster=broadcaster,
            settings=SETTINGS,
            now_ms=int(started * 1000),
        )
        sending_s = time.perf_counter() - wall
    futures = [
        pool.submit(_worker, job.body(), by_shard[job.shard], delay_s, (memory_mb, rate, workers))
        for job in jobs
    ]
    results = [f.result() for f in futures]
    delivered = sender.delivered + sum(r["delivered"] for r in results)
    last = max([sender.last_at, *(r["last_at"] for r in results)])
    cpu = sum(r["cpu_s"] for r in results)
    delivery = DeliverySettings(post_rate=rate, max_concurrency=workers)
    # Where the time goes: the biggest shard's pacing (its posts after the burst, at the
    # worker's rate, plus the last post's own delay) against what the slowest worker took.
    paced = [
        max(0.0, r["members"] - delivery.worker_burst) / delivery.worker_rate + delay_s
        for r in results
    ]
    worker_gb_s = sum(gb_seconds(memory_mb, r["wall_s"]) for r in results)
    return {
        "size": size,
        "jobs": len(jobs),
        "delivered": delivered,
        "lost": size - delivered,
        "failed_jobs": sum(r["failed"] for r in results),
        "to_last_delivery_s": last - started,
        "floor_s": size / ACCOUNT_RATE,
        "sending_s": sending_s,
        "cpu_s_per_1000": cpu / size * 1000,
        "gb_s_per_1000": worker_gb_s / size * 1000,
        "quota": quota and all(r["quota"] for r in results),
        "biggest_shard": max(r["members"] for r in results),
        "even_shard": size / workers,
        "pacing_s": max(paced),
        "start_lag_s": max(r["entered_at"] for r in results) - started,
        "overrun_s": max(r["wall_s"] - p for r, p in zip(results, paced, strict=True)),
    }


def describe(r: dict[str, Any]) -> str:
    """One size's figures, and where its time went, as two lines."""
    return (
        f"N={r['size']:>7}: last delivery {r['to_last_delivery_s']:.2f} s "
        f"(floor N/10,000 = {r['floor_s']:.2f} s, x{r['to_last_delivery_s'] / r['floor_s']:.2f}); "
        f"sending invocation {r['sending_s'] * 1000:.0f} ms; delivered {r['delivered']} "
        f"(lost {r['lost']}, failed jobs {r['failed_jobs']}, jobs {r['jobs']}); "
        f"workers {r['cpu_s_per_1000']:.3f} CPU-s and {r['gb_s_per_1000']:.3f} GB-s "
        f"per 1,000; CPU quota {'applied' if r['quota'] else 'NOT applied'}\n"
        f"  where the time goes: biggest shard {r['biggest_shard']} members (even "
        f"{r['even_shard']:.0f}); its pacing after the burst {r['pacing_s']:.2f} s; "
        f"last worker started {r['start_lag_s'] * 1000:.0f} ms after the send; "
        f"a worker's most time beyond its pacing {r['overrun_s'] * 1000:.0f} ms"
    )


def run(config: WorkersConfig, say: Callable[[str], None]) -> dict[str, Any]:
    """Every size of ``config`` through the workers; JSON-able results."""
    context = multiprocessing.get_context("spawn")
    shards = len(room_shards(ROOM))
    rows: list[dict[str, Any]] = []
    with ProcessPoolExecutor(max_workers=shards, mp_context=context) as pool:
        list(pool.map(_warm, [config.memory_mb] * shards))
        for size in config.sizes:
            row = measure(
                size,
                pool,
                delay_s=config.delay_ms / 1000,
                memory_mb=config.memory_mb,
                rate=config.rate,
            )
            say(describe(row))
            rows.append(row)
    delivery = DeliverySettings(post_rate=config.rate, max_concurrency=shards)
    return {
        "delay_ms": config.delay_ms,
        "memory_mb": config.memory_mb,
        "post_rate": config.rate,
        "worker_rate": delivery.worker_rate,
        "worker_burst": delivery.worker_burst,
        "rows": rows,
    }


GOALS: Final = {10_000: 2.0, 100_000: 13.0}
"""Seconds to the last delivery the issue asks for, by room size."""


def targets(results: dict[str, Any]) -> list[Target]:
    """Nothing lost; the sending invocation within 1 s; 10,000 within 2 s, 100,000 within 13 s."""
    found: list[Target] = []
    for r in results["rows"]:
        size = f"{r['size']:,}"
        found.append(Target(NAME, f"{size}: lost", "0", str(r["lost"]), r["lost"] == 0))
        found.append(
            Target(
                NAME,
                f"{size}: sending invocation",
                "within 1 s",
                f"{r['sending_s'] * 1000:.0f} ms",
                r["sending_s"] <= 1.0,
            )
        )
        goal = GOALS.get(r["size"])
        if goal is not None:
            found.append(
                Target(
                    NAME,
                    f"{size}: last delivery",
                    f"within {goal:g} s",
                    f"{r['to_last_delivery_s']:.2f} s",
                    r["to_last_delivery_s"] <= goal,
                )
            )
    return found


def main() -> None:
    """Parse the arguments, run the sizes, print two lines each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=list(WorkersConfig.sizes))
    parser.add_argument("--delay-ms", type=float, default=WorkersConfig.delay_ms)
    parser.add_argument("--memory-mb", type=int, default=WorkersConfig.memory_mb)
    parser.add_argument("--rate", type=int, default=WorkersConfig.rate)
    args = parser.parse_args()
    config = WorkersConfig(tuple(args.sizes), args.delay_ms, args.memory_mb, args.rate)
    run(config, lambda line: print(line, flush=True))


if __name__ == "__main__":
    main()
