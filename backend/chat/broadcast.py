"""Fan-out: deliver one frame to many connections, in parallel, each failure isolated.

For each recipient, ``broadcast`` posts through a ``Sender`` and reacts to the domain errors of
``gateway.py``:

- ``ConnectionGone`` (410): the peer left without a ``$disconnect``; delete its item, carry on;
  unless it connected less than ``HANDSHAKE_GRACE_MS`` ago: then its handshake may still be
  finishing (API Gateway answers 410 until it has), so it only misses this frame.
- ``RetryableDeliveryError`` (429, 5xx, timeouts): retry with full-jitter exponential backoff
  ("Exponential Backoff And Jitter", AWS Architecture Blog), at most ``max_attempts`` in all.
- ``DeliveryForbidden`` (403): the deployment is wrong; counted and logged once, never pruned.
- ``PayloadTooLarge`` (413): counted, so the caller can tell the sender.
- anything else: counted as failed and logged; the other recipients are not affected.

A ``pace`` (``chat.pacing.TokenBucket``: the delivery workers') holds every attempt, a retry's
included, under its rate.

The Lambda's remaining time bounds everything: no attempt or backoff starts when less than
``reserve_ms`` is left, and the broadcast stops waiting for stragglers shortly before the end.

How the posts run depends on the sender. A ``MultiplexingSender`` (the Lambda's
``SignedHttpSender``) keeps up to ``concurrency`` posts in flight from this one thread
(``_Dispatcher``: backoffs are timers, stragglers at the cutoff are abandoned with their
connections); any other ``Sender`` (test fakes, the benchmarks' references) gets a pool of
``concurrency`` threads, each post blocking one (``_Courier.deliver``). Both apply the same
reactions (``_Courier.react``) and the same policy.
"""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import Enum
from heapq import heappop, heappush
from itertools import chain, count
from typing import TYPE_CHECKING, Final, Protocol

from .connections import ConnectionId, ConnectionStore
from .delivery import DEFAULT_POLICY, BroadcastStats, RetryPolicy
from .errors import (
    ConnectionGone,
    DeliveryForbidden,
    PayloadTooLarge,
    RetryableDeliveryError,
)
from .gateway import Flight, MultiplexingSender, Sender

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .jobs import RoomJobs
    from .pacing import TokenBucket

log = logging.getLogger("chat.broadcast")

# Stop waiting for in-flight posts this long before the Lambda would be killed, so the handler
# can still log and answer.
WAIT_CUTOFF_MS: Final = 250


HANDSHAKE_GRACE_MS: Final = 10_000
"""A 410 prunes only connections older than this. A post between ``$connect`` returning and the
end of the handshake gets 410 too; pruning then would leave a live client with no item (its
first action answered ``not_connected``) and invisible to its room."""


class Pruner(Protocol):
    """The part of the connection store the broadcaster needs: forgetting a gone connection."""

    def prune(self, connection_id: ConnectionId, connected_before_ms: int) -> bool:
        """Delete ``connection_id``'s item unless it connected at or after
        ``connected_before_ms``; True if it is not stored any more."""


class _Outcome(Enum):
    DELIVERED = "delivered"
    PRUNED = "pruned"
    FAILED = "failed"
    TOO_LARGE = "too_large"
    FORBIDDEN = "forbidden"
    OUT_OF_TIME = "out_of_time"
    RETRY = "retry"  # an attempt's result only, never a recipient's


class _Result:
    """One recipient's fate. A plain slotted class, not a dataclass: the decorator's generated
    code is compiled at import, which every cold start pays."""

    __slots__ = ("connection_id", "error", "outcome", "retries")

    def __init__(
        self,
        connection_id: ConnectionId,
        outcome: _Outcome,
        retries: int = 0,
        error: BaseException | None = None,
    ) -> None:
        self.connection_id = connection_id
        self.outcome = outcome
        self.retries = retries
        self.error = error


class _Deadline:
    """The Lambda's remaining time, read through ``context.get_remaining_time_in_millis``."""

    def __init__(self, remaining_ms: Callable[[], int] | None, reserve_ms: int) -> None:
        self._remaining_ms = remaining_ms
        self._reserve_ms = reserve_ms

    def allows(self, extra_s: float = 0.0) -> bool:
        """Whether an attempt may start after waiting ``extra_s`` seconds."""
        if self._remaining_ms is None:
            return True
        return self._remaining_ms() - extra_s * 1000 > self._reserve_ms

    def wait_timeout_s(self) -> float | None:
        """How long to wait for in-flight posts, or ``None`` without a deadline."""
        if self._remaining_ms is None:
            return None
        return max(0.0, (self._remaining_ms() - WAIT_CUTOFF_MS) / 1000)


