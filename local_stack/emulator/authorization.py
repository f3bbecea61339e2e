"""The sans-I/O rules of a Lambda REQUEST authorizer on ``$connect`` (pure, like ``core``).

API Gateway runs a WebSocket API's authorizer before the ``$connect`` integration
("Control access to WebSocket APIs with AWS Lambda REQUEST authorizers"):

- ``identity_values``: the request's identity sources (``route.request.header.<name>``,
  ``route.request.querystring.<name>``); one missing or empty refuses the handshake with 401
  without invoking the authorizer.
- ``method_arn``: ``arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/$connect``.
- ``decide_authorization``: the authorizer's result as API Gateway reads it. A raised
  ``Unauthorized`` is 401, any other error (or a malformed output) 500, a policy that denies or
  does not allow ``execute-api:Invoke`` on the method ARN 403; an Allow passes
  ``{"principalId": ..., **context}`` on to ``requestContext.authorizer`` of every event of the
  connection.
- ``policy_allows``: IAM's evaluation of the returned policy for one action and resource:
  an explicit Deny wins, else some Allow must match; ``*`` and ``?`` are wildcards in actions
  and resources, and ``*`` crosses ``/`` and ``:``, so ``{api}/{stage}/*/*`` does not match
  ``{api}/{stage}/$connect`` (one segment), exactly as in AWS (Powertools Python issue 5800).

The event itself is built by ``core.events.EventBuilder.authorizer_request``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.responses import (
    IntegrationResult,
    IntegrationTimedOut,
    InvocationFailed,
)
from local_stack.emulator.core.routes import CONNECT_ROUTE
from local_stack.emulator.core.sockets import ClientSocket

INVOKE_ACTION: Final = "execute-api:Invoke"
ACCOUNT_ID: Final = "000000000000"
"""The account in method ARNs: the one the local Lambda runtime's function ARNs name."""
UNAUTHORIZED_MESSAGE: Final = "Unauthorized"
"""The error message with which an authorizer asks for a 401 (any other error is a 500)."""

_HEADER_SOURCE: Final = "route.request.header."
_QUERY_SOURCE: Final = "route.request.querystring."
_SCALARS: Final = (str, int, float, bool)


def check_identity_source(source: str) -> None:
    """Refuse an identity source this emulator cannot evaluate (stage variables, context)."""
    for prefix in (_HEADER_SOURCE, _QUERY_SOURCE):
        if source.startswith(prefix) and len(source) > len(prefix):
            return
    raise EmulatorConfigError(
        f"identity source {source!r} is not supported: use {_HEADER_SOURCE}<name> or "
        f"{_QUERY_SOURCE}<name>"
    )


def identity_values(connection: ClientSocket, sources: tuple[str, ...]) -> list[str] | None:
    """The value of each identity source, or None when one is missing or empty (401).

    Header names match case-insensitively, as HTTP's do; query string names exactly.
    """
    values: list[str] = []
    for source in sources:
        if source.startswith(_HEADER_SOURCE):
            name = source[len(_HEADER_SOURCE) :].lower()
            found = [v for k, v in connection.headers if k.lower() == name]
        else:
            name = source[len(_QUERY_SOURCE) :]
            found = [v for k, v in connection.query if k == name]
        if not found or not found[0].strip():
            return None
        values.append(found[0])
    return values


