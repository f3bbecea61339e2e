"""The function's settings, read once from the environment and validated.

The variable names and defaults are the contract in ``docs/internals.md`` ("The Lambda's
environment"); Terraform and the local stack set them. Local DynamoDB is reached through boto3's
own ``AWS_ENDPOINT_URL_DYNAMODB``, which boto3 reads itself, so it does not appear here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .env_values import bounded, secure_or_loopback, whole_number
from .errors import ConfigurationError


class EnvVar(StrEnum):
    """The names of the function's environment variables: the one definition Terraform's
    ``lambda.tf`` (checked by a test), the local stack and the tests use."""

    TABLE_NAME = "TABLE_NAME"
    MESSAGES_TABLE_NAME = "MESSAGES_TABLE_NAME"
    MESSAGE_RETENTION_DAYS = "MESSAGE_RETENTION_DAYS"
    PRESENCE_NOTICE_MAX_MEMBERS = "PRESENCE_NOTICE_MAX_MEMBERS"
    RATE_LIMIT_MESSAGES_PER_MINUTE = "RATE_LIMIT_MESSAGES_PER_MINUTE"
    RATE_LIMIT_MESSAGE_BURST = "RATE_LIMIT_MESSAGE_BURST"
    RATE_LIMIT_READS_PER_MINUTE = "RATE_LIMIT_READS_PER_MINUTE"
    RATE_LIMIT_READ_BURST = "RATE_LIMIT_READ_BURST"
    METRICS_NAMESPACE = "METRICS_NAMESPACE"
    CONNECT_RATE_LIMIT_PER_MINUTE = "CONNECT_RATE_LIMIT_PER_MINUTE"
    ROOM_MAX_MEMBERS = "ROOM_MAX_MEMBERS"
    METRICS_ENABLED = "METRICS_ENABLED"
    CONNECTIONS_ENDPOINT = "CONNECTIONS_ENDPOINT"
    ALLOWED_ORIGINS = "ALLOWED_ORIGINS"
    MAX_MESSAGE_CHARS = "MAX_MESSAGE_CHARS"
    FANOUT_CONCURRENCY = "FANOUT_CONCURRENCY"
    CONNECTION_TTL_SECONDS = "CONNECTION_TTL_SECONDS"
    AUTH_MODE = "AUTH_MODE"
    RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE = "RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE"
    RATE_LIMIT_ROOM_MESSAGE_BURST = "RATE_LIMIT_ROOM_MESSAGE_BURST"
    RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE = "RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE"
    RATE_LIMIT_SOURCE_FRAME_BURST = "RATE_LIMIT_SOURCE_FRAME_BURST"
    RATE_LIMIT_REFUSALS_PER_MINUTE = "RATE_LIMIT_REFUSALS_PER_MINUTE"
    RATE_LIMIT_REFUSAL_BURST = "RATE_LIMIT_REFUSAL_BURST"
    LIVE_CONNECTIONS_PER_ROOM = "LIVE_CONNECTIONS_PER_ROOM"
    LIVE_CONNECTIONS_TOTAL = "LIVE_CONNECTIONS_TOTAL"
    TYPING_NOTICE_MAX_MEMBERS = "TYPING_NOTICE_MAX_MEMBERS"
    REACTIONS_MAX_DISTINCT = "REACTIONS_MAX_DISTINCT"
    REACTIONS_MAX_PER_PERSON = "REACTIONS_MAX_PER_PERSON"
    REACTIONS_MAX_TOTAL = "REACTIONS_MAX_TOTAL"
    # Delivery workers for big rooms (chat.jobs.DeliverySettings reads them).
    DELIVERY_QUEUE_URL = "DELIVERY_QUEUE_URL"
    DELIVERY_THRESHOLD = "DELIVERY_THRESHOLD"
    DELIVERY_POST_RATE = "DELIVERY_POST_RATE"
    DELIVERY_MAX_CONCURRENCY = "DELIVERY_MAX_CONCURRENCY"
    # Moderation.
    MODERATOR_SECRET_SHA256 = "MODERATOR_SECRET_SHA256"  # noqa: S105 (a variable's name)
    BLOCKED_WORDS = "BLOCKED_WORDS"
    BLOCKED_WORDS_ACTION = "BLOCKED_WORDS_ACTION"


class BlockedWordsAction(StrEnum):
    """What the word filter does with a message that holds a blocked word."""

    REFUSE = "refuse"
    MASK = "mask"


class AuthMode(StrEnum):
    """Who may connect (``AUTH_MODE``): anyone under any name (``none``), or only users an
    authorizer on ``$connect`` vouched for, through Cognito or another OpenID Connect issuer.
    The chat treats both signed-in modes alike: it reads who the user is from the authorizer's
    context (docs/protocol.md, "Signing in")."""

    NONE = "none"
    COGNITO = "cognito"
    OIDC = "oidc"

    @property
    def signed_in(self) -> bool:
        """Whether ``$connect`` requires the authorizer's context."""
        return self is not AuthMode.NONE


