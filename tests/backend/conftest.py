"""Fixtures for the backend tests: a fake AWS environment, a moto table, captured JSON logs."""

from __future__ import annotations

import copy
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from chat.config import EnvVar
from chat.connections import TABLE_SCHEMA
from chat.logs import LOGGER_NAME, JsonFormatter
from chat.messages import TABLE_SCHEMA as MESSAGES_TABLE_SCHEMA
from moto import mock_aws

from tests.backend.management_api_server import ManagementApiServer

EVENTS = Path(__file__).parent / "events"
TABLE = "awsome-chat-test-connections"
MESSAGES_TABLE = "awsome-chat-test-messages"
REGION = "eu-west-1"


def load_event(name: str) -> dict[str, Any]:
    """A fresh copy of the event fixture ``events/{name}.json``."""
    return copy.deepcopy(json.loads((EVENTS / f"{name}.json").read_text()))


def create_table(client: Any, name: str = TABLE) -> None:
    """Create the connections and messages tables as Terraform and the local stack do."""
    client.create_table(TableName=name, **copy.deepcopy(TABLE_SCHEMA))
    client.create_table(TableName=MESSAGES_TABLE, **copy.deepcopy(MESSAGES_TABLE_SCHEMA))


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Fake credentials and a region; no endpoint overrides, profiles or config files leak in."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_SESSION_TOKEN",
        *EnvVar,
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    """A moto DynamoDB client with the connections and messages tables created."""
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        create_table(client)
        yield client


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


class Logs:
    """The JSON lines the ``chat`` loggers wrote during a test."""

    def __init__(self, handler: _ListHandler) -> None:
        self._handler = handler

    @property
    def lines(self) -> list[str]:
        """Raw lines, exactly as they would reach CloudWatch."""
        return list(self._handler.lines)

    @property
    def records(self) -> list[dict[str, Any]]:
        """Each line parsed (also proving each line is one JSON object)."""
        return [json.loads(line) for line in self._handler.lines]

    def invocations(self) -> list[dict[str, Any]]:
        """The per-invocation summary lines."""
        return [r for r in self.records if r["message"] == "invocation"]

    def clear(self) -> None:
        """Forget what was logged so far."""
        self._handler.lines.clear()


@pytest.fixture
def logs() -> Iterator[Logs]:
    """Capture the ``chat`` loggers' output as JSON lines."""
    handler = _ListHandler()
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    try:
        yield Logs(handler)
    finally:
        logger.removeHandler(handler)


@pytest.fixture
def management_api() -> Iterator[ManagementApiServer]:
    """A real local ``@connections`` HTTP endpoint on 127.0.0.1, stopped after the test."""
    server = ManagementApiServer().start()
    try:
        yield server
    finally:
        server.stop()
