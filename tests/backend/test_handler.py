"""The handler fed with real-shaped API Gateway WebSocket events, DynamoDB in moto."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayWebSocketConnectEventModel,
    APIGatewayWebSocketDisconnectEventModel,
    APIGatewayWebSocketMessageEventModel,
)
from chat.config import Settings
from chat.connection_table import DynamoConnectionStore
from chat.connections import (
    CLAIM_ATTRIBUTE,
    CONNECTED_AT_ATTRIBUTE,
    CONNECTION_ID_ATTRIBUTE,
    COUNTERS_ATTRIBUTE,
    NAME_ATTRIBUTE,
    OWNER_ATTRIBUTE,
    ROOM_ATTRIBUTE,
    ROOM_SHARD_ATTRIBUTE,
    SOURCE_ATTRIBUTE,
    TTL_ATTRIBUTE,
)
from chat.delivery import RetryPolicy
from chat.errors import ConnectionGone, PayloadTooLarge
from chat.handler import handle, handler
from chat.ids import UlidGenerator
from chat.message_table import DynamoMessageStore
from chat.room_shards import room_shard
from chat.runtime import Runtime
from pydantic import BaseModel

from tests.backend.conftest import MESSAGES_TABLE, TABLE, Logs, load_event
from tests.backend.fakes import FakeContext, RecordingSender

ROOT = Path(__file__).resolve().parents[2]
NOW_MS = 1_795_610_096_789
ULID = re.compile(r"[0-9A-HJKMNP-TV-Z]{26}")
ENDPOINT_FROM_EVENT = "https://abc123def4.execute-api.eu-west-1.amazonaws.com/prod"

MODELS: dict[str, type[BaseModel]] = {
    "$connect": APIGatewayWebSocketConnectEventModel,
    "$disconnect": APIGatewayWebSocketDisconnectEventModel,
}


def checked(event: dict[str, Any]) -> dict[str, Any]:
    """Validate ``event`` against Powertools' model for its route, then return it."""
    route = event["requestContext"]["routeKey"]
    MODELS.get(route, APIGatewayWebSocketMessageEventModel).model_validate(event)
    return event


def connect_event(
    cid: str, query: dict[str, str] | None = None, origin: str | None = "https://chat.example.com"
) -> dict[str, Any]:
    """A $connect event for ``cid`` with ``query`` and an Origin header (or none)."""
    event = load_event("connect")
    event["requestContext"]["connectionId"] = cid
    event["queryStringParameters"] = query
    event["multiValueQueryStringParameters"] = (
        None if query is None else {k: [v] for k, v in query.items()}
    )
    for headers in (event["headers"], event["multiValueHeaders"]):
        headers.pop("Origin")
    if origin is not None:
        event["headers"]["Origin"] = origin
        event["multiValueHeaders"]["Origin"] = [origin]
    return checked(event)


def message_event(cid: str, body: str | None, route: str = "sendmessage") -> dict[str, Any]:
    """A message event for ``cid`` on ``route`` with the raw ``body``."""
    event = load_event("sendmessage")
    event["requestContext"]["connectionId"] = cid
    event["requestContext"]["routeKey"] = route
    event["body"] = body
    return checked(event)


def send(cid: str, text: str, **extra: Any) -> dict[str, Any]:
    """A sendmessage event carrying ``text`` and any extra fields."""
    return message_event(cid, json.dumps({"action": "sendmessage", "text": text, **extra}))


def disconnect_event(cid: str) -> dict[str, Any]:
    """A $disconnect event for ``cid``."""
    event = load_event("disconnect")
    event["requestContext"]["connectionId"] = cid
    return checked(event)


