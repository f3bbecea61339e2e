"""The fan-out delivers in parallel and isolates every recipient's failure.

The rules are tested on the path the Lambda runs: ``SignedHttpSender``'s one-thread flight
posting to a real local ``@connections`` endpoint (``management_api``) whose answers are
scripted per connection. The last section covers the thread pool that senders which cannot
multiplex (the benchmarks' boto3 and threaded references, the handler tests' recording fake)
go through: the same rules, with blocking posts and sleeping backoffs.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from botocore.credentials import ReadOnlyCredentials
from chat.broadcast import broadcast
from chat.connections import Connection, ConnectionId
from chat.delivery import BroadcastStats, RetryPolicy
from chat.errors import (
    ConnectionGone,
    DeliveryForbidden,
    PayloadTooLarge,
    RetryableDeliveryError,
)
from chat.pacing import TokenBucket
from chat.signed_sender import SignedHttpSender

from tests.backend.conftest import REGION, Logs
from tests.backend.fakes import MemoryStore, RecordingSender
from tests.backend.management_api_server import DROP, HANG, ManagementApiServer

PAYLOAD = b'{"type":"message"}'


def ids(*names: str) -> list[ConnectionId]:
    """Connection ids from plain strings."""
    return [ConnectionId(name) for name in names]


def sender_for(server: ManagementApiServer, pool_size: int = 4, **kwargs: Any) -> SignedHttpSender:
    """The Lambda's sender, posting to ``server`` with fixed credentials."""
    credentials = ReadOnlyCredentials("AKID", "secret", None)
    return SignedHttpSender(
        server.endpoint, lambda: credentials, REGION, pool_size=pool_size, **kwargs
    )


def run(
    server: ManagementApiServer,
    recipients: Iterator[ConnectionId] | list[ConnectionId],
    store: MemoryStore | None = None,
    *,
    sender: SignedHttpSender | None = None,
    **kwargs: Any,
) -> BroadcastStats:
    """broadcast through the Lambda's sender to ``server``; retries at once (jitter 0)."""
    kwargs.setdefault("concurrency", 4)
    kwargs.setdefault("jitter", lambda: 0.0)
    return broadcast(
        PAYLOAD, recipients, sender or sender_for(server), store or MemoryStore(), **kwargs
    )


def test_everyone_receives(management_api: ManagementApiServer) -> None:
    """Every recipient gets the payload exactly once."""
    stats = run(management_api, ids("a", "b", "c", "d", "e"))
    assert stats == BroadcastStats(delivered=5)
    assert dict(management_api.received) == {k: [PAYLOAD] for k in "abcde"}


def test_no_recipients(management_api: ManagementApiServer) -> None:
    """An empty room sends nothing."""
    assert run(management_api, []) == BroadcastStats()
    assert management_api.accepted == 0 and not management_api.requests


def test_lazy_recipients_are_consumed(management_api: ManagementApiServer) -> None:
    """Recipients may be a generator (the store's paginated Query)."""
    stats = run(management_api, (ConnectionId(f"c{i}") for i in range(10)))
    assert stats.delivered == 10
    assert len(management_api.received) == 10


def test_gone_recipient_is_pruned_and_the_rest_receive(
    management_api: ManagementApiServer,
) -> None:
    """410 deletes that recipient's item, which is not retried; everyone else still gets the
    message."""
    store = MemoryStore()
    for name in "abc":
        store.add(name)
    management_api.script["b"] = [410]
    stats = run(management_api, ids("a", "b", "c"), store)
    assert stats == BroadcastStats(delivered=2, pruned=1)
    assert stats.gone == ("b",)
    assert store.deleted == ["b"]
    assert set(management_api.received) == {"a", "c"}
    assert management_api.requests["b"] == 1


def test_gone_recipient_still_handshaking_is_kept(management_api: ManagementApiServer) -> None:
    """A 410 for a connection that connected moments ago (its handshake not finished yet)
    keeps its item: it misses this frame, and is neither pruned nor reported gone."""
    store = MemoryStore()
    store.add("a")
    store.put(Connection(ConnectionId("new"), "lobby", "newcomer", int(time.time() * 1000), 2**31))
    management_api.script["new"] = [410]
    stats = run(management_api, ids("a", "new"), store)
    assert stats == BroadcastStats(delivered=1, failed=1)
    assert stats.gone == ()
    assert store.deleted == []
    assert "new" in store.items


