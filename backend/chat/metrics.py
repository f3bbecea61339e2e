"""Custom metrics in CloudWatch's Embedded Metric Format (EMF), on the summary log line.

Each invocation already writes one JSON summary line (``handler``); with metrics on, the same
line also carries an ``_aws`` member that tells CloudWatch Logs which of its keys are metrics
("Specification: Embedded metric format", CloudWatch user guide): no extra dependency, no extra
API call, no second line. Every metric is a top-level number of the line; the dimensions are
the function's name and, for refusals only, the error code: low cardinality, never a room or
a connection id.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from .errors import ErrorCode

FUNCTION_DIMENSION: Final = "Function"
ERROR_CODE_DIMENSION: Final = "ErrorCode"
COUNT: Final = "Count"
MILLISECONDS: Final = "Milliseconds"

# The metrics of the summary line, by its keys, with their units.
METRICS: Final[Mapping[str, str]] = {
    "connections_opened": COUNT,
    "connections_closed": COUNT,
    "messages_accepted": COUNT,
    "delivered": COUNT,
    "pruned": COUNT,
    "retried": COUNT,
    "failed": COUNT,
    "fanout_ms": MILLISECONDS,
    "server_errors": COUNT,
    "moderation_actions": COUNT,
    "messages_filtered": COUNT,
}
MODERATION_ACTIONS_METRIC: Final = "moderation_actions"
"""Moderation actions taken, also by ``Action`` (the route)."""
MESSAGES_FILTERED: Final = "messages_filtered"
"""Messages the word filter refused or masked."""
ACTION_DIMENSION: Final = "Action"
SERVER_ERRORS: Final = "server_errors"
"""Invocations that failed on the server's side (0 or 1 on every line): what the alarm watches.

Refusals by design (a 4xx on ``$connect``, an error frame for a bad frame) are not failures;
an unexpected exception (``internal_error``, a 500), any 5xx answer and a message the table
would not store (``not_stored``) are.
"""
SERVER_FAILURE_CODES: Final = frozenset({ErrorCode.INTERNAL_ERROR, ErrorCode.NOT_STORED})
"""Error frame codes that mean the server failed, not the client."""
REFUSED: Final = "refused"
"""Frames answered with an error frame, by ``ErrorCode``."""


def server_failed(status: int, code: str | None) -> bool:
    """Whether an invocation answered with ``status`` and error ``code`` failed on our side."""
    return status >= 500 or code in SERVER_FAILURE_CODES


def embedded_metrics(
    line: Mapping[str, Any], *, namespace: str, function: str, timestamp_ms: int
) -> dict[str, Any]:
    """The keys to add to the summary ``line`` so that it is an EMF document.

    ``line`` must already hold the metric keys it reports (those of ``METRICS`` it has, and
    ``code`` for a refusal); keys it lacks are not declared.
    """
    present = [name for name in METRICS if isinstance(line.get(name), int | float)]
    directives: list[dict[str, Any]] = [
        {
            "Namespace": namespace,
            "Dimensions": [[FUNCTION_DIMENSION]],
            "Metrics": [{"Name": name, "Unit": METRICS[name]} for name in present],
        }
    ]
    extra: dict[str, Any] = {FUNCTION_DIMENSION: function}
    code = line.get("code")
    if isinstance(code, str):
        directives.append(
            {
                "Namespace": namespace,
                "Dimensions": [[FUNCTION_DIMENSION, ERROR_CODE_DIMENSION]],
                "Metrics": [{"Name": REFUSED, "Unit": COUNT}],
            }
        )
        extra[ERROR_CODE_DIMENSION] = code
        extra[REFUSED] = 1
    route = line.get("route")
    if isinstance(line.get(MODERATION_ACTIONS_METRIC), int) and isinstance(route, str):
        directives.append(
            {
                "Namespace": namespace,
                "Dimensions": [[FUNCTION_DIMENSION, ACTION_DIMENSION]],
                "Metrics": [{"Name": MODERATION_ACTIONS_METRIC, "Unit": COUNT}],
            }
        )
        extra[ACTION_DIMENSION] = route
    return {"_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}, **extra}