@dataclass
class World:
    """A runtime over a moto table and a recording sender; ``settings`` can be changed."""

    dynamodb: Any
    sender: RecordingSender = field(default_factory=RecordingSender)
    settings: Settings = field(
        default_factory=lambda: Settings(table_name=TABLE, messages_table_name=MESSAGES_TABLE)
    )
    endpoints: list[str] = field(default_factory=list)
    store_wrapper: Callable[[Any], Any] = lambda store: store
    clock_ms: int = NOW_MS
    # One generator per world, as there is one per container.
    ids: UlidGenerator = field(default_factory=lambda: UlidGenerator(clock_ms=lambda: NOW_MS))

    def runtime(self) -> Runtime:
        """The runtime the handler gets for the next invocation."""

        def sender_for(endpoint: str) -> RecordingSender:
            self.endpoints.append(endpoint)
            return self.sender

        return Runtime(
            settings=self.settings,
            store=self.store_wrapper(DynamoConnectionStore(self.dynamodb, TABLE)),
            messages=DynamoMessageStore(self.dynamodb, MESSAGES_TABLE),
            sender_for=sender_for,
            new_id=self.ids.new,
            now_ms=lambda: self.clock_ms,
            guest_name=lambda: "guest-beef",
            policy=RetryPolicy(base_delay_s=0.001),
        )

    def invoke(self, event: Any, context: Any = None) -> dict[str, int]:
        """Run the handler on ``event``."""
        return handle(event, context or FakeContext(), runtime_factory=self.runtime)

    def item(self, cid: str) -> dict[str, Any] | None:
        """The raw table item of ``cid``."""
        response = self.dynamodb.get_item(
            TableName=TABLE, Key={CONNECTION_ID_ATTRIBUTE: {"S": cid}}
        )
        item: dict[str, Any] | None = response.get("Item")
        return item

    def items(self) -> list[dict[str, Any]]:
        """Every connection item in the table (a test may scan; the code never does); the
        per-source connect counters are not connections."""
        items: list[dict[str, Any]] = self.dynamodb.scan(TableName=TABLE)["Items"]
        return [item for item in items if ROOM_ATTRIBUTE in item]

    def join(
        self, cid: str, room: str = "general", name: str | None = None, key: str | None = None
    ) -> None:
        """Connect ``cid`` to ``room`` through the handler; one person's connections share a
        name key (by default one per name)."""
        name = name or f"user-{cid}"
        query = {"name": name, "room": room, "key": key or name_test_key(name)}
        assert self.invoke(connect_event(cid, query)) == {"statusCode": 200}


def name_test_key(name: str) -> str:
    """A well-formed name key for ``name`` (what the page derives from its secret)."""
    return hashlib.sha256(name.encode()).hexdigest()[:43]


@pytest.fixture
def world(dynamodb: Any) -> World:
    """A fresh world for one test."""
    return World(dynamodb)


@pytest.mark.parametrize(
    ("name", "model"),
    [
        ("connect", APIGatewayWebSocketConnectEventModel),
        ("disconnect", APIGatewayWebSocketDisconnectEventModel),
        ("sendmessage", APIGatewayWebSocketMessageEventModel),
        ("ping", APIGatewayWebSocketMessageEventModel),
        ("default", APIGatewayWebSocketMessageEventModel),
    ],
)
def test_fixtures_are_real_shaped(name: str, model: type[BaseModel]) -> None:
    """Every event fixture validates against AWS Lambda Powertools' event model."""
    model.model_validate(load_event(name))


def test_fixture_events_are_served(world: World) -> None:
    """The unmodified fixtures run through the handler: connect, send, ping, default, leave."""
    assert world.invoke(load_event("connect")) == {"statusCode": 200}
    for name in ("sendmessage", "ping", "default"):
        assert world.invoke(load_event(name)) == {"statusCode": 200}
    frames = world.sender.frames("Cq3VbdUxjoECH0A=")
    assert [frame["type"] for frame in frames] == ["message", "pong", "error"]
    assert frames[0]["from"] == "alice"
    assert frames[0]["text"] == "hello, world"
    assert frames[2]["code"] == "unknown_action"
    assert world.invoke(load_event("disconnect")) == {"statusCode": 200}
    assert world.items() == []


