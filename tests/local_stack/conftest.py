"""Fixtures of the emulator's tests: one shared stack running the test handlers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.stack import Stack, running_stack
from tests.local_stack.support import EventLog, handler_options


@pytest.fixture(scope="module")
def event_log(tmp_path_factory: pytest.TempPathFactory) -> EventLog:
    """Where the shared stack's test handler logs its events."""
    return EventLog(Path(tmp_path_factory.mktemp("events")) / "events.jsonl")


@pytest.fixture(scope="module")
def stack(event_log: EventLog) -> Iterator[Stack]:
    """A stack running ``tests/local_stack/handlers.py`` with default API Gateway settings."""
    with running_stack(handler_options(event_log.path)) as running:
        yield running