@pytest.mark.parametrize(
    "statuses", [[429, 500], [503, 429], [DROP, 500]], ids=["429-500", "503-429", "drop-500"]
)
def test_throttled_failing_or_dropped_posts_are_retried_and_deliver(
    management_api: ManagementApiServer, statuses: list[int]
) -> None:
    """429, 5xx (with or without an error type) and a connection dropped mid-post are retried;
    a later success counts as delivered, each retry counted."""
    management_api.script["a"] = list(statuses)
    stats = run(management_api, ids("a", "b"))
    assert stats == BroadcastStats(delivered=2, retried=2)
    assert management_api.requests["a"] == 3
    assert management_api.received["a"] == [PAYLOAD]


def test_a_post_that_times_out_is_retried_on_a_new_connection(
    management_api: ManagementApiServer,
) -> None:
    """A post unanswered within the read timeout is abandoned (its connection closed) and
    retried; the retry delivers."""
    management_api.hang_s = 2.0
    management_api.script["slow"] = [HANG]
    sender = sender_for(management_api, read_timeout=0.3)
    started = time.monotonic()
    stats = run(management_api, ids("slow", "b"), sender=sender)
    assert time.monotonic() - started < 1.5  # not the 2 s the hung answer would take
    assert stats == BroadcastStats(delivered=2, retried=1)
    assert management_api.requests["slow"] == 2
    assert management_api.received["slow"] == [PAYLOAD]


def test_retries_are_bounded_with_growing_jittered_backoff(
    management_api: ManagementApiServer,
) -> None:
    """A recipient that always fails is tried max_attempts times, each retry posted no sooner
    than its full-jitter backoff: jitter * min(cap, base * 2**(attempt-1))."""
    jitters = iter([0.5, 1.0, 0.25])
    management_api.script["a"] = [503] * 10
    policy = RetryPolicy(max_attempts=4, base_delay_s=0.1, max_delay_s=0.3)
    stats = run(management_api, ids("a", "b"), policy=policy, jitter=lambda: next(jitters))
    assert management_api.requests["a"] == 4
    assert stats == BroadcastStats(delivered=1, retried=3, failed=1)
    arrivals = management_api.arrivals["a"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(arrivals)]
    # 0.5*0.1, 1.0*0.2, 0.25*0.3 (the cap): a retry is posted once its backoff has passed.
    assert all(gap >= delay for gap, delay in zip(gaps, [0.05, 0.2, 0.075], strict=True)), gaps


def test_forbidden_is_a_configuration_error_not_a_prune(
    management_api: ManagementApiServer, logs: Logs
) -> None:
    """403 is counted and logged once as a configuration error, never retried; the item is
    kept."""
    store = MemoryStore()
    for name in "abc":
        management_api.script[name] = [403]
    stats = run(management_api, ids("a", "b", "c"), store)
    assert stats == BroadcastStats(failed=3, forbidden=3)
    assert store.deleted == []
    assert dict(management_api.requests) == {"a": 1, "b": 1, "c": 1}
    errors = [r for r in logs.records if r["level"] == "ERROR"]
    assert len(errors) == 1
    assert "configuration error" in errors[0]["message"]
    assert errors[0]["forbidden"] == 3


def test_payload_too_large_is_counted_for_the_caller(management_api: ManagementApiServer) -> None:
    """413 is counted so the sender can be told; it is neither retried nor pruned."""
    store = MemoryStore()
    store.add("a")
    management_api.script["a"] = [413]
    stats = run(management_api, ids("a", "b"), store)
    assert stats == BroadcastStats(delivered=1, failed=1, too_large=1)
    assert management_api.requests["a"] == 1
    assert store.deleted == []