def test_connect_stores_the_documented_item(world: World) -> None:
    """$connect stores the trimmed name, the room, connectedAt (ms), expiresAt past 2 hours,
    and what it holds: its name's claim and the counters it counts against (the room's seats,
    its address's in the room and in total; the address as a digest only, also kept as its
    ``source`` for a ban in an open chat)."""
    assert world.invoke(connect_event("c1", {"name": "  alice ", "room": "general"})) == {
        "statusCode": 200
    }
    item = world.item("c1")
    assert item is not None
    assert item.pop(CLAIM_ATTRIBUTE) == {"S": "name#general#alice"}
    address, address_in_room, seats = item.pop(COUNTERS_ATTRIBUTE)["SS"]
    assert seats.startswith("seats#general#")  # one of the room's seat shards (chat.seats)
    assert item.pop(ROOM_SHARD_ATTRIBUTE) == {"S": room_shard("general", "c1")}
    assert address_in_room == f"{address}#general"
    assert address.startswith("live#a#")
    assert "203.0.113" not in address
    assert item == {
        CONNECTION_ID_ATTRIBUTE: {"S": "c1"},
        ROOM_ATTRIBUTE: {"S": "general"},
        NAME_ATTRIBUTE: {"S": "alice"},
        CONNECTED_AT_ATTRIBUTE: {"N": str(NOW_MS)},
        TTL_ATTRIBUTE: {"N": str(NOW_MS // 1000 + 10800)},
        OWNER_ATTRIBUTE: {"S": ""},  # no name key presented
        SOURCE_ATTRIBUTE: {"S": address.removeprefix("live#a#")},
    }


def test_connect_never_posts(world: World) -> None:
    """Nothing is posted during $connect (API Gateway would answer 410)."""
    world.join("c1")
    assert world.endpoints == []
    assert not world.sender.attempts


def test_connect_defaults(world: World) -> None:
    """Without query parameters the name is generated and the room is lobby."""
    assert world.invoke(connect_event("c1", None)) == {"statusCode": 200}
    item = world.item("c1")
    assert item is not None
    assert (item["name"]["S"], item["room"]["S"]) == ("guest-beef", "lobby")


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"name": ""}, "invalid_name"),
        ({"name": "   "}, "invalid_name"),
        ({"name": "x" * 33}, "invalid_name"),
        ({"name": "bad\u0000name"}, "invalid_name"),
        ({"room": ""}, "invalid_room"),
        ({"room": "no spaces"}, "invalid_room"),
        ({"room": "r" * 65}, "invalid_room"),
    ],
)
def test_invalid_connect_is_refused_with_400(
    world: World, logs: Logs, query: dict[str, str], reason: str
) -> None:
    """A present but invalid name or room refuses the handshake; the log line says why."""
    assert world.invoke(connect_event("c1", query)) == {"statusCode": 400}
    assert world.items() == []
    (line,) = logs.invocations()
    assert (line["outcome"], line["status"], line["reason"]) == ("refused", 400, reason)
    assert not world.sender.attempts


def test_origin_allowlist(world: World) -> None:
    """With ALLOWED_ORIGINS set, other origins get 403; listed ones and non-browsers pass."""
    world.settings = replace(
        world.settings, allowed_origins=frozenset({"https://chat.example.com"})
    )
    assert world.invoke(connect_event("evil", origin="https://evil.example")) == {"statusCode": 403}
    assert world.invoke(connect_event("ok", origin="https://Chat.Example.com")) == {
        "statusCode": 200
    }
    assert world.invoke(connect_event("cli", origin=None)) == {"statusCode": 200}
    assert {item["connectionId"]["S"] for item in world.items()} == {"ok", "cli"}


def test_origin_header_name_is_case_insensitive(world: World) -> None:
    """The Origin header is found whatever its case (HTTP/2 sends it lower-case)."""
    world.settings = replace(world.settings, allowed_origins=frozenset({"https://good.example"}))
    event = connect_event("c1", origin=None)
    event["headers"]["origin"] = "https://evil.example"
    assert world.invoke(event) == {"statusCode": 403}


def test_empty_allowlist_allows_every_origin(world: World) -> None:
    """Without ALLOWED_ORIGINS any origin may connect."""
    assert world.invoke(connect_event("c1", origin="https://anything.example")) == {
        "statusCode": 200
    }


def test_disconnect_deletes_and_is_idempotent(world: World) -> None:
    """$disconnect deletes the item; a second or unknown $disconnect is still a 200."""
    world.join("c1")
    assert world.invoke(disconnect_event("c1")) == {"statusCode": 200}
    assert world.item("c1") is None
    assert world.invoke(disconnect_event("c1")) == {"statusCode": 200}
    assert world.invoke(disconnect_event("never-connected")) == {"statusCode": 200}


def test_message_reaches_the_whole_room_and_only_it(world: World) -> None:
    """Every connection of the room, the sender included, gets the message; other rooms do not."""
    for cid in ("a", "b", "c"):
        world.join(cid, "general")
    world.join("x", "elsewhere")
    assert world.invoke(send("a", "  hello  ")) == {"statusCode": 200}
    frames = {cid: world.sender.frames(cid) for cid in ("a", "b", "c")}
    assert world.sender.frames("x") == []
    first = frames["a"][0]
    assert all(received == [first] for received in frames.values())
    assert set(first) == {"type", "id", "room", "from", "text", "sentAt", "rev", "changedAt"}
    assert (first["type"], first["room"], first["from"], first["text"]) == (
        "message",
        "general",
        "user-a",
        "hello",
    )
    assert ULID.fullmatch(first["id"])
    assert first["sentAt"] == "2026-11-25T12:34:56.789Z"