DEFAULT_MAX_MESSAGE_CHARS = 2000
# docs/performance.md: the cheapest setting that delivers 1,000 recipients within 1 s under
# Lambda's 512 MB CPU share (0.77 s).
DEFAULT_FANOUT_CONCURRENCY = 128
DEFAULT_CONNECTION_TTL_SECONDS = 3 * 60 * 60
DEFAULT_MESSAGE_RETENTION_DAYS = 7
# DynamoDB's TTL and our own reads work in days; ten years is beyond any chat's needs.
MAX_MESSAGE_RETENTION_DAYS = 3650
SECONDS_PER_DAY = 24 * 60 * 60
# Each joined/left notice costs one post per member; above this room size none are sent.
DEFAULT_PRESENCE_NOTICE_MAX_MEMBERS = 100
MAX_PRESENCE_NOTICE_MAX_MEMBERS = 10_000
# Per connection: nobody typing meets these; a script flooding a room does.
DEFAULT_RATE_LIMIT_MESSAGES_PER_MINUTE = 60
DEFAULT_RATE_LIMIT_MESSAGE_BURST = 20
DEFAULT_RATE_LIMIT_READS_PER_MINUTE = 60
DEFAULT_RATE_LIMIT_READ_BURST = 20
MAX_RATE_LIMIT_PER_MINUTE = 60_000
MAX_RATE_LIMIT_BURST = 1_000
DEFAULT_METRICS_NAMESPACE = "awsome-chat"
# New connections per source address per minute: generous for offices behind one NAT, far
# below a script's pace.
DEFAULT_CONNECT_RATE_LIMIT_PER_MINUTE = 60
# Connections one room may hold. Rooms above the delivery threshold (1,000) go through the
# delivery workers, which delivered 10,000 members in 0.9 s at the default pacing (under the
# 2 s a live room needs; docs/performance.md, "Big rooms through the delivery workers");
# 100,000 (MAX_ROOM_MAX_MEMBERS) take 12.2 s on a default account: a deployer's choice.
DEFAULT_ROOM_MAX_MEMBERS = 10_000
# Per room: messages from all its connections together (three sockets may not triple a room's
# pace). Per source address: every frame of all its connections (API Gateway's stage throttle
# is shared by everyone). Generous for a lively room and for an office behind one NAT.
DEFAULT_RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE = 120
DEFAULT_RATE_LIMIT_ROOM_MESSAGE_BURST = 30
DEFAULT_RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE = 600
DEFAULT_RATE_LIMIT_SOURCE_FRAME_BURST = 200
# Per connection: refused frames (errors and rate_limited) before the server closes it.
DEFAULT_RATE_LIMIT_REFUSALS_PER_MINUTE = 10
DEFAULT_RATE_LIMIT_REFUSAL_BURST = 20
MAX_ROOM_MAX_MEMBERS = 100_000
# Live connections one source address, or one signed-in user, may hold in one room (never more
# than a quarter of ROOM_MAX_MEMBERS, at least one) and in all rooms: a person's tabs and
# devices fit; an office behind one NAT may need more.
DEFAULT_LIVE_CONNECTIONS_PER_ROOM = 25
DEFAULT_LIVE_CONNECTIONS_TOTAL = 100
MAX_LIVE_CONNECTIONS = 100_000
# Each typing notice costs one post per other connection; above this room size (connections)
# none is sent: in a big room "someone is typing" is noise.
DEFAULT_TYPING_NOTICE_MAX_MEMBERS = 50
MAX_TYPING_NOTICE_MAX_MEMBERS = 1_000
# Reactions on one message: distinct emoji, one person's, and all together. All reactions are
# capped so the item stays far under DynamoDB's 400 KB with the longest text: 2,000 reactor
# ids (11 bytes) and their emoji (at most 32 bytes) under the per-person attributes.
DEFAULT_REACTIONS_MAX_DISTINCT = 20
DEFAULT_REACTIONS_MAX_PER_PERSON = 10
DEFAULT_REACTIONS_MAX_TOTAL = 2_000
MAX_REACTIONS_DISTINCT = 100
MAX_REACTIONS_PER_PERSON = 100
MAX_REACTIONS_TOTAL = 2_000
# CloudWatch namespaces: 1-255 characters, no leading colon ("Namespace", CloudWatch API).
_NAMESPACE = re.compile(r"[0-9A-Za-z.\-_/#:]{1,255}")
# API Gateway closes every WebSocket after 2 hours ("API Gateway quotas for configuring and
# running a WebSocket API"); an item must outlive its connection, since $disconnect is best effort.
MAX_CONNECTION_SECONDS = 2 * 60 * 60
# The longest MAX_MESSAGE_CHARS a browser can use: a page sends each message as one WebSocket
# frame, and API Gateway takes at most 32 KB in a frame from a client (docs/protocol.md,
# "Limits"; the 128 KB of a fragmented message is out of a browser's reach). 8,000 characters
# of the worst case (4 bytes in UTF-8) and the sendmessage envelope with a 64-character clientId
# fit, and so does the message frame that carries them (frames.MESSAGE_FRAME_MAX, 64 KiB);
# tests/test_shared_facts.py proves both. Terraform's max_message_chars validation says the same.
MAX_MESSAGE_CHARS_LIMIT = 8_000
# The longest CONNECTION_TTL_SECONDS: a week. Counters and name claims live as long as their
# newest connection's item (docs/internals.md, "Admission"), so a count a lost $disconnect left
# too high must not outlive the week.
MAX_CONNECTION_TTL_SECONDS = 7 * 24 * 60 * 60
MAX_FANOUT_CONCURRENCY = 256
# The word filter's bounds (Terraform validates the same): enough for a room's own list, small
# enough that checking a message stays cheap.
MAX_BLOCKED_WORDS = 1000
MAX_BLOCKED_WORD_CHARS = 64
# The region when the environment names none: local runs only (Lambda always sets AWS_REGION).
# The DynamoDB client and the @connections signer both fall back to it.
FALLBACK_REGION = "us-east-1"


