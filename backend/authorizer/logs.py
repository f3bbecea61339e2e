"""The authorizer's structured logs: ``lambda_logs``' JSON lines (the chat's format, which the
build puts in both zips) under the ``authorizer`` logger.

Fields are ids, machine words and durations: never the token, never its claims.
"""

from __future__ import annotations

import logging
from typing import Final

import lambda_logs
from lambda_logs import JsonFormatter

__all__ = ["LOGGER_NAME", "JsonFormatter", "configure"]

LOGGER_NAME: Final = "authorizer"


def configure() -> logging.Logger:
    """Give the ``authorizer`` logger one JSON handler on stdout (idempotent) and return it."""
    return lambda_logs.configure(LOGGER_NAME)
