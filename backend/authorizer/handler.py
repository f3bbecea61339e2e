"""The Lambda entry point, ``authorizer.handler.handler``: a REQUEST authorizer for ``$connect``.

event -> the token from ``Sec-WebSocket-Protocol`` -> a verified identity -> an Allow policy for
exactly the event's ``methodArn``, with ``{"userId", "name"}`` as context.

Refusals (docs/protocol.md, "Signing in"): a missing, malformed, forged, expired or foreign
token, or an access token, raises ``Exception("Unauthorized")``, which API Gateway answers with
401 ("Use API Gateway Lambda authorizers": the one message it maps to 401). The authorizer never
returns a Deny: 403 stays the chat's answer for a foreign origin or a full room. A broken
environment or an unreachable issuer raises anything else, which API Gateway answers with 500:
the user's token was never judged, so it is not called invalid. Every invocation writes one log
line with its outcome and reason, never the token.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .config import AuthSettings, EnvVar
from .errors import AuthorizerError, TokenRejected
from .jwks import KeySet
from .logs import configure
from .policy import allow
from .subprotocol import token_from_headers
from .verify import verify_id_token

configure()
log = logging.getLogger("authorizer.handler")

# The one message API Gateway turns into 401 rather than 500.
UNAUTHORIZED: Final = "Unauthorized"


@dataclass(frozen=True, slots=True)
class Authorizer:
    """What one container reuses across invocations: the settings and the cached keys."""

    settings: AuthSettings
    keys: KeySet


def build_authorizer(env: Mapping[str, str]) -> Authorizer:
    """Validate ``env`` and create the (still empty) key cache."""
    settings = AuthSettings.from_env(env)
    return Authorizer(settings=settings, keys=KeySet(settings.issuer, settings.jwks_url))


_authorizers: dict[tuple[str | None, ...], Authorizer] = {}
_lock = threading.Lock()


def authorizer_for(env: Mapping[str, str]) -> Authorizer:
    """The container's authorizer for ``env``, built once (keyed by the variables it reads, so
    a process serving several environments, as tests do, gets the right one for each)."""
    key = tuple(env.get(name) for name in EnvVar)
    with _lock:
        authorizer = _authorizers.get(key)
        if authorizer is None:
            authorizer = build_authorizer(env)
            _authorizers[key] = authorizer
        return authorizer


def _headers(event: Mapping[str, Any]) -> dict[str, str]:
    headers = event.get("headers")
    if not isinstance(headers, dict):
        return {}
    return {k: v for k, v in headers.items() if isinstance(k, str) and isinstance(v, str)}


def handle(
    event: Any, context: Any, authorizer_factory: Callable[[], Authorizer] | None = None
) -> dict[str, Any]:
    """Authorize one ``$connect`` with the authorizer from ``authorizer_factory`` (default: the
    environment's); return the Allow policy or raise (module docstring)."""
    started = time.perf_counter()
    fields: dict[str, Any] = {"requestId": getattr(context, "aws_request_id", None)}
    if isinstance(event, dict) and isinstance(event.get("requestContext"), dict):
        fields["connectionId"] = event["requestContext"].get("connectionId")
    try:
        if not isinstance(event, dict) or not isinstance(event.get("methodArn"), str):
            raise AuthorizerError("the event has no methodArn: not a REQUEST authorizer event")
        authorizer = authorizer_factory() if authorizer_factory else authorizer_for(os.environ)
        token = token_from_headers(_headers(event))
        identity = verify_id_token(token, authorizer.settings, authorizer.keys)
        response = allow(identity, event["methodArn"])
    except TokenRejected as rejected:
        _log(logging.INFO, fields, started, outcome="unauthorized", reason=rejected.reason)
        # Only the message counts; "from None" keeps the rejection (and PyJWT's error) out of
        # the traceback the Lambda runtime logs.
        raise Exception(UNAUTHORIZED) from None
    except AuthorizerError as error:
        _log(
            logging.ERROR,
            fields,
            started,
            outcome="error",
            reason=type(error).__name__,
            detail=str(error),
        )
        raise
    except Exception as error:
        _log(
            logging.ERROR,
            fields,
            started,
            outcome="error",
            reason=type(error).__name__,
            exc_info=True,
        )
        raise
    _log(logging.INFO, fields, started, outcome="allowed", reason=None, userId=identity.user_id)
    return response


def _log(
    level: int,
    fields: dict[str, Any],
    started: float,
    *,
    exc_info: bool = False,
    **more: Any,
) -> None:
    summary = {
        **fields,
        **more,
        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
    }
    log.log(level, "authorization", exc_info=exc_info, extra={"fields": summary})


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda handler: allow a ``$connect`` with a valid ID token, else raise."""
    return handle(event, context)
