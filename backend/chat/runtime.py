"""Wiring: the settings and AWS clients one container reuses across invocations.

The only AWS client is DynamoDB's; ``@connections`` posts go through ``signed_sender``'s signed
HTTP sender, which borrows the session's credentials and region (no second client to create at cold
start). The session is botocore's, not boto3's: a boto3 client is this same botocore client, but
``import boto3`` also imports s3transfer (and through it multiprocessing) and boto3's resource
layer, which the function never uses and every cold start would pay for (``docs/performance.md``,
"Cold start").

``runtime_for(os.environ)`` builds them on first use (not at import, so a bad environment is an
answered, logged 500 rather than an import crash) and keeps them keyed by the variables they were
built from: a process that runs the handler under several environments (the local stack, tests)
gets the right clients for each.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import botocore.session
from botocore.config import Config

from .config import FALLBACK_REGION, EnvVar, Settings
from .connection_table import DynamoConnectionStore
from .connections import ConnectionStore
from .delivery import DEFAULT_POLICY, RetryPolicy
from .ids import UlidGenerator, guest_name, now_ms
from .jobs import DIRECT_ONLY, DeliverySettings, JobQueue, SqsJobQueue
from .room_shards import ROOM_SHARDS

if TYPE_CHECKING:  # the sender is loaded by the first post (see _senders_on_first_post)
    from .gateway import Sender
    from .messages import (
        Added,
        ChangesRead,
        Deleted,
        HistoryRead,
        MessageStore,
        Toggled,
    )
    from .reactions import ReactionCaps
    from .signed_sender import SenderPool
    from .stored import ChangesCursor, Direction, StoredMessage

# Everything build_runtime reads, directly or through botocore's endpoint and region resolution.
RUNTIME_ENV: Final = (
    *(name.value for name in EnvVar),
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_DYNAMODB",
    "AWS_ENDPOINT_URL_SQS",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


@dataclass(frozen=True, slots=True)
class Runtime:
    """The collaborators the handler hands to the use cases."""

    settings: Settings
    store: ConnectionStore
    messages: MessageStore
    sender_for: Callable[[str], Sender]
    new_id: Callable[[], str]
    now_ms: Callable[[], int] = now_ms
    guest_name: Callable[[], str] = guest_name
    policy: RetryPolicy = DEFAULT_POLICY
    # Big rooms' delivery workers (chat.jobs): no queue, every room is delivered directly.
    delivery: DeliverySettings = DIRECT_ONLY
    jobs: JobQueue | None = None


def dynamodb_config(concurrency: int) -> Config:
    """Short timeouts, botocore's standard retries (DynamoDB throttles are worth retrying), and
    a pool big enough for the fan-out's parallel prunes."""
    return Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"mode": "standard", "max_attempts": 3},
        max_pool_connections=max(concurrency, ROOM_SHARDS),  # the shards' parallel Queries
    )


def build_runtime(env: Mapping[str, str]) -> Runtime:
    """Validate the settings in ``env`` and create the AWS clients."""
    settings = Settings.from_env(env)
    session = botocore.session.get_session()
    region = session.get_config_variable("region") or FALLBACK_REGION
    # AWS_ENDPOINT_URL_DYNAMODB (the local stack) is honoured by botocore itself.
    dynamodb = session.create_client(
        "dynamodb", region_name=region, config=dynamodb_config(settings.fanout_concurrency)
    )
    delivery = DeliverySettings.from_env(env)
    jobs = None
    if delivery.queue_url is not None:
        jobs = SqsJobQueue(
            lambda: session.create_client("sqs", region_name=region, config=_SQS_CONFIG),
            delivery.queue_url,
        )
    return Runtime(
        settings=settings,
        store=DynamoConnectionStore(dynamodb, settings.table_name),
        messages=_MessagesOnFirstUse(dynamodb, settings.messages_table_name),
        sender_for=_senders_on_first_post(session, region, settings.fanout_concurrency),
        new_id=UlidGenerator().new,
        delivery=delivery,
        jobs=jobs,
    )