def test_an_undocumented_error_fails_that_recipient_alone(
    management_api: ManagementApiServer, logs: Logs
) -> None:
    """An answer outside the API's documented errors (400 BadRequestException) fails that
    recipient without a retry; the others receive, and the log names the error class only."""
    management_api.script["b"] = [400]
    stats = run(management_api, ids("a", "b", "c", "d"))
    assert stats == BroadcastStats(delivered=3, failed=1)
    assert management_api.requests["b"] == 1
    warning = next(r for r in logs.records if r["message"] == "deliveries failed")
    assert warning["errors"] == {"DeliveryFailed": 1}
    assert "Invalid connectionId" not in "".join(logs.lines)  # never the answer's text


def test_a_failing_prune_does_not_stop_the_broadcast(management_api: ManagementApiServer) -> None:
    """If deleting a gone item fails, that recipient counts as failed and the rest receive."""
    management_api.script["a"] = [410]
    stats = run(management_api, ids("a", "b", "c"), MemoryStore(fail_delete=True))
    assert stats == BroadcastStats(delivered=2, failed=1)


def test_parallelism_is_bounded_by_concurrency(management_api: ManagementApiServer) -> None:
    """Posts are in flight together, but never more than `concurrency` at once."""
    management_api.latency_s = 0.05
    stats = run(management_api, ids(*(f"c{i}" for i in range(16))), concurrency=4)
    assert stats.delivered == 16
    assert 2 <= management_api.max_concurrent <= 4


def test_concurrency_one_is_sequential(management_api: ManagementApiServer) -> None:
    """With concurrency 1 there is never more than one post in flight."""
    management_api.latency_s = 0.02
    stats = run(management_api, ids("a", "b", "c", "d"), concurrency=1)
    assert stats.delivered == 4
    assert management_api.max_concurrent == 1


def test_a_paced_flight_keeps_its_rate_after_its_burst(
    management_api: ManagementApiServer,
) -> None:
    """On the one-thread flight, 30 posts at 100 a second after a burst of 10 take at least
    the 0.2 s the other 20 need, however fast the endpoint answers."""
    started = time.perf_counter()
    stats = run(management_api, ids(*(f"c{i}" for i in range(30))), pace=TokenBucket(100, 10))
    elapsed = time.perf_counter() - started
    assert stats.delivered == 30
    assert 0.19 <= elapsed < 2.0


def test_a_retry_takes_a_token_too(management_api: ManagementApiServer) -> None:
    """A 429's retry waits for the pace as a first post does: 3 posts and 2 retries at 20 a
    second after a burst of 1 take at least 4 intervals (0.2 s)."""
    management_api.script["a"] = [429, 429]
    started = time.perf_counter()
    stats = run(management_api, ids("a", "b", "c"), pace=TokenBucket(20, 1))
    assert stats.delivered == 3 and stats.retried == 2
    assert time.perf_counter() - started >= 0.19


def test_nothing_starts_when_the_invocation_is_out_of_time(
    management_api: ManagementApiServer, logs: Logs
) -> None:
    """Below the reserve no post is attempted; the recipients count as failed."""
    stats = run(management_api, ids("a", "b", "c"), remaining_ms=lambda: 900)
    assert stats == BroadcastStats(failed=3)
    assert not management_api.requests
    assert any("running out of time" in r["message"] for r in logs.records)


def test_no_backoff_runs_past_the_deadline(management_api: ManagementApiServer) -> None:
    """A retry whose backoff would cross the reserve is abandoned instead of waited for."""
    management_api.script["a"] = [429] * 3
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.5, max_delay_s=1.0, reserve_ms=1000)
    started = time.monotonic()
    stats = run(
        management_api, ids("a"), policy=policy, remaining_ms=lambda: 1200, jitter=lambda: 1.0
    )
    assert time.monotonic() - started < 0.4  # the 0.5 s backoff was not waited
    assert management_api.requests["a"] == 1
    assert stats == BroadcastStats(failed=1)


