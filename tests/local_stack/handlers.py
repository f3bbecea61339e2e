"""Small Lambda handlers for the emulator's tests, run by the emulator like the real one.

``handler`` appends every event it gets to the file named by ``EVENT_LOG`` (one JSON document a
line) and then does what the event asks:

- ``$connect``: query ``status=<code>`` answers that status; ``crash`` raises; ``hang`` sleeps
  past any timeout; ``protocol=<p>`` accepts the subprotocol ``p``; ``post_self`` tries to post
  to its own connection and logs the error code it got; ``noanswer`` returns None.
- messages: ``{"action": <route>}`` where the route is ``echo`` (post the event's route, body
  and connection id back to the sender), ``crash``, ``hang``, ``exit`` (the process dies),
  ``context`` (post the Lambda context back), ``env`` (post one environment variable back),
  ``delete`` (delete its own connection); any other frame reaches ``$default``, which echoes.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

_client: Any = None


def _management() -> Any:
    global _client  # noqa: PLW0603 -- one client per execution environment, as in Lambda
    if _client is None:
        import boto3  # noqa: PLC0415

        _client = boto3.client(
            "apigatewaymanagementapi", endpoint_url=os.environ["CONNECTIONS_ENDPOINT"]
        )
    return _client


def _log(record: dict[str, Any]) -> None:
    path = os.environ.get("EVENT_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:  # noqa: PTH123
            log.write(json.dumps(record) + "\n")


def _reply(connection_id: str, payload: dict[str, Any]) -> None:
    _management().post_to_connection(ConnectionId=connection_id, Data=json.dumps(payload).encode())


def _connect(event: dict[str, Any]) -> dict[str, Any] | None:
    query = event.get("queryStringParameters") or {}
    if "crash" in query:
        raise RuntimeError("refusing to connect, loudly")
    if "hang" in query:
        time.sleep(3600)
    if "noanswer" in query:
        return None
    if "post_self" in query:
        try:
            _reply(event["requestContext"]["connectionId"], {"too": "early"})
            _log({"post_self": 200})
        except Exception as exc:  # the test reads which error API Gateway gave
            _log({"post_self": getattr(exc, "response", {}).get("Error", {}).get("Code")})
    answer: dict[str, Any] = {"statusCode": int(query.get("status", "200"))}
    if "protocol" in query:
        answer["headers"] = {"Sec-WebSocket-Protocol": query["protocol"]}
    return answer


def _message(event: dict[str, Any], context: Any) -> dict[str, Any]:
    route = event["requestContext"]["routeKey"]
    connection_id = event["requestContext"]["connectionId"]
    if route == "crash":
        raise RuntimeError("boom")
    if route == "hang":
        time.sleep(3600)
    if route == "exit":
        os._exit(3)
    if route == "context":
        _reply(
            connection_id,
            {
                "aws_request_id": context.aws_request_id,
                "function_name": context.function_name,
                "memory_limit_in_mb": context.memory_limit_in_mb,
                "remaining_ms": context.get_remaining_time_in_millis(),
                "invoked_function_arn": context.invoked_function_arn,
            },
        )
    elif route == "env":
        name = json.loads(event["body"])["name"]
        _reply(connection_id, {"name": name, "value": os.environ.get(name)})
    elif route == "delete":
        _management().delete_connection(ConnectionId=connection_id)
    else:
        _reply(
            connection_id,
            {
                "route": route,
                "body": event.get("body"),
                "isBase64Encoded": event.get("isBase64Encoded"),
                "connectionId": connection_id,
            },
        )
    return {"statusCode": 200}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    """Log the event, then behave as the event asks (see the module docstring)."""
    _log(event)
    route = event["requestContext"]["routeKey"]
    if route == "$connect":
        return _connect(event)
    if route == "$disconnect":
        return {"statusCode": 200}
    return _message(event, context)