# SendMessageBatch answers in milliseconds; a stuck call must not hold the sender's answer.
_SQS_CONFIG: Final = Config(
    connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
)


class _MessagesOnFirstUse:
    """The messages table's ``DynamoMessageStore``, made by the first read or write: ``$connect``
    and ``ping``, the usual first events of a cold start, never touch a message, so they never
    load ``messages``. Two threads racing to the first use
    would make two stores of the same client and table: harmless."""

    def __init__(self, client: Any, table_name: str) -> None:
        self._client = client
        self._table_name = table_name
        self._store: MessageStore | None = None

    def _made(self) -> MessageStore:
        if self._store is None:
            from .message_table import DynamoMessageStore  # noqa: PLC0415

            self._store = DynamoMessageStore(self._client, self._table_name)
        return self._store

    def add(self, message: StoredMessage, client_id: str | None, now_s: int) -> Added:
        """``DynamoMessageStore.add``."""
        return self._made().add(message, client_id, now_s)

    def read(
        self,
        room: str,
        direction: Direction,
        cursor: str | None,
        limit: int,
        *,
        now_s: int,
        retention_s: int,
    ) -> HistoryRead:
        """``DynamoMessageStore.read``."""
        return self._made().read(
            room, direction, cursor, limit, now_s=now_s, retention_s=retention_s
        )

    def edit(self, room: str, message_id: str, owner: str, text: str, now_ms: int) -> StoredMessage:
        """``DynamoMessageStore.edit``."""
        return self._made().edit(room, message_id, owner, text, now_ms)

    def delete(
        self, room: str, message_id: str, owner: str, now_ms: int, *, by_moderator: bool = False
    ) -> Deleted:
        """``DynamoMessageStore.delete``."""
        return self._made().delete(room, message_id, owner, now_ms, by_moderator=by_moderator)

    def react(
        self,
        room: str,
        message_id: str,
        reactor: str,
        emoji: str,
        *,
        caps: ReactionCaps,
        now_ms: int,
    ) -> Toggled:
        """``DynamoMessageStore.react``."""
        return self._made().react(room, message_id, reactor, emoji, caps=caps, now_ms=now_ms)

    def changes(
        self,
        room: str,
        since_ms: int,
        after: ChangesCursor | None,
        limit: int,
        *,
        now_s: int,
        retention_s: int,
    ) -> ChangesRead:
        """``DynamoMessageStore.changes``."""
        return self._made().changes(
            room, since_ms, after, limit, now_s=now_s, retention_s=retention_s
        )


def _senders_on_first_post(session: Any, region: str, concurrency: int) -> Callable[[str], Sender]:
    """``sender_for`` of a ``SenderPool`` signing with ``session``'s credentials, the pool made
    by the first call: ``$connect``, the usual first event of a cold start, posts nothing, so it
    never loads the sender (``signed_sender``, ``sigv4``, ``flight``, ``links``)."""
    pools: list[SenderPool] = []
    lock = threading.Lock()

    def sender_for(endpoint_url: str) -> Sender:
        with lock:
            if not pools:
                from .signed_sender import SenderPool  # noqa: PLC0415
                from .sigv4 import session_credentials  # noqa: PLC0415

                credentials = session_credentials(session)
                pools.append(SenderPool.signing(credentials, region, concurrency=concurrency))
            pool = pools[0]
        return pool.sender_for(endpoint_url)

    return sender_for


_runtimes: dict[tuple[str | None, ...], Runtime] = {}
_lock = threading.Lock()


def runtime_for(env: Mapping[str, str]) -> Runtime:
    """The container's runtime for ``env``, built once and reused by later invocations."""
    key = tuple(env.get(name) for name in RUNTIME_ENV)
    with _lock:
        runtime = _runtimes.get(key)
        if runtime is None:
            runtime = build_runtime(env)
            _runtimes[key] = runtime
        return runtime
