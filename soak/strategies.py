"""Hostile client frames, as text: whatever a client can put in a WebSocket text frame.

JSON is rendered by hand so that a frame can hold what ``json.dumps`` of a dict cannot:
duplicate keys, ``NaN``/``Infinity``, lone surrogates (as ``\\ud800`` escapes), numbers past
Python's 4,300-digit limit, nesting deeper than any parser goes. The chat's actions come up
often, so that generated frames reach every route and every field check, not only ``$default``.
"""

from __future__ import annotations

import json
from typing import Any

from chat.protocol import ACTIONS
from hypothesis import strategies as st

from local_stack.emulator.core.quotas import FRAME_LIMIT_BYTES

ANY_CHAR = st.characters(codec=None, exclude_categories=())
"""Any code point, surrogates included."""

# Field names the chat reads, and a few it must ignore.
KEYS = ("action", "text", "clientId", "after", "before", "limit", "room", "from", "type", "id")
ULID_LIKE = st.from_regex(r"[0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{26}", fullmatch=True)


def _number_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.integers().map(str),
        st.floats(allow_nan=False, allow_infinity=False).map(repr),
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e999", "-0", "1E400", "0.0"]),
        st.integers(4000, 5000).map(lambda digits: "9" * digits),  # past int's digit limit
    )


def _string_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(ANY_CHAR, max_size=40),
        st.sampled_from(sorted(ACTIONS)),
        ULID_LIKE,
        st.sampled_from(["", " ", "\u2028", "\x00", "$default", "$connect", "$disconnect"]),
    ).map(json.dumps)  # ensure_ascii: a lone surrogate becomes a \udxxx escape


def _nested(depth: int, opener: str) -> str:
    closer = "]" if opener == "[" else "}"
    inner = '{"a":' if opener == "{" else "["
    return inner * depth + "1" * (opener == "{") + closer * depth


def deep() -> st.SearchStrategy[str]:
    """A value nested 1 to 5,000 levels (past the parser's limit, within one 32 KB frame)."""
    return st.builds(_nested, st.integers(1, 5000), st.sampled_from("[{"))


def json_text() -> st.SearchStrategy[str]:
    """Any JSON-ish value as text (scalars, arrays, objects with duplicate keys, deep ones)."""
    scalars = st.one_of(st.sampled_from(["null", "true", "false"]), _number_text(), _string_text())

    def containers(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        keys = st.one_of(st.sampled_from(KEYS), st.text(ANY_CHAR, max_size=8)).map(json.dumps)
        return st.one_of(
            st.lists(children, max_size=4).map(lambda items: "[" + ",".join(items) + "]"),
            st.lists(st.tuples(keys, children), max_size=4).map(
                lambda pairs: "{" + ",".join(f"{k}:{v}" for k, v in pairs) + "}"
            ),
        )

    return st.one_of(st.recursive(scalars, containers, max_leaves=8), deep())


def chat_object() -> st.SearchStrategy[str]:
    """A JSON object shaped like a chat frame: known keys (repeated at will) with any values."""
    action = st.one_of(st.sampled_from(sorted(ACTIONS)).map(json.dumps), json_text())
    field = st.tuples(st.sampled_from(KEYS).map(json.dumps), json_text())
    return st.builds(
        lambda first, rest: "{" + ",".join(f"{k}:{v}" for k, v in [first, *rest]) + "}",
        st.tuples(st.just('"action"'), action),
        st.lists(field, max_size=5),
    )


def message_frame() -> st.SearchStrategy[str]:
    """A ``sendmessage`` that is often valid, with ``clientId``s from a small set, so messages
    are broadcast and a ``clientId`` is reused, sometimes within one batch."""
    return st.builds(
        lambda text, client_id: json.dumps(
            {"action": "sendmessage", "text": text}
            | ({} if client_id is None else {"clientId": client_id})
        ),
        st.text(ANY_CHAR, max_size=30),
        st.one_of(st.none(), st.sampled_from(["a", "b", "c-1", "d_2"]), st.uuids().map(str)),
    )


def hostile_frame() -> st.SearchStrategy[str]:
    """Any text frame a client may send: chat-shaped, any JSON, or not JSON at all."""
    return st.one_of(
        chat_object(),
        chat_object(),
        message_frame(),
        json_text(),
        st.text(ANY_CHAR, max_size=200),
        st.binary(max_size=64).map(lambda b: b.decode("latin-1")),
    )


def valid_text_frame(frame: str) -> bool:
    """Whether ``frame`` can travel in one text frame: UTF-8, at most 32 KB (a larger frame is
    closed with 1009, a different answer, tested on its own)."""
    try:
        return len(frame.encode("utf-8")) <= FRAME_LIMIT_BYTES
    except UnicodeEncodeError:
        return False


def parse(frame: str) -> Any:
    """``frame`` parsed as the emulator and the backend parse it, or None."""
    try:
        return json.loads(frame)
    except (ValueError, RecursionError):
        return None
