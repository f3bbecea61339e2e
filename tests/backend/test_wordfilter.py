"""The word filter before publish: matching, masking, its settings, and the
``sendmessage``/``editmessage`` paths that refuse or mask, counted in ``messages_filtered``."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from chat.config import BlockedWordsAction, EnvVar, Settings
from chat.errors import ConfigurationError
from chat.wordfilter import WordFilter

from tests.backend.conftest import Logs
from tests.backend.test_changes import last, sent, stored_item
from tests.backend.test_handler import World, message_event, send

BASE = {"TABLE_NAME": "t", "MESSAGES_TABLE_NAME": "m"}


@pytest.mark.parametrize(
    ("text", "blocked"),
    [
        ("you are a darn fool", True),
        ("DARN", True),
        ("d.a.r.n it", True),
        ("dárn", True),  # a mark
        ("he11", True),  # digits passing for letters (the word "hell")
        ("d\u0430rn", True),  # a Cyrillic a
        ("well-darn-it", True),  # a part of a joined word
        ("darnation is a word", False),  # whole words only
        ("undarned", False),
        ("", False),
    ],
)
def test_matching_folds_as_names_do_on_whole_words(text: str, blocked: bool) -> None:
    """Case, marks, look-alikes and inner separators fold away; a longer word is no match."""
    assert WordFilter.of(["darn", "hell"]).matches(text) is blocked


def test_mask_replaces_each_blocked_word_only() -> None:
    """Each blocked word becomes ``***``; the rest of the text is kept as it was."""
    assert WordFilter.of(["darn"]).mask("Darn! oh DARN, darnation.") == "***! oh ***, darnation."


def test_an_empty_filter_is_off() -> None:
    """No words: nothing matches, nothing changes."""
    assert not WordFilter.of([]).matches("anything")
    assert WordFilter.of(["  ", "-"]).keys == frozenset()


def test_the_settings_read_and_bound_the_words() -> None:
    """A JSON list of words and an action; bad values are named."""
    settings = Settings.from_env(
        {
            **BASE,
            EnvVar.BLOCKED_WORDS: json.dumps(["darn", " heck "]),
            EnvVar.BLOCKED_WORDS_ACTION: "mask",
            EnvVar.MODERATOR_SECRET_SHA256: "AB" * 32,
        }
    )
    assert settings.blocked_words == ("darn", "heck")
    assert settings.blocked_words_action is BlockedWordsAction.MASK
    assert settings.moderator_secret_sha256 == "ab" * 32
    for env, named in (
        ({EnvVar.BLOCKED_WORDS: "darn,heck"}, EnvVar.BLOCKED_WORDS),
        ({EnvVar.BLOCKED_WORDS: json.dumps(["two words"])}, EnvVar.BLOCKED_WORDS),
        ({EnvVar.BLOCKED_WORDS: json.dumps(["x" * 65])}, EnvVar.BLOCKED_WORDS),
        ({EnvVar.BLOCKED_WORDS: json.dumps([str(i) for i in range(1001)])}, EnvVar.BLOCKED_WORDS),
        ({EnvVar.BLOCKED_WORDS_ACTION: "drop"}, EnvVar.BLOCKED_WORDS_ACTION),
        ({EnvVar.MODERATOR_SECRET_SHA256: "hunter2"}, EnvVar.MODERATOR_SECRET_SHA256),
    ):
        with pytest.raises(ConfigurationError, match=str(named)):
            Settings.from_env({**BASE, **env})
    default = Settings.from_env(BASE)
    assert (default.blocked_words, default.moderator_secret_sha256) == ((), "")


@pytest.fixture
def world(dynamodb: Any) -> World:
    """Two members of a room with a word filter."""
    world = World(dynamodb)
    world.settings = replace(world.settings, blocked_words=("darn",))
    world.join("a", name="alice")
    world.join("b", name="bob")
    return world


def test_refuse_stores_and_sends_nothing(world: World, logs: Logs) -> None:
    """``message_blocked`` with the clientId to the sender alone; counted in the metric."""
    before = len(world.sender.frames("b"))
    world.invoke(send("a", "oh DARN", clientId="c-1"))
    error = last(world, "a")
    assert (error["code"], error["clientId"]) == ("message_blocked", "c-1")
    assert len(world.sender.frames("b")) == before
    line = [r for r in logs.records if r.get("route") == "sendmessage"][-1]
    assert line["messages_filtered"] == 1


def test_mask_delivers_and_stores_the_masked_text(world: World, logs: Logs) -> None:
    """With ``mask`` the room and the table get ``***`` for the word; an edit is masked too."""
    world.settings = replace(world.settings, blocked_words_action=BlockedWordsAction.MASK)
    mid = sent(world, "a", "oh darn it")
    assert last(world, "b")["text"] == "oh *** it"
    assert stored_item(world, mid)["text"] == {"S": "oh *** it"}
    line = [r for r in logs.records if r.get("route") == "sendmessage"][-1]
    assert line["messages_filtered"] == 1
    body = json.dumps({"action": "editmessage", "id": mid, "text": "D.A.R.N again"})
    world.invoke(message_event("a", body, route="editmessage"))
    assert last(world, "b")["text"] == "*** again"


def test_an_edit_is_refused_like_a_send(world: World) -> None:
    """``refuse`` applies to ``editmessage`` too, naming the message."""
    mid = sent(world, "a", "fine words")
    body = json.dumps({"action": "editmessage", "id": mid, "text": "darn"})
    world.invoke(message_event("a", body, route="editmessage"))
    assert (last(world, "a")["code"], last(world, "a")["id"]) == ("message_blocked", mid)
    assert stored_item(world, mid)["text"] == {"S": "fine words"}


def test_a_clean_message_counts_nothing(world: World, logs: Logs) -> None:
    """No ``messages_filtered`` on a message the filter let through."""
    world.invoke(send("a", "hello"))
    line = [r for r in logs.records if r.get("route") == "sendmessage"][-1]
    assert "messages_filtered" not in line
