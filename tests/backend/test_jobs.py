"""Big rooms' delivery workers (issue 30): the sender's invocation sends one job per room shard
to the queue; the worker (the same handler, an SQS batch) posts a shard, paced, and reports the
records to deliver again."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from chat.broadcast import Broadcaster
from chat.config import Settings
from chat.connection_table import DynamoConnectionStore
from chat.connections import Connection, ConnectionId
from chat.delivery import RetryPolicy
from chat.errors import ConfigurationError, ConnectionGone, RetryableDeliveryError
from chat.gateway import Sender
from chat.handler import handle
from chat.jobs import DELIVERY_BURST_S, DeliverySettings, Job, RoomJobs, SqsJobQueue
from chat.room_shards import ROOM_SHARDS, room_shard, room_shards
from chat.runtime import Runtime
from chat.usecases.rooms import tell_room
from moto import mock_aws

from tests.backend.conftest import REGION, TABLE
from tests.backend.fakes import MemoryStore, RecordingSender
from tests.backend.test_connections import RecordingClient

ENDPOINT = "https://abc.execute-api.eu-west-1.amazonaws.com/prod"
FRAME = b'{"type":"message","id":"01ARZ3NDEKTSV4RRFFQ69G5FAV"}'
SETTINGS = Settings(table_name="connections", messages_table_name="messages")


class ListQueue:
    """A ``JobQueue`` that keeps what it is sent."""

    def __init__(self) -> None:
        self.jobs: list[Job] = []

    def send(self, jobs: list[Job]) -> None:
        self.jobs.extend(jobs)


def room_of(count: int, room: str = "big") -> MemoryStore:
    store = MemoryStore()
    for i in range(count):
        store.add(f"c{i}=", room=room)
    return store


def told(store: MemoryStore, threshold: int) -> tuple[RecordingSender, ListQueue]:
    sender, queue = RecordingSender(), ListQueue()
    broadcaster = Broadcaster(
        sender, store, concurrency=4, jobs=RoomJobs(queue, threshold, ENDPOINT)
    )
    tell_room(
        ConnectionId("c0="),
        "big",
        FRAME,
        store=store,
        broadcaster=broadcaster,
        settings=SETTINGS,
        now_ms=1_000_000,
    )
    return sender, queue


def test_a_room_above_the_threshold_goes_to_one_job_per_shard() -> None:
    """Past the threshold the sender gets its copy, the room gets jobs: one per shard, none
    posted by the sending invocation."""
    sender, queue = told(room_of(12), threshold=10)
    assert dict(sender.delivered) == {"c0=": [FRAME]}
    assert sorted(job.shard for job in queue.jobs) == sorted(room_shards("big"))
    assert {(job.frame, job.skip, job.endpoint) for job in queue.jobs} == {(FRAME, "c0=", ENDPOINT)}


def test_a_room_at_the_threshold_is_delivered_directly() -> None:
    """At the threshold nothing is queued and every member gets the frame from the sender's
    invocation, as before."""
    sender, queue = told(room_of(10), threshold=10)
    assert queue.jobs == []
    assert sorted(sender.delivered) == sorted(f"c{i}=" for i in range(10))


def sqs_event(*bodies: str) -> dict[str, Any]:
    return {
        "Records": [
            {"messageId": f"m{i}", "eventSource": "aws:sqs", "body": body}
            for i, body in enumerate(bodies)
        ]
    }


def worker_runtime(store: MemoryStore, sender: Sender) -> Runtime:
    return Runtime(
        settings=SETTINGS,
        store=store,
        messages=None,  # type: ignore[arg-type]  # a worker never reads messages
        sender_for=lambda _endpoint: sender,
        new_id=lambda: "x",
        now_ms=lambda: 1_000_000,
        policy=RetryPolicy(max_attempts=2, base_delay_s=0.001),
        delivery=DeliverySettings(post_rate=100_000, max_concurrency=2),
    )


def test_the_worker_posts_its_shard_but_the_sender_and_reports_failures() -> None:
    """A batch of three: a shard's job reaches its members but the skipped sender; a
    malformed job and a job whose post kept failing are named in batchItemFailures; a gone
    member is pruned and is no failure."""
    store = room_of(40)
    by_shard: dict[str, list[str]] = {}
    for i in range(40):
        by_shard.setdefault(room_shard("big", f"c{i}="), []).append(f"c{i}=")
    first, second = sorted(by_shard, key=lambda s: -len(by_shard[s]))[:2]
    skip = by_shard[first][0]
    gone, failing = by_shard[first][1], by_shard[second][0]
    sender = RecordingSender(
        {gone: [ConnectionGone(gone, "410")], failing: [RetryableDeliveryError(failing, "429")] * 2}
    )
    event = sqs_event(
        Job(first, ENDPOINT, FRAME, skip).body(),
        "not a job",
        Job(second, ENDPOINT, FRAME, "").body(),
    )
    answer = handle(event, None, runtime_factory=lambda: worker_runtime(store, sender))
    assert answer == {"batchItemFailures": [{"itemIdentifier": "m1"}, {"itemIdentifier": "m2"}]}
    reached = set(sender.delivered)
    assert reached == (set(by_shard[first]) | set(by_shard[second])) - {skip, gone, failing}
    assert ConnectionId(gone) not in store.items


def test_a_job_with_a_foreign_endpoint_is_refused() -> None:
    """A job must name an https (or loopback) endpoint: never a signed post elsewhere."""
    body = Job("big#0", "http://evil.example/prod", FRAME).body()
    with pytest.raises(ValueError, match="https"):
        Job.parse(body)


class FlightRecorder:
    """A ``MultiplexingSender`` (as the Lambda's ``SignedHttpSender`` is) whose flight lands
    every post at once and records it, and records blocking posts apart."""

    def __init__(self) -> None:
        self.flown: list[str] = []
        self.blocking: list[str] = []
        self.landed: list[tuple[int, None]] = []

    def post(self, connection_id: ConnectionId, data: bytes) -> None:
        self.blocking.append(connection_id)

    def delete_connection(self, connection_id: ConnectionId) -> None:
        """Never called by a worker."""

    @contextlib.contextmanager
    def flight(self) -> Iterator[FlightRecorder]:
        yield self

    @property
    def in_flight(self) -> int:
        return len(self.landed)

    def start(self, connection_id: ConnectionId, data: bytes, method: str = "POST") -> int:
        self.flown.append(connection_id)
        self.landed.append((len(self.flown), None))
        return len(self.flown)

    def wait(self, timeout: float | None) -> list[tuple[int, None]]:
        landed, self.landed = self.landed, []
        return landed


def test_a_worker_posts_on_the_one_thread_flight() -> None:
    """The worker's pacing keeps the Lambda's one-thread flight (no thread per post): every
    member of the shard is posted through ``flight()``, none through blocking ``post``."""
    store = room_of(40)
    shard = room_shard("big", "c1=")
    members = {m.connection_id for m in store.shard_members([shard], 0)}
    sender = FlightRecorder()
    answer = handle(
        sqs_event(Job(shard, ENDPOINT, FRAME).body()),
        None,
        runtime_factory=lambda: worker_runtime(store, sender),
    )
    assert answer == {"batchItemFailures": []}
    assert sorted(sender.flown) == sorted(members)
    assert sender.blocking == []


def test_worker_rate_shares_the_post_rate_among_the_most_workers() -> None:
    """8,000 posts a second over 8 workers: 1,000 each; bad values are named."""
    settings = DeliverySettings.from_env({})
    assert settings.queue_url is None
    assert settings.worker_rate == 8000 / ROOM_SHARDS
    assert settings.worker_burst == settings.worker_rate * DELIVERY_BURST_S
    with pytest.raises(ConfigurationError, match="DELIVERY_MAX_CONCURRENCY"):
        DeliverySettings.from_env({"DELIVERY_MAX_CONCURRENCY": "1"})
    with pytest.raises(ConfigurationError, match="DELIVERY_QUEUE_URL"):
        DeliverySettings.from_env({"DELIVERY_QUEUE_URL": "http://sqs.example/q"})


def test_sqs_queue_sends_every_job_in_batches() -> None:
    """Twelve jobs go out as two SendMessageBatch calls and arrive as twelve messages."""
    with mock_aws():
        client = boto3.client("sqs", region_name=REGION)
        url = client.create_queue(QueueName="jobs")["QueueUrl"]
        calls: list[int] = []

        class Counting:
            def send_message_batch(self, **kwargs: Any) -> Any:
                calls.append(len(kwargs["Entries"]))
                return client.send_message_batch(**kwargs)

        jobs = [Job(f"big#{i}", ENDPOINT, FRAME) for i in range(12)]
        SqsJobQueue(Counting, url).send(jobs)
        assert calls == [10, 2]
        got = []
        while True:
            batch = client.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages")
            if not batch:
                break
            got += [json.loads(m["Body"])["shard"] for m in batch]
        assert sorted(got) == sorted(job.shard for job in jobs)


def test_checking_the_threshold_reads_only_the_pages_it_uses(dynamodb: Any) -> None:
    """Over a threshold of 3, the sending invocation reads one bounded page per shard, each
    asking for its share of the threshold (not DynamoDB's 1 MB), and no later page."""
    client = RecordingClient(dynamodb)
    store = DynamoConnectionStore(client, TABLE)
    for i in range(40):
        store.put(Connection(ConnectionId(f"c{i}="), "big", f"n{i}", 1, 10**10))
    client.calls.clear()
    sender, queue = RecordingSender(), ListQueue()
    broadcaster = Broadcaster(sender, store, concurrency=4, jobs=RoomJobs(queue, 3, ENDPOINT))
    tell_room(
        ConnectionId("c0="),
        "big",
        FRAME,
        store=store,
        broadcaster=broadcaster,
        settings=SETTINGS,
        now_ms=1_000_000,
    )
    assert len(queue.jobs) == ROOM_SHARDS
    queries = [kwargs for name, kwargs in client.calls if name == "query"]
    assert 1 <= len(queries) <= ROOM_SHARDS
    share = -(-3 // ROOM_SHARDS)
    assert all(q["Limit"] == share and "ExclusiveStartKey" not in q for q in queries)
