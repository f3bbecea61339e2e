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
}
REFUSED: Final = "refused"
"""Frames answered with an error frame, by ``ErrorCode``."""


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
    return {"_aws": {"Timestamp": timestamp_ms, "CloudWatchMetrics": directives}, **extra}