def normalize_origin(origin: str) -> str:
    """Compare origins as browsers send them: scheme and host are case-insensitive, no slash."""
    return origin.strip().rstrip("/").lower()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the function reads from its environment."""

    table_name: str
    messages_table_name: str
    connections_endpoint: str | None = None
    allowed_origins: frozenset[str] = frozenset()
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS
    fanout_concurrency: int = DEFAULT_FANOUT_CONCURRENCY
    connection_ttl_seconds: int = DEFAULT_CONNECTION_TTL_SECONDS
    message_retention_days: int = DEFAULT_MESSAGE_RETENTION_DAYS
    presence_notice_max_members: int = DEFAULT_PRESENCE_NOTICE_MAX_MEMBERS
    rate_limit_messages_per_minute: int = DEFAULT_RATE_LIMIT_MESSAGES_PER_MINUTE
    rate_limit_message_burst: int = DEFAULT_RATE_LIMIT_MESSAGE_BURST
    rate_limit_reads_per_minute: int = DEFAULT_RATE_LIMIT_READS_PER_MINUTE
    rate_limit_read_burst: int = DEFAULT_RATE_LIMIT_READ_BURST
    metrics_namespace: str = DEFAULT_METRICS_NAMESPACE
    metrics_enabled: bool = True
    connect_rate_limit_per_minute: int = DEFAULT_CONNECT_RATE_LIMIT_PER_MINUTE
    room_max_members: int = DEFAULT_ROOM_MAX_MEMBERS
    auth_mode: AuthMode = AuthMode.NONE
    rate_limit_room_messages_per_minute: int = DEFAULT_RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE
    rate_limit_room_message_burst: int = DEFAULT_RATE_LIMIT_ROOM_MESSAGE_BURST
    rate_limit_source_frames_per_minute: int = DEFAULT_RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE
    rate_limit_source_frame_burst: int = DEFAULT_RATE_LIMIT_SOURCE_FRAME_BURST
    rate_limit_refusals_per_minute: int = DEFAULT_RATE_LIMIT_REFUSALS_PER_MINUTE
    rate_limit_refusal_burst: int = DEFAULT_RATE_LIMIT_REFUSAL_BURST
    live_connections_per_room: int = DEFAULT_LIVE_CONNECTIONS_PER_ROOM
    live_connections_total: int = DEFAULT_LIVE_CONNECTIONS_TOTAL
    typing_notice_max_members: int = DEFAULT_TYPING_NOTICE_MAX_MEMBERS
    reactions_max_distinct: int = DEFAULT_REACTIONS_MAX_DISTINCT
    reactions_max_per_person: int = DEFAULT_REACTIONS_MAX_PER_PERSON
    reactions_max_total: int = DEFAULT_REACTIONS_MAX_TOTAL
    # Moderation: the SHA-256 (hex) of the open chat's moderator secret (empty:
    # nobody moderates an open chat); the word filter's words and what it does with a match.
    moderator_secret_sha256: str = ""
    blocked_words: tuple[str, ...] = ()
    blocked_words_action: BlockedWordsAction = BlockedWordsAction.REFUSE

    @property
    def message_retention_s(self) -> int:
        """How long a message stays in the room's history, in seconds."""
        return self.message_retention_days * SECONDS_PER_DAY

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        """Build settings from ``env``; raise ``ConfigurationError`` naming every bad variable."""
        problems: list[str] = []
        table_name = env.get(EnvVar.TABLE_NAME, "").strip()
        if not table_name:
            problems.append(
                f"{EnvVar.TABLE_NAME} is required: set it to the connections table's name"
            )
        messages_table_name = env.get(EnvVar.MESSAGES_TABLE_NAME, "").strip()
        if not messages_table_name:
            problems.append(
                f"{EnvVar.MESSAGES_TABLE_NAME} is required: set it to the messages table's name"
            )

        endpoint = env.get(EnvVar.CONNECTIONS_ENDPOINT, "").strip().rstrip("/") or None
        if endpoint is not None and not secure_or_loopback(endpoint):
            problems.append(
                f"{EnvVar.CONNECTIONS_ENDPOINT} must be an https URL such as "
                f"https://{{api}}.execute-api.{{region}}.amazonaws.com/{{stage}} (http only on "
                f"the loopback: 127.0.0.1, ::1, localhost), got {endpoint!r}"
            )

        origins = frozenset(
            normalize_origin(part)
            for part in env.get(EnvVar.ALLOWED_ORIGINS, "").split(",")
            if part.strip()
        )

        max_chars = whole_number(env, EnvVar.MAX_MESSAGE_CHARS, DEFAULT_MAX_MESSAGE_CHARS, problems)
        if not 1 <= max_chars <= MAX_MESSAGE_CHARS_LIMIT:
            problems.append(
                f"{EnvVar.MAX_MESSAGE_CHARS} must be between 1 and {MAX_MESSAGE_CHARS_LIMIT} "
                f"(a browser sends a message in one frame of at most 32 KB), got {max_chars}"
            )
        concurrency = whole_number(
            env, EnvVar.FANOUT_CONCURRENCY, DEFAULT_FANOUT_CONCURRENCY, problems
        )
        if not 1 <= concurrency <= MAX_FANOUT_CONCURRENCY:
            problems.append(
                f"{EnvVar.FANOUT_CONCURRENCY} must be between 1 and {MAX_FANOUT_CONCURRENCY}, "
                f"got {concurrency}"
            )
        ttl = whole_number(
            env, EnvVar.CONNECTION_TTL_SECONDS, DEFAULT_CONNECTION_TTL_SECONDS, problems
        )
        if not MAX_CONNECTION_SECONDS < ttl <= MAX_CONNECTION_TTL_SECONDS:
            problems.append(
                f"{EnvVar.CONNECTION_TTL_SECONDS} must exceed API Gateway's "
                f"{MAX_CONNECTION_SECONDS} s connection limit and be at most "
                f"{MAX_CONNECTION_TTL_SECONDS} (a week), got {ttl}"
            )
        retention = whole_number(
            env, EnvVar.MESSAGE_RETENTION_DAYS, DEFAULT_MESSAGE_RETENTION_DAYS, problems
        )
        if not 1 <= retention <= MAX_MESSAGE_RETENTION_DAYS:
            problems.append(
                f"{EnvVar.MESSAGE_RETENTION_DAYS} must be between 1 and "
                f"{MAX_MESSAGE_RETENTION_DAYS}, got {retention}"
            )
        notice_max = whole_number(
            env,
            EnvVar.PRESENCE_NOTICE_MAX_MEMBERS,
            DEFAULT_PRESENCE_NOTICE_MAX_MEMBERS,
            problems,
        )
        if not 0 <= notice_max <= MAX_PRESENCE_NOTICE_MAX_MEMBERS:
            problems.append(
                f"{EnvVar.PRESENCE_NOTICE_MAX_MEMBERS} must be between 0 (no notices) and "
                f"{MAX_PRESENCE_NOTICE_MAX_MEMBERS}, got {notice_max}"
            )
        rates = {
            name: bounded(env, name, default, high, problems)
            for name, default, high in (
                (
                    EnvVar.RATE_LIMIT_MESSAGES_PER_MINUTE,
                    DEFAULT_RATE_LIMIT_MESSAGES_PER_MINUTE,
                    MAX_RATE_LIMIT_PER_MINUTE,
                ),
                (
                    EnvVar.RATE_LIMIT_MESSAGE_BURST,
                    DEFAULT_RATE_LIMIT_MESSAGE_BURST,
                    MAX_RATE_LIMIT_BURST,
                ),
                (
                    EnvVar.RATE_LIMIT_READS_PER_MINUTE,
                    DEFAULT_RATE_LIMIT_READS_PER_MINUTE,
                    MAX_RATE_LIMIT_PER_MINUTE,
                ),
                (EnvVar.RATE_LIMIT_READ_BURST, DEFAULT_RATE_LIMIT_READ_BURST, MAX_RATE_LIMIT_BURST),
                *_SHARED_RATE_LIMITS,
            )
        }
        connect_rate = bounded(
            env,
            EnvVar.CONNECT_RATE_LIMIT_PER_MINUTE,
            DEFAULT_CONNECT_RATE_LIMIT_PER_MINUTE,
            MAX_RATE_LIMIT_PER_MINUTE,
            problems,
        )
        room_max = bounded(
            env, EnvVar.ROOM_MAX_MEMBERS, DEFAULT_ROOM_MAX_MEMBERS, MAX_ROOM_MAX_MEMBERS, problems
        )
        live_per_room, live_total = (
            bounded(env, name, default, MAX_LIVE_CONNECTIONS, problems)
            for name, default in (
                (EnvVar.LIVE_CONNECTIONS_PER_ROOM, DEFAULT_LIVE_CONNECTIONS_PER_ROOM),
                (EnvVar.LIVE_CONNECTIONS_TOTAL, DEFAULT_LIVE_CONNECTIONS_TOTAL),
            )
        )
        typing_max = _typing_notice_max(env, problems)
        reaction_caps = {
            name: bounded(env, name, default, high, problems)
            for name, default, high in _REACTION_CAPS
        }
        namespace = env.get(EnvVar.METRICS_NAMESPACE, "").strip() or DEFAULT_METRICS_NAMESPACE
        if not _NAMESPACE.fullmatch(namespace) or namespace.startswith(":"):
            problems.append(
                f"{EnvVar.METRICS_NAMESPACE} must be 1 to 255 of A-Z a-z 0-9 . - _ / # : "
                f"(not starting with ':'), got {namespace!r}"
            )
        enabled_raw = env.get(EnvVar.METRICS_ENABLED, "true").strip().lower()
        if enabled_raw not in {"true", "false"}:
            problems.append(f"{EnvVar.METRICS_ENABLED} must be true or false, got {enabled_raw!r}")
        auth_raw = env.get(EnvVar.AUTH_MODE, "").strip().lower() or AuthMode.NONE.value
        if auth_raw not in {mode.value for mode in AuthMode}:
            problems.append(
                f"{EnvVar.AUTH_MODE} must be one of {', '.join(mode.value for mode in AuthMode)}, "
                f"got {auth_raw!r}"
            )

        moderation = _moderation(env, problems)
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(
            **moderation,
            table_name=table_name,
            messages_table_name=messages_table_name,
            connections_endpoint=endpoint,
            allowed_origins=origins,
            max_message_chars=max_chars,
            fanout_concurrency=concurrency,
            connection_ttl_seconds=ttl,
            message_retention_days=retention,
            presence_notice_max_members=notice_max,
            rate_limit_messages_per_minute=rates[EnvVar.RATE_LIMIT_MESSAGES_PER_MINUTE],
            rate_limit_message_burst=rates[EnvVar.RATE_LIMIT_MESSAGE_BURST],
            rate_limit_reads_per_minute=rates[EnvVar.RATE_LIMIT_READS_PER_MINUTE],
            rate_limit_read_burst=rates[EnvVar.RATE_LIMIT_READ_BURST],
            metrics_namespace=namespace,
            metrics_enabled=enabled_raw == "true",
            connect_rate_limit_per_minute=connect_rate,
            room_max_members=room_max,
            auth_mode=AuthMode(auth_raw),
            rate_limit_room_messages_per_minute=rates[EnvVar.RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE],
            rate_limit_room_message_burst=rates[EnvVar.RATE_LIMIT_ROOM_MESSAGE_BURST],
            rate_limit_source_frames_per_minute=rates[EnvVar.RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE],
            rate_limit_source_frame_burst=rates[EnvVar.RATE_LIMIT_SOURCE_FRAME_BURST],
            rate_limit_refusals_per_minute=rates[EnvVar.RATE_LIMIT_REFUSALS_PER_MINUTE],
            rate_limit_refusal_burst=rates[EnvVar.RATE_LIMIT_REFUSAL_BURST],
            live_connections_per_room=live_per_room,
            live_connections_total=live_total,
            typing_notice_max_members=typing_max,
            reactions_max_distinct=reaction_caps[EnvVar.REACTIONS_MAX_DISTINCT],
            reactions_max_per_person=reaction_caps[EnvVar.REACTIONS_MAX_PER_PERSON],
            reactions_max_total=reaction_caps[EnvVar.REACTIONS_MAX_TOTAL],
        )


