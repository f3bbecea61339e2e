"""Small measuring tools: timers, order statistics, TCP counters, targets."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

_SNMP: Final = Path("/proc/net/snmp")


@dataclass(frozen=True, slots=True)
class Span:
    """Wall and CPU seconds of one measured stretch of this process."""

    wall_s: float
    cpu_s: float


class Stopwatch:
    """Wall time (``perf_counter``) and this process's CPU time (``process_time``, all threads)."""

    def __enter__(self) -> Stopwatch:
        self._wall = time.perf_counter()
        self._cpu = time.process_time()
        self.span = Span(0.0, 0.0)
        return self

    def __exit__(self, *_exc: object) -> None:
        self.span = Span(time.perf_counter() - self._wall, time.process_time() - self._cpu)


def calibrate(rounds: int = 400_000) -> float:
    """CPU milliseconds of a fixed pure-Python loop: how fast this machine is right now.

    Measured before and after each benchmark, it shows when the machine slowed down (other
    work on shared cores makes every CPU-time figure larger, not only the wall times).
    """
    started = time.process_time()
    total = 0
    for value in range(rounds):
        total += value % 7
    elapsed = time.process_time() - started
    return elapsed * 1000 if total >= 0 else math.nan


def median(values: Sequence[float]) -> float:
    """The median; NaN for no values."""
    return statistics.median(values) if values else math.nan


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100), linearly interpolated between order statistics."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def kernel_tcp_opens() -> dict[str, int] | None:
    """The kernel's ``Tcp: ActiveOpens`` and ``PassiveOpens`` (this network namespace), or None.

    ``PassiveOpens`` counts connections accepted by every server here, so a delta across a
    measurement is an upper bound on what our server accepted (other processes count too).
    """
    try:
        lines = _SNMP.read_text(encoding="ascii").splitlines()
    except OSError:
        return None
    rows = [line.split() for line in lines if line.startswith("Tcp:")]
    if len(rows) < 2:
        return None
    values = dict(zip(rows[0][1:], rows[1][1:], strict=False))
    try:
        return {name: int(values[name]) for name in ("ActiveOpens", "PassiveOpens")}
    except (KeyError, ValueError):
        return None


def passive_opens_since(before: dict[str, int] | None) -> int | None:
    """How many TCP connections were accepted in this namespace since ``before``."""
    after = kernel_tcp_opens()
    if before is None or after is None:
        return None
    return after["PassiveOpens"] - before["PassiveOpens"]


def boto3_connections_opened(client: Any) -> int | None:
    """How many TCP connections a boto3 client's urllib3 pools have opened so far.

    Reads botocore's and urllib3's internals (``_endpoint.http_session._manager.pools``,
    ``num_connections``); None if they ever change shape.
    """
    try:
        pools = client._endpoint.http_session._manager.pools
        return sum(int(pools[key].num_connections) for key in pools.keys())  # noqa: SIM118
    except (AttributeError, KeyError, TypeError):
        return None


@dataclass(frozen=True, slots=True)
class Target:
    """One acceptance target and whether this run met it."""

    benchmark: str
    name: str
    goal: str
    value: str
    met: bool

    def as_json(self) -> dict[str, Any]:
        """The target as a JSON object."""
        return {
            "benchmark": self.benchmark,
            "name": self.name,
            "goal": self.goal,
            "value": self.value,
            "met": self.met,
        }