def test_ids_are_unique_per_message(world: World) -> None:
    """Each message gets its own id, in sending order."""
    world.join("a")
    for text in ("one", "two", "three"):
        world.invoke(send("a", text))
    ids = [frame["id"] for frame in world.sender.frames("a")]
    assert len(set(ids)) == 3
    assert ids == sorted(ids)


def test_spoofed_from_and_room_are_ignored(world: World) -> None:
    """from and room in the frame have no effect: the stored name and room are used."""
    world.join("mallory", "general", name="mallory")
    world.join("alice", "general", name="alice")
    world.join("secret", "vault", name="bob")
    world.invoke(send("mallory", "hi", **{"from": "alice", "room": "vault", "name": "alice"}))
    (frame,) = world.sender.frames("alice")
    assert (frame["from"], frame["room"]) == ("mallory", "general")
    assert world.sender.frames("secret") == []


def test_stale_recipient_is_pruned_while_the_rest_receive(world: World, logs: Logs) -> None:
    """A 410 recipient's item is deleted; the others still receive, then hear it left; the log
    counts it."""
    for cid in ("a", "b", "stale"):
        world.join(cid)
    world.sender.script["stale"] = [ConnectionGone("stale", "410")]
    logs.clear()
    world.invoke(send("a", "hello"))
    assert world.item("stale") is None
    for cid in ("a", "b"):
        assert [f["type"] for f in world.sender.frames(cid)] == ["message", "presence"]
        assert world.sender.frames(cid)[1]["name"] == "user-stale"
    (line,) = logs.invocations()
    assert (line["delivered"], line["pruned"], line["failed"]) == (4, 1, 0)


def test_payload_too_large_tells_the_sender(world: World) -> None:
    """When API Gateway refuses the size (413), the sender gets payload_too_large."""
    world.join("a")
    world.join("b")
    world.sender.script["b"] = [PayloadTooLarge("b", "413")]
    world.invoke(send("a", "big"))
    codes = [f.get("code") for f in world.sender.frames("a") if f["type"] == "error"]
    assert codes == ["payload_too_large"]
    assert world.sender.frames("b") == []


@pytest.mark.parametrize(
    ("body", "route", "code"),
    [
        ("not json", "$default", "invalid_json"),
        ("[1, 2]", "$default", "invalid_frame"),
        ('{"text": "hi"}', "$default", "unknown_action"),
        ('{"action": "shout"}', "$default", "unknown_action"),
        ('{"action": "sendmessage"}', "sendmessage", "invalid_field"),
        ('{"action": "sendmessage", "text": 42}', "sendmessage", "invalid_field"),
        ('{"action": "sendmessage", "text": "  "}', "sendmessage", "empty_message"),
        (
            '{"action": "sendmessage", "text": "' + "x" * 2001 + '"}',
            "sendmessage",
            "message_too_long",
        ),
        (None, "$default", "invalid_json"),
    ],
)
def test_bad_frames_answer_the_sender_alone(
    world: World, logs: Logs, body: str | None, route: str, code: str
) -> None:
    """A bad frame gets an error frame to its sender only; nobody else hears, nothing is stored."""
    world.join("a")
    world.join("b")
    before = world.items()
    logs.clear()
    assert world.invoke(message_event("a", body, route)) == {"statusCode": 200}
    (frame,) = world.sender.frames("a")
    assert frame["type"] == "error"
    assert frame["code"] == code
    assert isinstance(frame["message"], str)
    assert frame["message"]
    assert world.sender.frames("b") == []
    assert without_budgets(world.items()) == without_budgets(before)  # the frame was charged
    (line,) = logs.invocations()
    assert (line["outcome"], line["code"]) == ("rejected", code)


