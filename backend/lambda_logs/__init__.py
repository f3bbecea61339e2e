"""Structured logs for both functions: one JSON object per line on standard output, which
CloudWatch Logs keeps.

The chat (``chat.logs``) and the authorizer (``authorizer.logs``) are separate zips; the build
puts this package in both (``scripts.build_lambda.SHARED_PACKAGES``), so the line's format has
one definition.

The line's keys follow Lambda's JSON log format, so the function's application log level
filters these lines like the runtime's own (Lambda, "Log-level filtering"): ``level`` in
Lambda's names (``WARN``, not Python's ``WARNING``) and ``timestamp`` in RFC 3339, the key
the Python runtime writes. The lines are written to stdout by this package's own handler and do
not propagate to the runtime's, so each record is written once.

Callers pass their fields as ``extra={"fields": {...}}``; what a field may hold is each
function's rule (see its ``logs`` module).
"""

from __future__ import annotations

import json
import logging
import sys
import time
from typing import Any, Final

# Python's level names that Lambda spells differently (its levels: TRACE, DEBUG, INFO, WARN,
# ERROR, FATAL); a level Lambda does not know would be filed as INFO.
LAMBDA_LEVELS: Final = {"WARNING": "WARN", "CRITICAL": "FATAL"}

# Marks the handler ``configure`` adds, so a second call adds none.
_MARK: Final = "_lambda_json"


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


def configure(logger_name: str) -> logging.Logger:
    """Give the logger ``logger_name`` one JSON handler on stdout (idempotent) and return it."""
    logger = logging.getLogger(logger_name)
    if not any(getattr(handler, _MARK, False) for handler in logger.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        setattr(handler, _MARK, True)
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        # The Lambda runtime's root handler would print every line a second time, as text.
        logger.propagate = False
    return logger
