"""The baseline: the loop of AWS's Python WebSocket chat example, one ``post_to_connection`` after
another with a default boto3 client; measured in full up to ``sequential_full_max`` recipients
and extrapolated beyond."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from bench.aws import local_session
from bench.fanout.rig import Rig
from bench.measure import Stopwatch, boto3_connections_opened, kernel_tcp_opens, passive_opens_since
from bench.paths import use_backend

use_backend()

from chat.connections import ConnectionId  # noqa: E402


def sequential_loop(rig: Rig, recipients: Sequence[ConnectionId]) -> dict[str, Any]:
    """AWS's example loop: a default boto3 client, one ``post_to_connection`` at a time."""
    client = local_session().client("apigatewaymanagementapi", endpoint_url=rig.endpoint)
    kernel_before = kernel_tcp_opens()
    errors = 0
    with Stopwatch() as watch:
        for connection_id in recipients:
            try:
                client.post_to_connection(Data=rig.payload, ConnectionId=connection_id)
            except ClientError:
                errors += 1
    accepted = passive_opens_since(kernel_before)
    opened = boto3_connections_opened(client)
    received = rig.wait_delivered(len(recipients))
    client.close()
    return {
        "posts": len(recipients),
        "wall_s": watch.span.wall_s,
        "cpu_ms_per_recipient": watch.span.cpu_s / len(recipients) * 1000,
        "errors": errors,
        "frames_received": received,
        "tcp_opened": opened,
        "tcp_accepted_kernel": accepted,
    }


def sequential_estimate(size: int, measured: dict[int, dict[str, Any]]) -> dict[str, Any]:
    if size in measured:
        return {**measured[size], "how": "measured"}
    if not measured:
        return {"wall_s": float("nan"), "how": "not measured"}
    basis = max(measured)
    per_post = measured[basis]["wall_s"] / basis
    return {
        "wall_s": per_post * size,
        "cpu_ms_per_recipient": measured[basis]["cpu_ms_per_recipient"],
        "how": f"extrapolated from {basis} measured posts",
    }
