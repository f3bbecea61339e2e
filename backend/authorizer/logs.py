"""One JSON object per line on standard output, as the chat writes them (``chat.logs``: the
keys of Lambda's JSON log format, so its log-level filtering applies). The authorizer is its
own package and zip, so it keeps this small formatter rather than import the chat's.

Fields are ids, machine words and durations: never the token, never its claims.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Final

LOGGER_NAME: Final = "authorizer"
LAMBDA_LEVELS: Final = {"WARNING": "WARN", "CRITICAL": "FATAL"}


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON: timestamp, level, logger, message and its fields."""

    def format(self, record: logging.LogRecord) -> str:
        """Render ``record`` (and its exception, if any) as a single JSON line."""
        line: dict[str, Any] = {
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": LAMBDA_LEVELS.get(record.levelname, record.levelname),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, separators=(",", ":"))


def configure() -> logging.Logger:
    """Give the ``authorizer`` logger one JSON handler on stdout (idempotent) and return it."""
    logger = logging.getLogger(LOGGER_NAME)
    if not any(getattr(handler, "_authorizer_json", False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        handler._authorizer_json = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        # The Lambda runtime's root handler would print every line a second time, as text.
        logger.propagate = False
    return logger