def broadcast(
    payload: bytes,
    recipients: Iterable[ConnectionId],
    sender: Sender,
    store: Pruner,
    *,
    concurrency: int,
    policy: RetryPolicy = DEFAULT_POLICY,
    remaining_ms: Callable[[], int] | None = None,
    personal: Mapping[ConnectionId, bytes] | None = None,
    pace: TokenBucket | None = None,
    sleep: Callable[[float], None] = time.sleep,
    jitter: Callable[[], float] = random.random,
) -> BroadcastStats:
    """Post ``payload`` to every recipient with at most ``concurrency`` posts in flight.

    ``personal`` gives some recipients their own bytes instead (the sender's copy of a message
    carries its ``clientId``); everyone else gets the one shared ``payload``.

    ``recipients`` may be a lazy iterator (the store's paginated Query): posting starts while
    later pages are still being read. ``remaining_ms`` is the Lambda context's
    ``get_remaining_time_in_millis``; ``pace`` paces every attempt (module docstring); ``sleep``
    and ``jitter`` are injectable for tests.
    One recipient's failure never raises; only an error reading ``recipients`` does.
    """
    started = time.perf_counter()
    deadline = _Deadline(remaining_ms, policy.reserve_ms)
    courier = _Courier(
        payload,
        sender,
        store,
        policy,
        deadline,
        personal=personal or {},
        pace=pace,
        sleep=sleep,
        jitter=jitter,
    )

    iterator = iter(recipients)
    first = next(iterator, None)
    if first is None:
        return BroadcastStats()
    # The second recipient is read before anything is posted: the store's Query runs then
    # (the sender's own copy comes first and must not arrive before the room has been read).
    second = next(iterator, None)
    if isinstance(sender, MultiplexingSender):
        # One thread, every post in flight on a selector: no thread switch, no executor.
        dispatcher = _Dispatcher(
            courier, policy, deadline, concurrency=max(1, concurrency), pace=pace
        )
        ahead = (first,) if second is None else (first, second)
        unfinished = dispatcher.run(chain(ahead, iterator), sender)
        return _summarise(dispatcher.results, unfinished=unfinished, started=started)
    if second is None or concurrency <= 1:  # one recipient (a reply): no threads needed
        ids: Iterator[ConnectionId] = chain((first,), () if second is None else (second,))
        results = [courier.deliver(connection_id) for connection_id in chain(ids, iterator)]
        return _summarise(results, unfinished=0, started=started)

    # Imported here: the Lambda's sender multiplexes, so only the tests' fakes and the
    # benchmarks' references ever need a thread pool; a cold start need not load one.
    from concurrent.futures import ALL_COMPLETED, ThreadPoolExecutor, wait  # noqa: PLC0415

    executor = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fanout")
    futures: list[Future[_Result]] = []
    try:
        for connection_id in chain((first, second), iterator):
            futures.append(executor.submit(courier.deliver, connection_id))
        done, not_done = wait(futures, timeout=deadline.wait_timeout_s(), return_when=ALL_COMPLETED)
    finally:
        # Never block past the deadline on a stuck socket; queued posts are cancelled.
        executor.shutdown(wait=False, cancel_futures=True)
    return _summarise(
        [future.result() for future in done], unfinished=len(not_done), started=started
    )


@dataclass(frozen=True, slots=True)
class Broadcaster:
    """Where a route's frames go: a sender, the store to prune from, and the fan-out's limits."""

    sender: Sender
    store: ConnectionStore
    concurrency: int
    policy: RetryPolicy = DEFAULT_POLICY
    remaining_ms: Callable[[], int] | None = None
    jobs: RoomJobs | None = None
    """Where a big room's delivery goes (``chat.jobs``); ``None``: every room is direct."""

    def send(
        self,
        payload: bytes,
        recipients: Iterable[ConnectionId],
        personal: Mapping[ConnectionId, bytes] | None = None,
    ) -> BroadcastStats:
        """Deliver ``payload`` to ``recipients`` (``personal`` bytes to some) via ``broadcast``."""
        return broadcast(
            payload,
            recipients,
            self.sender,
            self.store,
            concurrency=self.concurrency,
            policy=self.policy,
            remaining_ms=self.remaining_ms,
            personal=personal,
        )


class _Job:
    """One recipient's delivery through a flight: its attempts so far and the last error."""

    __slots__ = ("attempt", "connection_id", "error")

    def __init__(self, connection_id: ConnectionId) -> None:
        self.connection_id = connection_id
        self.attempt = 1
        self.error: BaseException | None = None