# The room, source and refusal budgets: (variable, default, highest), bounded like the others.
_SHARED_RATE_LIMITS = (
    (
        EnvVar.RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE,
        DEFAULT_RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE,
        MAX_RATE_LIMIT_PER_MINUTE,
    ),
    (
        EnvVar.RATE_LIMIT_ROOM_MESSAGE_BURST,
        DEFAULT_RATE_LIMIT_ROOM_MESSAGE_BURST,
        MAX_RATE_LIMIT_BURST,
    ),
    (
        EnvVar.RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE,
        DEFAULT_RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE,
        MAX_RATE_LIMIT_PER_MINUTE,
    ),
    (
        EnvVar.RATE_LIMIT_SOURCE_FRAME_BURST,
        DEFAULT_RATE_LIMIT_SOURCE_FRAME_BURST,
        MAX_RATE_LIMIT_BURST,
    ),
    (
        EnvVar.RATE_LIMIT_REFUSALS_PER_MINUTE,
        DEFAULT_RATE_LIMIT_REFUSALS_PER_MINUTE,
        MAX_RATE_LIMIT_PER_MINUTE,
    ),
    (
        EnvVar.RATE_LIMIT_REFUSAL_BURST,
        DEFAULT_RATE_LIMIT_REFUSAL_BURST,
        MAX_RATE_LIMIT_BURST,
    ),
)


