"""The delivery worker: one SQS batch of ``chat.jobs`` jobs, each a room shard to post to.

Invoked by the queue's event source mapping with ``ReportBatchItemFailures``: the answer names
the records to deliver again (``batchItemFailures``); the others are deleted by the mapping.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..broadcast import broadcast
from ..connections import ConnectionId
from ..delivery import BroadcastStats
from ..gateway import Sender
from ..jobs import Job, batch_response, deliver_job, failed_delivery
from ..pacing import TokenBucket

if TYPE_CHECKING:
    from ..runtime import Runtime

log = logging.getLogger("chat.jobs")


def handle_jobs(
    event: dict[str, Any], runtime: Runtime, remaining_ms: Callable[[], int] | None
) -> dict[str, Any]:
    """Deliver every record's job; the partial batch response names the failed ones."""
    failures: list[str] = []
    settings = runtime.settings
    for record in event["Records"]:
        record_id = str(record.get("messageId", ""))
        started = time.perf_counter()
        fields: dict[str, Any] = {"route": "delivery", "messageId": record_id}
        try:
            job = Job.parse(str(record.get("body", "")))
        except ValueError as error:
            failures.append(record_id)  # again, then the dead-letter queue: counted there
            log.error(
                "a delivery job is malformed", extra={"fields": {**fields, "reason": str(error)}}
            )
            continue
        now_s = runtime.now_ms() // 1000

        def to(
            sender: Sender, frame: bytes, ids: Iterable[ConnectionId], pace: TokenBucket
        ) -> BroadcastStats:
            return broadcast(
                frame,
                ids,
                sender,
                runtime.store,
                concurrency=settings.fanout_concurrency,
                policy=runtime.policy,
                remaining_ms=remaining_ms,
                pace=pace,
            )

        try:
            stats = deliver_job(
                job,
                members=runtime.store.shard_members([job.shard], now_s),
                broadcast_to=to,
                sender=runtime.sender_for(job.endpoint),
                pace=runtime.delivery.worker_pace(),
            )
        except Exception:  # a store error: the job is delivered again
            failures.append(record_id)
            log.exception("a delivery job failed", extra={"fields": fields})
            continue
        failed = failed_delivery(stats)
        if failed:
            failures.append(record_id)
        log.log(
            logging.WARNING if failed else logging.INFO,
            "delivery",
            extra={
                "fields": {
                    **fields,
                    "shard": job.shard,
                    "outcome": "retry" if failed else "ok",
                    "delivered": stats.delivered,
                    "pruned": stats.pruned,
                    "retried": stats.retried,
                    "failed": stats.failed,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                }
            },
        )
    return batch_response(failures)