class _Dispatcher:
    """``_Courier.deliver``'s rules for every recipient at once on one flight: at most
    ``concurrency`` posts in flight, backoffs and the pace's waits as timers (never a sleeping
    thread), recipients read lazily."""

    def __init__(
        self,
        courier: _Courier,
        policy: RetryPolicy,
        deadline: _Deadline,
        *,
        concurrency: int,
        pace: TokenBucket | None = None,
    ) -> None:
        self._courier = courier
        self._pace = pace
        self._policy = policy
        self._deadline = deadline
        self._concurrency = concurrency
        self.results: list[_Result] = []
        self._posting: dict[int, _Job] = {}  # ticket -> job
        self._backing_off: list[tuple[float, int, _Job]] = []  # (due, tiebreak, job): a heap
        self._order = count()

    def run(self, recipients: Iterator[ConnectionId], sender: MultiplexingSender) -> int:
        """Deliver to ``recipients``; returns how many were unfinished at the wait cutoff."""
        more = True
        with sender.flight() as flight:
            while True:
                now = time.monotonic()
                backing_off = self._backing_off
                paced = 0.0  # seconds until the pace allows the next attempt
                while backing_off and backing_off[0][0] <= now:
                    if flight.in_flight >= self._concurrency or (paced := self._paced()):
                        break
                    self._launch(flight, heappop(backing_off)[2])
                while more and flight.in_flight < self._concurrency and not paced:
                    if paced := self._paced():
                        break
                    connection_id = next(recipients, None)
                    more = connection_id is not None
                    if connection_id is not None:
                        self._launch(flight, _Job(connection_id))
                if not self._posting and not backing_off and not more:
                    return 0
                timeout = self._deadline.wait_timeout_s()
                if timeout is not None and timeout <= 0:
                    # Out of time: what is in flight is abandoned (its connections closed).
                    if more:
                        log.warning("broadcast stopped before reading every recipient")
                    return len(self._posting) + len(backing_off)
                if backing_off:
                    due = max(0.0, backing_off[0][0] - now)
                    timeout = due if timeout is None else min(timeout, due)
                if paced:
                    timeout = paced if timeout is None else min(timeout, paced)
                for ticket, error in flight.wait(timeout):
                    self._settle(self._posting.pop(ticket), error)

    def _paced(self) -> float:
        return 0.0 if self._pace is None else self._pace.ready_in()

    def _launch(self, flight: Flight, job: _Job) -> None:
        if self._deadline.allows():
            if self._pace is not None:
                self._pace.take()
            payload = self._courier.payload_for(job.connection_id)
            self._posting[flight.start(job.connection_id, payload)] = job
        else:
            self._finish(job, _Outcome.OUT_OF_TIME)

    def _settle(self, job: _Job, error: BaseException | None) -> None:
        outcome, job.error = self._courier.react(job.connection_id, error)
        if outcome is not _Outcome.RETRY:
            self._finish(job, outcome)
        elif job.attempt == self._policy.max_attempts:
            self._finish(job, _Outcome.FAILED)
        else:
            delay = self._policy.backoff(job.attempt, self._courier.jitter())
            if not self._deadline.allows(delay):
                self._finish(job, _Outcome.OUT_OF_TIME)
                return
            job.attempt += 1
            heappush(self._backing_off, (time.monotonic() + delay, next(self._order), job))

    def _finish(self, job: _Job, outcome: _Outcome) -> None:
        self.results.append(_Result(job.connection_id, outcome, job.attempt - 1, job.error))


