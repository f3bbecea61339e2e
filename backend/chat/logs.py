"""The chat's structured logs: ``lambda_logs``' JSON lines under the ``chat`` logger.

Callers log through ``logging.getLogger("chat...")`` and pass their fields as
``extra={"fields": {...}}``. Fields are ids, counts and machine words only: never message text,
names, rooms or AWS error text that could echo them.
"""

from __future__ import annotations

import logging
from typing import Final

import lambda_logs
from lambda_logs import JsonFormatter

__all__ = ["LOGGER_NAME", "JsonFormatter", "configure"]

LOGGER_NAME: Final = "chat"


def configure() -> logging.Logger:
    """Give the ``chat`` logger one JSON handler on stdout (idempotent) and return it."""
    return lambda_logs.configure(LOGGER_NAME)
