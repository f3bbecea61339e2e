"""Delivery jobs: a big room's fan-out, split into one job per room shard and delivered by
worker invocations (docs/internals.md, "Delivery jobs").

- ``sendmessage`` (and every ``tell_room``) in a room of more than ``DELIVERY_THRESHOLD``
  members stores the message, posts the sender's own copy, and sends one ``Job`` per shard of
  the room index (``room_shards.room_shards``) to the SQS queue ``DELIVERY_QUEUE_URL`` with
  ``SendMessageBatch``. It answers without posting to the room.
- The same function receives the queue's records through an event source mapping
  (``handle_jobs``): each record's worker reads its one shard and posts the frame, paced by a
  ``chat.pacing.TokenBucket`` at ``DELIVERY_POST_RATE / DELIVERY_MAX_CONCURRENCY`` posts a
  second after a burst of ``DELIVERY_BURST_S`` of that rate, so all workers together stay
  under ``DELIVERY_POST_RATE`` (the mapping's ``maximum_concurrency`` caps the workers at
  ``DELIVERY_MAX_CONCURRENCY``). 429s and 5xx are retried with backoff by ``broadcast``, each
  retry paced too; 410s prune as in the direct path.
- A record whose delivery failed (posts still failing after their retries, a malformed job) is
  reported in ``batchItemFailures``: SQS delivers it again (at least once: clients drop message
  ids they have) and, after the queue's ``maxReceiveCount``, moves it to the dead-letter queue.
  The message is in history either way.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Protocol

from .config import EnvVar
from .connections import ConnectionId, RoomMember
from .env_values import bounded, secure_or_loopback
from .errors import ConfigurationError, StoreError
from .pacing import TokenBucket
from .room_shards import ROOM_SHARDS, room_shards

if TYPE_CHECKING:  # a $connect's cold start loads this module, never the fan-out's
    from .delivery import BroadcastStats
    from .gateway import Sender

log = logging.getLogger("chat.jobs")

DEFAULT_DELIVERY_THRESHOLD: Final = 1000
"""Rooms above this many members go through the queue. The direct path posted to 1,000
recipients in about 0.8 s from one invocation (docs/performance.md): the sending invocation
answers within 1 s up to here, and beyond it the queue does."""
DEFAULT_DELIVERY_POST_RATE: Final = 8000
"""Posts a second all delivery workers together may make: 80 % of API Gateway's default
account rate (10,000 a second, shared with every client frame and the small rooms' posts).
Other rooms keep 2,000 a second: a 1,000-member room's direct broadcast (about 1,250 posts a
second) plus the big room's own members' frames (100,000 pings every 5 min are 333 a second).
90 % (9,000) would deliver 100,000 in 11.1 s but leave 1,000 a second, less than one direct
broadcast takes: a big room would then starve the small ones. The 13 s goal is met instead by
the burst (``DELIVERY_BURST_S``): 100,000 members in (12,500 - 500) / 1,000 = 12.0 s of pacing
per worker, measured 12.2 s to the last delivery (docs/performance.md, "Big rooms through
the delivery workers")."""
DELIVERY_BURST_S: Final = 0.5
"""Each worker may start with this many seconds of its rate at once (a token bucket's depth;
500 posts at the defaults), then paces at its rate. API Gateway's account throttle is a token
bucket of half a second of its rate (5,000 at 10,000 a second): the workers together take the
same share of its depth as of its rate (4,000 of 5,000 at 80 %), so the others keep 1,000 for
their own bursts and 2,000 a second."""
DEFAULT_DELIVERY_MAX_CONCURRENCY: Final = ROOM_SHARDS
"""Workers at once (the mapping's ``maximum_concurrency``): one per shard of a room."""
MAX_DELIVERY_POST_RATE: Final = 100_000
MAX_DELIVERY_MAX_CONCURRENCY: Final = 1000
JOB_VERSION: Final = 1
SQS_BATCH: Final = 10  # SendMessageBatch's most entries per call


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    """The delivery workers' settings (module docstring); no queue: every room is direct."""

    queue_url: str | None = None
    threshold: int = DEFAULT_DELIVERY_THRESHOLD
    post_rate: int = DEFAULT_DELIVERY_POST_RATE
    max_concurrency: int = DEFAULT_DELIVERY_MAX_CONCURRENCY

    @property
    def worker_rate(self) -> float:
        """Posts a second one worker may make: the share divided among the most workers."""
        return self.post_rate / self.max_concurrency

    @property
    def worker_burst(self) -> float:
        """Posts one worker may start at once (``DELIVERY_BURST_S`` of its rate, at least 1)."""
        return max(1.0, self.worker_rate * DELIVERY_BURST_S)

    def worker_pace(self) -> TokenBucket:
        """A fresh bucket for one job's posts, full."""
        return TokenBucket(self.worker_rate, self.worker_burst)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DeliverySettings:
        """Read the ``DELIVERY_*`` variables; ``ConfigurationError`` names every bad one."""
        problems: list[str] = []
        url = env.get(EnvVar.DELIVERY_QUEUE_URL, "").strip() or None
        if url is not None and not secure_or_loopback(url):
            problems.append(f"{EnvVar.DELIVERY_QUEUE_URL} must be an https URL, got {url!r}")
        threshold = bounded(
            env, EnvVar.DELIVERY_THRESHOLD, DEFAULT_DELIVERY_THRESHOLD, 10_000_000, problems, low=0
        )
        post_rate = bounded(
            env,
            EnvVar.DELIVERY_POST_RATE,
            DEFAULT_DELIVERY_POST_RATE,
            MAX_DELIVERY_POST_RATE,
            problems,
        )
        max_concurrency = bounded(
            env,
            EnvVar.DELIVERY_MAX_CONCURRENCY,
            DEFAULT_DELIVERY_MAX_CONCURRENCY,
            MAX_DELIVERY_MAX_CONCURRENCY,
            problems,
            low=2,  # the event source mapping's lowest maximum_concurrency
        )
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(
            queue_url=url,
            threshold=threshold,
            post_rate=post_rate,
            max_concurrency=max_concurrency,
        )


DIRECT_ONLY: Final = DeliverySettings()
"""The settings without a queue (every room delivered directly)."""


@dataclass(frozen=True, slots=True)
class Job:
    """Deliver ``frame`` to the connections of one room shard but ``skip`` (the sender, who got
    its own copy), through the ``@connections`` endpoint ``endpoint``."""

    shard: str
    endpoint: str
    frame: bytes
    skip: str = ""

    def body(self) -> str:
        """The SQS message body (JSON; the frame is UTF-8 JSON text itself)."""
        return json.dumps(
            {
                "v": JOB_VERSION,
                "shard": self.shard,
                "endpoint": self.endpoint,
                "frame": self.frame.decode(),
                "skip": self.skip,
            },
            separators=(",", ":"),
        )

    @classmethod
    def parse(cls, body: str) -> Job:
        """A job from an SQS body; ``ValueError`` for anything else."""
        data = json.loads(body)
        if not isinstance(data, dict) or data.get("v") != JOB_VERSION:
            raise ValueError("not a delivery job of this version")
        shard, endpoint, frame, skip = (data.get(k) for k in ("shard", "endpoint", "frame", "skip"))
        if not all(isinstance(v, str) for v in (shard, endpoint, frame, skip)):
            raise ValueError("a delivery job needs shard, endpoint, frame and skip strings")
        assert isinstance(shard, str) and isinstance(endpoint, str)  # noqa: S101 (narrowing)
        assert isinstance(frame, str) and isinstance(skip, str)  # noqa: S101
        if not secure_or_loopback(endpoint):
            raise ValueError("a delivery job's endpoint must be https (or the loopback)")
        return cls(shard, endpoint, frame.encode(), skip)


def split(room: str, endpoint: str, frame: bytes, skip: str) -> list[Job]:
    """One job per shard of ``room``."""
    return [Job(shard, endpoint, frame, skip) for shard in room_shards(room)]


class JobQueue(Protocol):
    """Where jobs go (the SQS queue; a list in tests)."""

    def send(self, jobs: list[Job]) -> None:
        """Send every job, or raise."""


class SqsJobQueue:
    """``JobQueue`` on SQS through a boto3 client made on first use (only big rooms need it)."""

    def __init__(self, client_factory: Callable[[], Any], url: str) -> None:
        self._factory = client_factory
        self._client: Any = None
        self._url = url
        self._lock = threading.Lock()

    def send(self, jobs: list[Job]) -> None:
        """``SendMessageBatch`` in tens; entries SQS failed are sent once more, then it raises
        (the handler answers 500: the message is stored, the room not told)."""
        with self._lock:
            if self._client is None:
                self._client = self._factory()
        for start in range(0, len(jobs), SQS_BATCH):
            entries = [
                {"Id": str(i), "MessageBody": job.body()}
                for i, job in enumerate(jobs[start : start + SQS_BATCH])
            ]
            for _ in range(2):
                answer = self._client.send_message_batch(QueueUrl=self._url, Entries=entries)
                failed = {f["Id"] for f in answer.get("Failed", [])}
                entries = [e for e in entries if e["Id"] in failed]
                if not entries:
                    break
            if entries:
                raise StoreError(f"delivery queue: {len(entries)} jobs were not accepted")


@dataclass(frozen=True, slots=True)
class RoomJobs:
    """What ``tell_room`` needs to send a big room's delivery to the workers."""

    queue: JobQueue
    threshold: int
    endpoint: str

    def enqueue(self, room: str, frame: bytes, skip: ConnectionId) -> int:
        """Send ``room``'s jobs; how many."""
        jobs = split(room, self.endpoint, frame, skip)
        self.queue.send(jobs)
        return len(jobs)


def is_queue_event(event: Any) -> bool:
    """Whether ``event`` is an SQS event source mapping's batch."""
    records = event.get("Records") if isinstance(event, dict) else None
    return (
        isinstance(records, list)
        and bool(records)
        and all(isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records)
    )


def deliver_job(
    job: Job,
    *,
    members: Iterable[RoomMember],
    broadcast_to: Callable[[Sender, bytes, Any, TokenBucket], BroadcastStats],
    sender: Sender,
    pace: TokenBucket,
) -> BroadcastStats:
    """Post ``job``'s frame to its shard's members but the skipped one, paced by ``pace``."""
    recipients = (m.connection_id for m in members if m.connection_id != job.skip)
    return broadcast_to(sender, job.frame, recipients, pace)


def failed_delivery(stats: BroadcastStats) -> bool:
    """Whether a job must be retried: posts failed after their retries (too large and
    forbidden would fail again the same way: counted, not retried)."""
    return stats.failed > stats.too_large + stats.forbidden


def batch_response(failures: list[str]) -> dict[str, Any]:
    """The mapping's partial batch response (``ReportBatchItemFailures``)."""
    return {"batchItemFailures": [{"itemIdentifier": f} for f in failures]}


__all__ = [
    "DeliverySettings",
    "Job",
    "JobQueue",
    "RoomJobs",
    "SqsJobQueue",
    "batch_response",
    "deliver_job",
    "failed_delivery",
    "is_queue_event",
    "split",
]
