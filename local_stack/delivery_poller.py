"""The delivery queue offline: moto's SQS and a poller that invokes the function as Lambda's
SQS event source mapping does (terraform/delivery.tf), so big rooms' delivery runs the real code.

As the mapping ("Using Lambda with Amazon SQS"; "Handling errors for an SQS event source"):

- up to ``max_concurrency`` pollers (the mapping's ``scaling_config.maximum_concurrency``) each
  receive up to ``batch_size`` records and invoke the function with an SQS event;
- records the answer names in ``batchItemFailures`` stay in the queue and come back after the
  visibility timeout; the others are deleted. A failed invocation leaves the whole batch;
- the queue's redrive policy (``maxReceiveCount``) moves a record received too often to the
  dead-letter queue (moto does this on receive, as SQS does).

The local stack creates the queues and starts the poller when the function's environment sets
``DELIVERY_THRESHOLD`` (``local_stack.stack``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import boto3
from chat.jobs import DEFAULT_DELIVERY_MAX_CONCURRENCY

from local_stack.emulator.core.responses import InvocationOk, InvocationResult

log = logging.getLogger("local_stack.delivery")

QUEUE_NAME: Final = "awsome-chat-local-delivery"
BATCH_SIZE: Final = 1  # terraform/delivery.tf's batch_size
# Short, so a failed job comes back quickly offline, yet longer than a worker's invocation on a
# busy machine (a job still running when it expires is received again: delivered twice).
VISIBILITY_TIMEOUT_S: Final = 5
MAX_RECEIVES: Final = 2  # the redrive policy's maxReceiveCount offline
# Short polling, then a pause when empty: moto's server answers one request at a time, so a
# long poll would hold every DynamoDB call of the function for its wait.
_IDLE_S: Final = 0.1


@dataclass(frozen=True, slots=True)
class DeliveryQueues:
    """The delivery queue and its dead-letter queue, in moto."""

    url: str
    arn: str
    dead_letters_url: str


def sqs_client(endpoint: str, region: str) -> Any:
    """A boto3 SQS client for moto at ``endpoint``."""
    return boto3.client(
        "sqs",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (moto's)
    )


def create_queues(endpoint: str, region: str, name: str = QUEUE_NAME) -> DeliveryQueues:
    """Create the queue with a redrive policy to its dead-letter queue (as delivery.tf)."""
    sqs = sqs_client(endpoint, region)
    dead_url = sqs.create_queue(QueueName=f"{name}-dead-letters")["QueueUrl"]
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": MAX_RECEIVES})
    url = sqs.create_queue(
        QueueName=name,
        Attributes={"VisibilityTimeout": str(VISIBILITY_TIMEOUT_S), "RedrivePolicy": redrive},
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return DeliveryQueues(url, arn, dead_url)


def existing_queues(endpoint: str, region: str, url: str) -> DeliveryQueues:
    """A queue that is already there (an applied deployment's, which the rehearsal runs), and
    the dead-letter queue its redrive policy names."""
    sqs = sqs_client(endpoint, region)
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["QueueArn", "RedrivePolicy"]
    )["Attributes"]
    dead_arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    dead_url = sqs.get_queue_url(QueueName=dead_arn.rsplit(":", 1)[1])["QueueUrl"]
    return DeliveryQueues(url, attributes["QueueArn"], dead_url)


class DeliveryPoller:
    """Lambda's SQS event source mapping, on an asyncio loop (module docstring)."""

    def __init__(
        self,
        queues: DeliveryQueues,
        invoke: Callable[[Mapping[str, Any]], Awaitable[InvocationResult]],
        *,
        endpoint: str,
        region: str,
        max_concurrency: int = DEFAULT_DELIVERY_MAX_CONCURRENCY,
        batch_size: int = BATCH_SIZE,
    ) -> None:
        self.queues = queues
        self._invoke = invoke
        self._sqs = sqs_client(endpoint, region)
        self._region = region
        self._max_concurrency = max_concurrency
        self._batch_size = batch_size
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        self.invocations = 0
        """Invocations made so far."""
        self.failed_records = 0
        """Records an answer named in ``batchItemFailures`` (or whose invocation failed)."""

    def start(self) -> None:
        """Start the pollers on the running loop."""
        self._tasks = [
            asyncio.create_task(self._poll(), name=f"delivery-poller-{i}")
            for i in range(self._max_concurrency)
        ]

    async def stop(self) -> None:
        """Stop polling; invocations under way are cancelled with the pollers."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def dead_letters(self) -> int:
        """How many records the dead-letter queue holds."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.queues.dead_letters_url,
            AttributeNames=["ApproximateNumberOfMessages"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    async def _poll(self) -> None:
        while not self._stopping:
            try:
                answer = await asyncio.to_thread(
                    self._sqs.receive_message,
                    QueueUrl=self.queues.url,
                    MaxNumberOfMessages=self._batch_size,
                    WaitTimeSeconds=0,
                    AttributeNames=["All"],
                )
            except Exception:  # moto stopping, or a hiccup: poll again, as the mapping does
                log.warning("receiving from the delivery queue failed", exc_info=True)
                await asyncio.sleep(_IDLE_S * 10)
                continue
            messages = answer.get("Messages", [])
            if messages:
                await self._deliver(messages)
            else:
                await asyncio.sleep(_IDLE_S)

    async def _deliver(self, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [self._record(m) for m in messages]}
        self.invocations += 1
        result = await self._invoke(event)
        failed = {m["MessageId"] for m in messages}  # a failed invocation: all again
        if isinstance(result, InvocationOk) and isinstance(result.payload, dict):
            named = result.payload.get("batchItemFailures", [])
            failed = {str(f.get("itemIdentifier")) for f in named if isinstance(f, dict)}
        self.failed_records += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            await asyncio.to_thread(
                self._sqs.delete_message_batch,
                QueueUrl=self.queues.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)
                ],
            )

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        """One record as the mapping sends it (the fields the function reads, and more)."""
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": {},
            "md5OfBody": message.get("MD5OfBody", ""),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queues.arn,
            "awsRegion": self._region,
        }