def method_arn(region: str, api_id: str, stage: str, account_id: str = ACCOUNT_ID) -> str:
    """The ``methodArn`` of ``$connect``: a WebSocket method ARN has no HTTP verb."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{CONNECT_ROUTE}"


@lru_cache(maxsize=256)
def _pattern(glob: str, *, ignore_case: bool) -> re.Pattern[str]:
    body = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in glob
    )
    return re.compile(body, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _matches(globs: Any, value: str, *, ignore_case: bool) -> bool:
    """Whether ``value`` matches one of ``globs`` (a string or a list of strings)."""
    items = [globs] if isinstance(globs, str) else globs
    if not isinstance(items, list) or not items or not all(isinstance(g, str) for g in items):
        raise MalformedOutputError(f"expected a string or a list of strings, got {globs!r}")
    return any(_pattern(g, ignore_case=ignore_case).fullmatch(value) for g in items)


def _statement_applies(statement: Any, action: str, resource: str) -> bool:
    if not isinstance(statement, dict):
        raise MalformedOutputError("a policy statement must be an object")
    # IAM: action names are case-insensitive, resource ARNs case-sensitive.
    if ("Action" in statement) == ("NotAction" in statement):
        raise MalformedOutputError("a statement needs exactly one of Action and NotAction")
    if ("Resource" in statement) == ("NotResource" in statement):
        raise MalformedOutputError("a statement needs exactly one of Resource and NotResource")
    if "Action" in statement:
        action_ok = _matches(statement["Action"], action, ignore_case=True)
    else:
        action_ok = not _matches(statement["NotAction"], action, ignore_case=True)
    if "Resource" in statement:
        resource_ok = _matches(statement["Resource"], resource, ignore_case=False)
    else:
        resource_ok = not _matches(statement["NotResource"], resource, ignore_case=False)
    return action_ok and resource_ok


def policy_allows(document: Any, action: str, resource: str) -> bool:
    """IAM's verdict for ``action`` on ``resource``: an explicit Deny wins, else an Allow must
    match; ``MalformedOutputError`` for a document IAM would not accept."""
    if not isinstance(document, dict) or "Statement" not in document:
        raise MalformedOutputError("policyDocument must be an object with a Statement")
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        raise MalformedOutputError("Statement must be an object or a list of objects")
    allowed = False
    for statement in statements:
        applies = _statement_applies(statement, action, resource)
        effect = statement.get("Effect")
        if effect not in {"Allow", "Deny"}:
            raise MalformedOutputError(f"Effect must be Allow or Deny, got {effect!r}")
        if applies and effect == "Deny":
            return False
        allowed = allowed or applies
    return allowed


class MalformedOutputError(ValueError):
    """The authorizer returned something API Gateway cannot use (it answers 500)."""


@dataclass(frozen=True)
class Authorization:
    """API Gateway's verdict on one handshake: go on to ``$connect``, or refuse with ``status``.

    ``context`` is what ``requestContext.authorizer`` carries for the connection's events.
    """

    allowed: bool
    status: int
    context: Mapping[str, Any] = field(default_factory=dict)
    body: str = ""
    reason: str = ""
    """Why it was refused, for the emulator's log (never a token)."""


def _refused(status: int, message: str, reason: str) -> Authorization:
    return Authorization(False, status, {}, json.dumps({"message": message}), reason)


MISSING_IDENTITY: Final = _refused(401, "Unauthorized", "an identity source is missing")


def decide_authorization(result: IntegrationResult, arn: str) -> Authorization:
    """Read the authorizer's result as API Gateway does (see the module docstring)."""
    if isinstance(result, IntegrationTimedOut):
        return _refused(500, "Internal server error", "the authorizer timed out")
    if isinstance(result, InvocationFailed):
        if result.message == UNAUTHORIZED_MESSAGE:
            return _refused(401, "Unauthorized", "the authorizer raised Unauthorized")
        return _refused(500, "Internal server error", f"the authorizer failed: {result.error_type}")
    payload = result.payload
    try:
        if not isinstance(payload, dict):
            raise MalformedOutputError("the output must be an object")
        principal = payload.get("principalId")
        if not isinstance(principal, str) or not principal:
            raise MalformedOutputError("principalId must be a non-empty string")
        context = payload.get("context") or {}
        # "Working with AWS Lambda authorizers": context values are strings, numbers or
        # booleans; an object or an array is an error.
        if not isinstance(context, dict) or not all(
            isinstance(v, _SCALARS) for v in context.values()
        ):
            raise MalformedOutputError("context must map keys to strings, numbers or booleans")
        allowed = policy_allows(payload.get("policyDocument"), INVOKE_ACTION, arn)
    except MalformedOutputError as exc:
        return _refused(500, "Internal server error", f"malformed authorizer output: {exc}")
    if not allowed:
        return _refused(403, "Forbidden", "the policy does not allow $connect")
    return Authorization(True, 200, {"principalId": principal, **context})