def test_the_room_is_read_before_the_first_post(management_api: ManagementApiServer) -> None:
    """Nothing is posted before the second recipient has been read (the store's Query runs
    then): the sender's own copy never arrives before its room was read."""
    events: list[str] = []
    sender = sender_for(management_api, pool_size=2)

    def recipients() -> Iterator[ConnectionId]:
        yield ConnectionId("me")
        events.append(f"query after {sender.opened} posts started")  # a post opens a link
        yield from ids("a", "b")

    stats = run(management_api, recipients(), sender=sender)
    assert stats.delivered == 3
    assert events == ["query after 0 posts started"]


# --- senders that cannot multiplex: a thread pool ---------------------------------------------


def test_a_blocking_sender_gets_the_same_reactions() -> None:
    """Through the thread pool too: 410 pruned, 413 counted, 403 a configuration error,
    retryable errors retried after a sleeping backoff, up to the bound."""
    store = MemoryStore()
    store.add("gone")
    sleeps: list[float] = []
    sender = RecordingSender(
        {
            "gone": [ConnectionGone("gone", "410")],
            "big": [PayloadTooLarge("big", "413")],
            "denied": [DeliveryForbidden("denied", "403")],
            "busy": [RetryableDeliveryError("busy", "429"), None],
            "down": [RetryableDeliveryError("down", "503")] * 5,
        }
    )
    policy = RetryPolicy(max_attempts=3, base_delay_s=0.1, max_delay_s=1.0)
    stats = broadcast(
        PAYLOAD,
        ids("gone", "big", "denied", "busy", "down", "ok"),
        sender,
        store,
        concurrency=1,
        policy=policy,
        sleep=sleeps.append,
        jitter=lambda: 1.0,
    )
    assert (stats.delivered, stats.pruned, stats.too_large, stats.forbidden) == (2, 1, 1, 1)
    assert stats.retried == 1 + 2 and stats.failed == 3
    assert store.deleted == ["gone"]
    assert dict(sender.attempts) == {
        "gone": 1, "big": 1, "denied": 1, "busy": 2, "down": 3, "ok": 1
    }  # fmt: skip
    assert sleeps == pytest.approx([0.1, 0.1, 0.2])  # busy's one retry, down's two


def test_a_blocking_senders_posts_are_bounded_by_concurrency() -> None:
    """The pool runs posts in parallel, never more than `concurrency` at once."""
    sender = RecordingSender(delay_s=0.02)
    stats = broadcast(
        PAYLOAD, ids(*(f"c{i}" for i in range(24))), sender, MemoryStore(), concurrency=4
    )
    assert stats.delivered == 24
    assert 2 <= sender.max_in_flight <= 4


def test_a_blocking_senders_posts_keep_the_pace() -> None:
    """Through the thread pool, each attempt waits for its token: 12 posts at 50 a second after
    a burst of 2 sleep 10 intervals' worth in all (0.02 + 0.04 + ... + 0.2 s)."""
    sleeps: list[float] = []
    now = [0.0]
    stats = broadcast(
        PAYLOAD,
        ids(*(f"c{i}" for i in range(12))),
        RecordingSender(),
        MemoryStore(),
        concurrency=1,
        pace=TokenBucket(50, 2, clock=lambda: now[0]),
        sleep=sleeps.append,
    )
    assert stats.delivered == 12
    assert sleeps == pytest.approx([0.02 * k for k in range(1, 11)])


def test_a_stuck_blocking_post_does_not_hold_the_invocation() -> None:
    """The broadcast stops waiting shortly before the deadline; the stuck post counts failed."""
    release = threading.Event()

    class Stuck(RecordingSender):
        def post(self, connection_id: ConnectionId, data: bytes) -> None:
            if connection_id == "stuck":
                release.wait(10)
            super().post(connection_id, data)

    end = time.monotonic() + 0.6
    started = time.monotonic()
    try:
        stats = broadcast(
            PAYLOAD,
            ids("stuck", "a", "b"),
            Stuck(),
            MemoryStore(),
            concurrency=4,
            policy=RetryPolicy(reserve_ms=100),
            remaining_ms=lambda: int((end - time.monotonic()) * 1000),
        )
    finally:
        release.set()
    assert time.monotonic() - started < 2.0  # the stuck post alone would hold it 10 s
    assert stats == BroadcastStats(delivered=2, failed=1)
