"""Facts that Python, JavaScript and Terraform each state, held together (one fact,
one place).

The page (``frontend/js``), the Terraform variables and the emulator cannot import the chat's
Python, so each repeats a few of its facts; these tests fail when one side changes alone:

- error codes: every ``chat.errors.ErrorCode`` has words on the page (``errortext.js``'s
  ``ERROR_WORDS``, or ``describeError`` for ``message_too_long``), and every code the page tests
  for is one;
- the subprotocol ``awsome-chat``, the name, room and ``clientId`` rules, the history page;
- API Gateway's 2-hour and 10-minute limits: the chat's ``MAX_CONNECTION_SECONDS``, the
  emulator's, Terraform's ``connection_ttl_seconds`` bound and the page's timers;
- every numeric validation bound in ``terraform/variables.tf`` of a variable that reaches the
  function is the one ``chat.config.Settings.from_env`` enforces (probed at and past each bound);
- the largest ``MAX_MESSAGE_CHARS`` fits a browser's one frame and the ``message`` frame.

The JavaScript is read by importing the modules in Node, as the browser does.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from chat.config import (
    MAX_CONNECTION_SECONDS,
    MAX_MESSAGE_CHARS_LIMIT,
    EnvVar,
    Settings,
)
from chat.errors import ClientError, ConfigurationError, ErrorCode
from chat.events import SUBPROTOCOL
from chat.frames import MESSAGE_FRAME_MAX, message_frame
from chat.jobs import DeliverySettings
from chat.names import MAX_MARKS_PER_LETTER, MAX_NAME_CHARS
from chat.protocol import HISTORY_MAX_LIMIT, SendMessage, parse_frame
from chat.validation import DEFAULT_ROOM, clean_room

from local_stack.emulator.core.quotas import FRAME_LIMIT_BYTES, IDLE_TIMEOUT_S, MAX_CONNECTION_S
from local_stack.terraform_variables import function_variables
from tests.conftest import require_tool

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "frontend" / "js"
_PLACEHOLDER = re.compile(r"\$\{\w+\}")

# What the page exports that a Python fact mirrors; evaluated by Node with the modules imported.
_READ_PAGE = """
const [wire, checks, errortext, accountname, outbox, history, site] = await Promise.all(
  process.argv.slice(1).map((path) => import(path)));