def without_budgets(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Connection items without their rate limits' GCRA times (``tat...``)."""
    return [{k: v for k, v in item.items() if not k.startswith("tat")} for item in items]


def test_message_limit_is_configurable(world: World) -> None:
    """MAX_MESSAGE_CHARS sets the limit and the error message states it."""
    world.settings = replace(world.settings, max_message_chars=10)
    world.join("a")
    world.invoke(send("a", "x" * 11))
    world.invoke(send("a", "x" * 10))
    error, message = world.sender.frames("a")
    assert error["code"] == "message_too_long"
    assert "10" in error["message"]
    assert message["text"] == "x" * 10


def test_unknown_sender_is_told_to_reconnect(world: World) -> None:
    """A connection with no stored item gets not_connected and nothing is broadcast."""
    world.join("b")
    world.invoke(send("ghost", "hello"))
    assert [f["code"] for f in world.sender.frames("ghost")] == ["not_connected"]
    assert world.sender.frames("b") == []


def test_ping_answers_pong_to_the_sender_only(world: World) -> None:
    """ping gets {"type": "pong"} to the sender alone."""
    world.join("a")
    world.join("b")
    event = load_event("ping")
    event["requestContext"]["connectionId"] = "a"
    assert world.invoke(event) == {"statusCode": 200}
    assert world.sender.frames("a") == [{"type": "pong"}]
    assert world.sender.frames("b") == []


def test_endpoint_comes_from_settings_or_the_event(world: World) -> None:
    """CONNECTIONS_ENDPOINT wins; without it the endpoint is https://{domainName}/{stage}."""
    world.join("a")
    world.invoke(send("a", "one"))
    world.settings = replace(world.settings, connections_endpoint="http://127.0.0.1:9/local")
    world.invoke(send("a", "two"))
    assert world.endpoints == [ENDPOINT_FROM_EVENT, "http://127.0.0.1:9/local"]


def test_remaining_time_bounds_the_fan_out(world: World, logs: Logs) -> None:
    """Near the Lambda's deadline nothing more is posted; the recipients count as failed."""
    world.join("a")
    world.join("b")
    logs.clear()
    world.invoke(send("a", "late"), FakeContext(remaining=lambda: 500))
    assert not world.sender.delivered
    (line,) = logs.invocations()
    assert (line["delivered"], line["failed"]) == (0, 2)


class Exploding:
    """A store whose reads fail with an error carrying secret-looking text."""

    def __init__(self, store: Any) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def admit(self, *_: Any) -> None:
        raise RuntimeError("boom: arn:aws:dynamodb:eu-west-1:123456789012:table/secret")


def test_unexpected_error_is_a_bare_500_and_a_generic_frame(world: World, logs: Logs) -> None:
    """Anything unexpected: bare 500, generic internal_error frame, traceback only in the log."""
    world.join("a")
    world.store_wrapper = Exploding
    logs.clear()
    assert world.invoke(send("a", "hello")) == {"statusCode": 500}
    (frame,) = world.sender.frames("a")
    assert frame == {
        "type": "error",
        "code": "internal_error",
        "message": "Something went wrong on the server; please try again.",
    }
    raw = b"".join(world.sender.delivered["a"])
    assert b"Traceback" not in raw
    assert b"boom" not in raw
    (line,) = logs.invocations()
    assert (line["outcome"], line["status"], line["reason"]) == ("error", 500, "RuntimeError")
    assert "Traceback" in line["exception"]


def test_connect_failure_is_a_500_without_posting(world: World) -> None:
    """If $connect fails unexpectedly, the answer is 500 and still nothing is posted."""

    class BrokenEnter(Exploding):
        def enter(self, *_: Any, **__: Any) -> None:
            raise RuntimeError("table unavailable")

    world.store_wrapper = BrokenEnter
    assert world.invoke(connect_event("c1")) == {"statusCode": 500}
    assert not world.sender.attempts


@pytest.mark.parametrize(
    "event",
    [None, {}, [], "text", {"requestContext": {}}, {"requestContext": {"routeKey": "ping"}}],
)
def test_malformed_events_never_raise(world: World, logs: Logs, event: Any) -> None:
    """An event that is not an API Gateway WebSocket event is a logged 500, not an exception."""
    assert world.invoke(event) == {"statusCode": 500}
    (line,) = logs.invocations()
    assert line["reason"] == "InvalidEvent"


def test_bad_configuration_is_a_logged_500(logs: Logs) -> None:
    """Without TABLE_NAME the real entry point answers 500 and logs why; it never raises."""
    assert handler(load_event("sendmessage"), FakeContext()) == {"statusCode": 500}
    (line,) = logs.invocations()
    assert line["reason"] == "ConfigurationError"
    assert "TABLE_NAME is required" in line["exception"]


def test_one_log_line_per_invocation_without_user_data(world: World, logs: Logs) -> None:
    """Each invocation writes exactly one JSON summary line with ids and counts, no user text."""
    world.invoke(connect_event("c1", {"name": "Sébastien", "room": "topsecretroom"}))
    world.invoke(connect_event("c2", {"name": "Quentin", "room": "topsecretroom"}))
    world.invoke(send("c1", "my password is hunter2"))
    world.invoke(message_event("c1", "garbage text here", "$default"))
    world.invoke(disconnect_event("c2"))
    assert len(logs.lines) == 5
    lines = logs.invocations()
    assert [line["route"] for line in lines] == [
        "$connect",
        "$connect",
        "sendmessage",
        "$default",
        "$disconnect",
    ]
    send_line = lines[2]
    assert send_line["connectionId"] == "c1"
    assert send_line["requestId"] == "req-0001"
    assert send_line["outcome"] == "ok"
    assert (send_line["delivered"], send_line["pruned"], send_line["retried"]) == (2, 0, 0)
    assert send_line["failed"] == 0
    assert isinstance(send_line["duration_ms"], float)
    everything = "\n".join(logs.lines)
    for secret in (
        "Sébastien",
        "S\\u00e9bastien",
        "Quentin",
        "topsecretroom",
        "hunter2",
        "garbage",
    ):
        assert secret not in everything


# A fresh process serves one event: the ``chat`` modules it imported are what a cold start with
# that first event compiles (the zip carries no bytecode; docs/performance.md, "Cold start").
_FIRST_EVENT = """
import json, sys
from chat.config import Settings
from chat.handler import handle
from chat.runtime import Runtime
from tests.backend.fakes import MemoryStore, RecordingSender

class Store(MemoryStore):
    def count_connect(self, source, window_s, expires_at_s):
        return 1

event = json.loads(sys.argv[1])
store = Store()
if event["requestContext"]["routeKey"] != "$connect":
    store.add(event["requestContext"]["connectionId"])
runtime = Runtime(
    settings=Settings(table_name="connections", messages_table_name="messages"),
    store=store,
    messages=None,
    sender_for=lambda _endpoint: RecordingSender(),
    new_id=lambda: "01ARZ3NDEKTSV4RRFFQ69G5FAV",
)
status = handle(event, None, runtime_factory=lambda: runtime)["statusCode"]
loaded = sorted(name for name in sys.modules if name.startswith("chat"))
print(json.dumps({"status": status, "chat": loaded}))
"""


def first_event_modules(event: dict[str, Any]) -> set[str]:
    """The ``chat`` modules a fresh process imports to serve ``event`` (which must succeed)."""
    done = subprocess.run(
        [sys.executable, "-c", _FIRST_EVENT, json.dumps(event)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "backend"), str(ROOT)])},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["status"] == 200
    return set(result["chat"])


