"""The JSON log line both functions write (``lambda_logs``): the keys Lambda's log-level
filtering reads, one line per record."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import authorizer.logs
import chat.logs
import pytest
from lambda_logs import JsonFormatter


def record(level: int, message: str = "hello", **fields: object) -> logging.LogRecord:
    """A record of the ``chat`` logger, with ``fields`` as the callers pass them."""
    made = logging.LogRecord("chat.test", level, __file__, 1, message, None, None)
    made.fields = fields
    return made


@pytest.mark.parametrize(
    ("level", "lambda_level"),
    [
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO"),
        (logging.WARNING, "WARN"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "FATAL"),
    ],
)
def test_level_is_named_as_lambda_names_it(level: int, lambda_level: str) -> None:
    """``level`` holds Lambda's level names, so the application log level filters the line."""
    assert json.loads(JsonFormatter().format(record(level)))["level"] == lambda_level


def test_timestamp_is_rfc3339_utc_under_the_runtimes_key() -> None:
    """``timestamp`` (the Python runtime's key) is RFC 3339 in UTC with milliseconds."""
    line = json.loads(JsonFormatter().format(record(logging.INFO)))
    assert "time" not in line
    offset = datetime.fromisoformat(line["timestamp"]).utcoffset()
    assert offset is not None
    assert offset.total_seconds() == 0
    assert line["timestamp"].endswith("Z")
    assert len(line["timestamp"]) == len("2026-11-30T12:00:00.000Z")


def test_fields_sit_beside_the_standard_keys() -> None:
    """A record's fields are top-level keys of its one line."""
    text = JsonFormatter().format(record(logging.INFO, "summary", routeKey="ping", ms=3))
    assert "\n" not in text
    line = json.loads(text)
    assert line["message"] == "summary"
    assert line["logger"] == "chat.test"
    assert (line["routeKey"], line["ms"]) == ("ping", 3)


@pytest.mark.parametrize("function", [chat.logs, authorizer.logs], ids=["chat", "authorizer"])
def test_records_are_written_once(function: Any) -> None:
    """Each function's logger has one JSON handler however often it is configured, and does not
    pass records on to the runtime's root handler (which would write them a second time)."""
    logger = function.configure()
    function.configure()
    assert logger.name == function.LOGGER_NAME
    json_handlers = [h for h in logger.handlers if isinstance(h.formatter, JsonFormatter)]
    assert len(json_handlers) == 1
    assert logger.propagate is False