const probes = JSON.parse(process.env.PROBES);
console.log(JSON.stringify({
  subprotocol: wire.SUBPROTOCOL,
  nameMaxChars: checks.NAME_MAX_CHARS,
  maxMarksPerLetter: checks.MAX_MARKS_PER_LETTER,
  defaultRoom: checks.DEFAULT_ROOM,
  rooms: probes.map((probe) => checks.ROOM_PATTERN.test(probe)),
  clientIds: probes.map((probe) => wire.CLIENT_ID_PATTERN.test(probe)),
  errorCodes: Object.keys(errortext.ERROR_WORDS),
  describesTooLong: errortext.describeError("message_too_long", 7).includes("7"),
  needsEdit: [...outbox.NEEDS_EDIT],
  accountNameMaxChars: accountname.MAX_NAME_CHARS,
  pageLimit: history.PAGE_LIMIT,
  pingIntervalMs: site.config.pingIntervalMs,
  pongTimeoutMs: site.config.pongTimeoutMs,
  renewAfterMs: site.config.renewAfterMs,
}));
"""
# Room and clientId candidates at and around the rules' edges.
PROBES = ["", "a", "lobby", "a-b_C9", "a" * 64, "a" * 65, "a b", "a.b", "é", "a/b", "#a"]


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The page's facts, read by Node from the modules themselves (config.js rendered from its
    template with empty values: only its fixed timers are read)."""
    node = require_tool("node", "the page's constants are read by importing its modules")
    site = tmp_path_factory.mktemp("site") / "config.mjs"
    template = (ROOT / "frontend" / "config.js.tpl").read_text(encoding="utf-8")
    site.write_text(_PLACEHOLDER.sub("", template), encoding="utf-8")
    modules = [
        JS / "wire.js",
        JS / "inputchecks.js",
        JS / "errortext.js",
        JS / "accountname.js",
        JS / "outbox.js",
        JS / "history.js",
    ]
    answer = subprocess.run(
        [node, "--input-type=module", "-e", _READ_PAGE]
        + [path.as_uri() for path in (*modules, site)],
        env={"PROBES": json.dumps(PROBES)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    facts: dict[str, Any] = json.loads(answer.stdout)
    return facts


def test_every_error_code_has_words_on_the_page(page: dict[str, Any]) -> None:
    """The page words each code the chat sends, and words no code the chat does not send."""
    assert page["describesTooLong"]
    assert {*page["errorCodes"], ErrorCode.MESSAGE_TOO_LONG} == {str(code) for code in ErrorCode}


def test_every_code_the_page_tests_for_is_a_chat_error_code(page: dict[str, Any]) -> None:
    """The outbox's codes and each ``code === "..."`` comparison in the page name real codes."""
    # ``typeof frame.code === "string"`` tests a type, not a code.
    sources = [re.sub(r"typeof\s+[\w.]+", "", path.read_text("utf-8")) for path in JS.glob("*.js")]
    compared = {
        match
        for source in sources
        for match in re.findall(r"\bcode\s*===?\s*\"([a-z_]+)\"", source)
    }
    assert compared, "the pattern found no comparison: is it still the page's form?"
    assert {*page["needsEdit"], *compared} <= {str(code) for code in ErrorCode}


def test_the_page_offers_the_chats_subprotocol_and_spells_it_once(page: dict[str, Any]) -> None:
    """``wire.js``'s ``SUBPROTOCOL`` is ``chat.events.SUBPROTOCOL``; no other module of the
    page writes the word as a string of its own."""
    assert page["subprotocol"] == SUBPROTOCOL
    copies = [
        path.name
        for path in JS.glob("*.js")
        if path.name != "wire.js" and re.search(rf"[\"'`]{SUBPROTOCOL}[\"'`]", path.read_text())
    ]
    assert copies == []


def test_the_pages_name_room_and_client_id_rules_are_the_chats(page: dict[str, Any]) -> None:
    """The page checks names, rooms and clientIds as the chat does, edges included."""
    assert page["nameMaxChars"] == page["accountNameMaxChars"] == MAX_NAME_CHARS
    assert page["maxMarksPerLetter"] == MAX_MARKS_PER_LETTER
    assert page["defaultRoom"] == DEFAULT_ROOM
    assert page["rooms"] == [clean_room(probe) is not None for probe in PROBES]
    assert page["clientIds"] == [client_id_accepted(probe) for probe in PROBES]
    assert 1 <= page["pageLimit"] <= HISTORY_MAX_LIMIT


def client_id_accepted(client_id: str) -> bool:
    """Whether the chat takes a ``sendmessage`` with this ``clientId``."""
    body = json.dumps({"action": "sendmessage", "text": "hi", "clientId": client_id})
    try:
        return isinstance(parse_frame(body, max_chars=10), SendMessage)
    except ClientError:
        return False


def test_api_gateways_connection_limits_are_one_fact(page: dict[str, Any]) -> None:
    """The 2-hour limit is the chat's, the emulator's and Terraform's TTL floor; the page pings
    (and hears back) within the 10-minute idle timeout and renews before the 2 hours."""
    assert MAX_CONNECTION_SECONDS == MAX_CONNECTION_S == 2 * 60 * 60
    assert IDLE_TIMEOUT_S == 10 * 60
    assert bounds_of("connection_ttl_seconds")[0] == (">", MAX_CONNECTION_SECONDS)
    assert page["pingIntervalMs"] + page["pongTimeoutMs"] < IDLE_TIMEOUT_S * 1000
    assert page["renewAfterMs"] < MAX_CONNECTION_S * 1000


def test_the_longest_message_fits_a_browsers_frame_and_the_message_frame() -> None:
    """``MAX_MESSAGE_CHARS_LIMIT`` characters of the worst case (4 bytes in UTF-8) fit the one
    frame a browser sends (32 KB, with the largest envelope), and the ``message`` frame."""
    text = "\U0001f600" * MAX_MESSAGE_CHARS_LIMIT
    client_id = "c" * 64
    # JSON.stringify's form: compact, and non-ASCII as UTF-8, as Python writes it here.
    sent = {"action": "sendmessage", "text": text, "clientId": client_id}
    frame = json.dumps(sent, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(frame) <= FRAME_LIMIT_BYTES
    delivered = message_frame(
        message_id="7" * 26,
        room="r" * 64,
        sender="\U0001f600" * MAX_NAME_CHARS,
        text=text,
        sent_at="2026-11-25T12:34:56.789Z",
        client_id=client_id,
    )
    assert len(delivered) <= MESSAGE_FRAME_MAX


_BOUND = re.compile(r"var\.(\w+)\s*(>=|>|<=|<)\s*(\d+)")


def bounds_of(variable: str) -> list[tuple[str, int]]:
    """The ``(operator, number)`` comparisons of ``var.<variable>`` in its validation."""
    text = (ROOT / "terraform" / "variables.tf").read_text(encoding="utf-8")
    block = re.search(rf'^variable "{variable}" \{{\n(.*?)^\}}', text, re.MULTILINE | re.DOTALL)
    assert block is not None, f'variables.tf has no variable "{variable}"'
    return [
        (operator, int(number))
        for name, operator, number in _BOUND.findall(block.group(1))
        if name == variable
    ]


def accepted(env_var: str, value: int) -> bool:
    """Whether the function accepts ``env_var`` = ``value`` (everything else its default)."""
    env = {EnvVar.TABLE_NAME: "connections", EnvVar.MESSAGES_TABLE_NAME: "messages"}
    try:
        Settings.from_env({**env, env_var: str(value)})
        DeliverySettings.from_env({env_var: str(value)})  # build_runtime reads both
    except ConfigurationError:
        return False
    return True


BOUNDED = [
    (variable, bounds) for variable in function_variables() if (bounds := bounds_of(variable.name))
]


def test_the_bounds_compared_are_many() -> None:
    """The parsing finds the validations (a changed form would silently compare nothing)."""
    assert len(BOUNDED) >= 15


@pytest.mark.parametrize(
    ("env_var", "bounds"),
    [(variable.env_var, bounds) for variable, bounds in BOUNDED],
    ids=[variable.name for variable, _ in BOUNDED],
)
def test_terraforms_bounds_are_the_functions(env_var: str, bounds: list[tuple[str, int]]) -> None:
    """At each bound Terraform's validation accepts, the function accepts; one past, it refuses:
    a value ``terraform plan`` takes never fails the function's cold start, and back."""
    for operator, number in bounds:
        edge, past = {
            ">=": (number, number - 1),
            ">": (number + 1, number),
            "<=": (number, number + 1),
            "<": (number - 1, number),
        }[operator]
        assert accepted(env_var, edge), f"the function refuses {env_var}={edge}"
        assert not accepted(env_var, past), f"the function accepts {env_var}={past}"
