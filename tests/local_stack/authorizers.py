"""A small Lambda REQUEST authorizer for the emulator's tests, run by the emulator like a real one.

It logs every event to ``EVENT_LOG`` (as ``handlers.py`` does, marked ``"authorizer": true``;
give it a log of its own: its events have ``$connect``'s request context),
then reads the verdict from its identity source: the second subprotocol offered in
``Sec-WebSocket-Protocol`` (``awsome-chat, <verdict>``), or else the ``token`` query string:

- ``allow-<user>``: Allow ``execute-api:Invoke`` on the event's ``methodArn``, with the context
  ``{"userId": <user>, "name": "User <user>"}`` and ``principalId`` ``p-<user>``;
- ``stage-wildcard``: Allow on ``{api}/{stage}/*`` (covers ``$connect``);
- ``rest-wildcard``: Allow on ``{api}/{stage}/*/*`` (a REST-style policy: does not);
- ``other-route``: Allow on ``{api}/{stage}/sendmessage`` only;
- ``deny``: an explicit Deny on the method ARN, beside an Allow on ``*``;
- ``raise``: ``raise Exception("Unauthorized")``; ``crash``: any other exception;
- ``malformed``: an output without a policy; ``nested``: a context value that is an object.
"""

from __future__ import annotations

import json
import os
from typing import Any


def _policy(effect: str, resource: str | list[str]) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
    }


def _verdict(event: dict[str, Any]) -> str:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
    if len(offered) > 1:
        return offered[1]
    return str((event.get("queryStringParameters") or {}).get("token", ""))


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """Log the event, then answer as the verdict in its identity source says."""
    path = os.environ.get("EVENT_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:  # noqa: PTH123
            log.write(json.dumps({"authorizer": True, **event}) + "\n")
    verdict = _verdict(event)
    arn = event["methodArn"]
    stage_prefix = arn.rsplit("/", 1)[0]
    if verdict.startswith("allow-"):
        user = verdict.removeprefix("allow-")
        return {
            "principalId": f"p-{user}",
            "policyDocument": _policy("Allow", arn),
            "context": {"userId": user, "name": f"User {user}"},
        }
    answers: dict[str, dict[str, Any]] = {
        "stage-wildcard": {
            "principalId": "w",
            "policyDocument": _policy("Allow", f"{stage_prefix}/*"),
        },
        "rest-wildcard": {
            "principalId": "w",
            "policyDocument": _policy("Allow", f"{stage_prefix}/*/*"),
        },
        "other-route": {
            "principalId": "o",
            "policyDocument": _policy("Allow", f"{stage_prefix}/sendmessage"),
        },
        "deny": {
            "principalId": "d",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {"Action": "execute-api:*", "Effect": "Allow", "Resource": "*"},
                    {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": arn},
                ],
            },
        },
        "malformed": {"principalId": "m"},
        "nested": {
            "principalId": "n",
            "policyDocument": _policy("Allow", arn),
            "context": {"a": {"b": 1}},
        },
    }
    if verdict == "raise":
        raise Exception("Unauthorized")  # the exact error message API Gateway reads as 401
    if verdict == "crash":
        raise RuntimeError("the authorizer broke")
    return answers.get(verdict, answers["malformed"])