class _Courier:
    """Delivers the broadcast's payload (or a recipient's personal one) to one recipient at a
    time; shared by the pool's threads."""

    def __init__(
        self,
        payload: bytes,
        sender: Sender,
        store: Pruner,
        policy: RetryPolicy,
        deadline: _Deadline,
        *,
        personal: Mapping[ConnectionId, bytes],
        pace: TokenBucket | None = None,
        sleep: Callable[[float], None],
        jitter: Callable[[], float],
    ) -> None:
        self._payload = payload
        self._pace = pace
        self._personal = personal
        self._sender = sender
        self._store = store
        self._policy = policy
        self._deadline = deadline
        self._sleep = sleep
        self._jitter = jitter
        # One wall-clock reading for the whole broadcast, which lasts one invocation at most.
        self._prune_before_ms = int(time.time() * 1000) - HANDSHAKE_GRACE_MS

    def deliver(self, connection_id: ConnectionId) -> _Result:
        """Post, retrying what is retryable, until delivered, hopeless or out of time."""
        retries = 0
        error: BaseException | None = None
        for attempt in range(1, self._policy.max_attempts + 1):
            if not self._deadline.allows():
                return _Result(connection_id, _Outcome.OUT_OF_TIME, retries, error)
            outcome, error = self._attempt(connection_id)
            if outcome is not _Outcome.RETRY:
                return _Result(connection_id, outcome, retries, error)
            if attempt == self._policy.max_attempts:
                break
            delay = self._policy.backoff(attempt, self._jitter())
            if not self._deadline.allows(delay):
                return _Result(connection_id, _Outcome.OUT_OF_TIME, retries, error)
            self._sleep(delay)
            retries += 1
        return _Result(connection_id, _Outcome.FAILED, retries, error)

    def payload_for(self, connection_id: ConnectionId) -> bytes:
        """The recipient's personal bytes, or the shared payload."""
        return self._personal.get(connection_id, self._payload)

    def jitter(self) -> float:
        """A fresh jitter factor in ``[0, 1)`` for a backoff."""
        return self._jitter()

    def react(
        self, connection_id: ConnectionId, error: BaseException | None
    ) -> tuple[_Outcome, BaseException | None]:
        """One attempt's outcome from its error (``None``: delivered); prunes a gone peer."""
        if error is None:
            return _Outcome.DELIVERED, None
        if isinstance(error, ConnectionGone):
            return self._prune(connection_id, error)
        if isinstance(error, PayloadTooLarge):
            return _Outcome.TOO_LARGE, error
        if isinstance(error, DeliveryForbidden):
            return _Outcome.FORBIDDEN, error
        if isinstance(error, RetryableDeliveryError):
            return _Outcome.RETRY, error
        return _Outcome.FAILED, error  # isolation: one broken recipient never sinks the rest

    def _attempt(self, connection_id: ConnectionId) -> tuple[_Outcome, BaseException | None]:
        if self._pace is not None and (wait := self._pace.reserve()) > 0:
            self._sleep(wait)
        try:
            self._sender.post(connection_id, self.payload_for(connection_id))
        except Exception as error:
            return self.react(connection_id, error)
        return self.react(connection_id, None)

    def _prune(
        self, connection_id: ConnectionId, gone: ConnectionGone
    ) -> tuple[_Outcome, BaseException | None]:
        try:
            pruned = self._store.prune(connection_id, self._prune_before_ms)
        except Exception as error:  # the item stays until TTL; the broadcast goes on
            return _Outcome.FAILED, error
        # A kept (young) connection missed this frame: a failed delivery, never a "left".
        return (_Outcome.PRUNED, None) if pruned else (_Outcome.FAILED, gone)


def _summarise(results: list[_Result], *, unfinished: int, started: float) -> BroadcastStats:
    counts = Counter(result.outcome for result in results)
    failures = [r for r in results if r.outcome is _Outcome.FAILED and r.error is not None]
    forbidden = counts[_Outcome.FORBIDDEN]
    out_of_time = counts[_Outcome.OUT_OF_TIME] + unfinished
    if forbidden:
        first = next(r.error for r in results if r.outcome is _Outcome.FORBIDDEN)
        log.error(
            "configuration error: @connections refused to post (check the endpoint and the "
            "execute-api:ManageConnections permission)",
            extra={"fields": {"forbidden": forbidden, "error": _describe(first)}},
        )
    if failures:
        log.warning(
            "deliveries failed",
            extra={
                "fields": {
                    "failed": len(failures),
                    "errors": dict(Counter(_describe(r.error) for r in failures)),
                }
            },
        )
    if out_of_time:
        log.warning(
            "deliveries skipped: the invocation is running out of time",
            extra={"fields": {"skipped": out_of_time}},
        )
    too_large = counts[_Outcome.TOO_LARGE]
    return BroadcastStats(
        delivered=counts[_Outcome.DELIVERED],
        pruned=counts[_Outcome.PRUNED],
        retried=sum(result.retries for result in results),
        failed=len(results) + unfinished - counts[_Outcome.DELIVERED] - counts[_Outcome.PRUNED],
        too_large=too_large,
        forbidden=forbidden,
        gone=tuple(r.connection_id for r in results if r.outcome is _Outcome.PRUNED),
        elapsed_ms=(time.perf_counter() - started) * 1000,
    )


def _describe(error: BaseException | None) -> str:
    # Error class names only: an exception's text might echo a connection's data.
    return "none" if error is None else type(error).__name__