def _typing_notice_max(env: Mapping[str, str], problems: list[str]) -> int:
    value = whole_number(
        env, EnvVar.TYPING_NOTICE_MAX_MEMBERS, DEFAULT_TYPING_NOTICE_MAX_MEMBERS, problems
    )
    if not 0 <= value <= MAX_TYPING_NOTICE_MAX_MEMBERS:
        problems.append(
            f"{EnvVar.TYPING_NOTICE_MAX_MEMBERS} must be between 0 (no typing notices) and "
            f"{MAX_TYPING_NOTICE_MAX_MEMBERS}, got {value}"
        )
    return value


# The reaction caps on one message: (variable, default, highest).
_REACTION_CAPS = (
    (EnvVar.REACTIONS_MAX_DISTINCT, DEFAULT_REACTIONS_MAX_DISTINCT, MAX_REACTIONS_DISTINCT),
    (EnvVar.REACTIONS_MAX_PER_PERSON, DEFAULT_REACTIONS_MAX_PER_PERSON, MAX_REACTIONS_PER_PERSON),
    (EnvVar.REACTIONS_MAX_TOTAL, DEFAULT_REACTIONS_MAX_TOTAL, MAX_REACTIONS_TOTAL),
)


_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def _moderation(env: Mapping[str, str], problems: list[str]) -> dict[str, Any]:
    """The moderation settings: the moderator secret's digest and the word filter."""
    digest = env.get(EnvVar.MODERATOR_SECRET_SHA256, "").strip().lower()
    if digest and not _SHA256_HEX.fullmatch(digest):
        problems.append(
            f"{EnvVar.MODERATOR_SECRET_SHA256} must be empty (no moderator secret) or the "
            'SHA-256 of the secret as 64 hex digits (printf %s "$SECRET" | sha256sum)'
        )
    raw_words = env.get(EnvVar.BLOCKED_WORDS, "").strip() or "[]"
    words: tuple[str, ...] = ()
    try:
        parsed = json.loads(raw_words)
    except ValueError:
        parsed = None
    if not isinstance(parsed, list) or not all(isinstance(w, str) for w in parsed):
        problems.append(f"{EnvVar.BLOCKED_WORDS} must be a JSON list of strings, got {raw_words!r}")
    else:
        words = tuple(w.strip() for w in parsed if w.strip())
        bad = [w for w in words if len(w) > MAX_BLOCKED_WORD_CHARS or any(c.isspace() for c in w)]
        if len(words) > MAX_BLOCKED_WORDS or bad:
            problems.append(
                f"{EnvVar.BLOCKED_WORDS} must hold at most {MAX_BLOCKED_WORDS} words of at most "
                f"{MAX_BLOCKED_WORD_CHARS} characters without spaces; got {len(words)} words, "
                f"{len(bad)} of them too long or with spaces"
            )
    raw_action = env.get(EnvVar.BLOCKED_WORDS_ACTION, "").strip().lower() or "refuse"
    if raw_action not in {a.value for a in BlockedWordsAction}:
        problems.append(f"{EnvVar.BLOCKED_WORDS_ACTION} must be refuse or mask, got {raw_action!r}")
        raw_action = "refuse"
    return {
        "moderator_secret_sha256": digest,
        "blocked_words": words,
        "blocked_words_action": BlockedWordsAction(raw_action),
    }