def test_a_first_connect_loads_no_fan_out_frames_or_messages() -> None:
    """A cold start's first $connect compiles its use case alone: no broadcast, no sender,
    no frames, no messages table, no other route's use cases."""
    loaded = first_event_modules(load_event("connect"))
    assert "chat.usecases.connect" in loaded
    unneeded = {
        "chat.broadcast",
        "chat.frames",
        "chat.flight",
        "chat.gateway",
        "chat.http_answers",
        "chat.links",
        "chat.messages",
        "chat.presence",
        "chat.protocol",
        "chat.usecases.replies",
        "chat.usecases.rooms",
    }
    assert not loaded & unneeded


def test_a_first_ping_loads_neither_the_rooms_nor_the_client_frames() -> None:
    """A cold start's first ping compiles the fan-out and the pong, not the rooms' use cases,
    presence, the messages table, $connect's use case, or the client frames and the text checks
    they use (a ping's body is never parsed: API Gateway routed it by its action)."""
    loaded = first_event_modules(load_event("ping"))
    assert {"chat.usecases.replies", "chat.broadcast", "chat.frames"} <= loaded
    unneeded = {
        "chat.messages",
        "chat.names",
        "chat.presence",
        "chat.protocol",
        "chat.usecases.connect",
        "chat.usecases.rooms",
        "chat.validation",
    }
    assert not loaded & unneeded
