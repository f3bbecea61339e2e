"""A stand-in for ``backend/authorizer`` (issue #17) until it is merged: a REQUEST authorizer
that verifies moto's Cognito ID tokens minimally, for tests that prove the local stack's and
the page's sign-in before the real authorizer exists. Never deployed, never a model.

It reads the contract's environment (``AUTH_ISSUER``, ``AUTH_AUDIENCE``, ``AUTH_JWKS_URL``),
takes the token from ``Sec-WebSocket-Protocol: awsome-chat, <jwt>``, checks signature, ``iss``,
``aud``, ``exp`` and ``token_use`` with PyJWT, and answers as the contract's authorizer does:
Allow on the method ARN with ``{"userId": sub, "name": ...}``, else ``Unauthorized``.
"""

from __future__ import annotations

import os
from typing import Any

import jwt

_keys: Any = None


def handler(event: dict[str, Any], _context: Any) -> dict[str, Any]:
    """Allow a valid ID token of the pool; raise ``Unauthorized`` otherwise."""
    global _keys  # noqa: PLW0603 -- one key client per execution environment
    if _keys is None:
        _keys = jwt.PyJWKClient(os.environ["AUTH_JWKS_URL"])
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    offered = [p.strip() for p in headers.get("sec-websocket-protocol", "").split(",")]
    if len(offered) != 2 or offered[0] != "awsome-chat":
        raise Exception("Unauthorized")  # the exact error message API Gateway reads as 401
    try:
        claims = jwt.decode(
            offered[1],
            _keys.get_signing_key_from_jwt(offered[1]).key,
            algorithms=["RS256"],
            audience=os.environ["AUTH_AUDIENCE"],
            issuer=os.environ["AUTH_ISSUER"],
        )
    except jwt.PyJWTError as exc:
        raise Exception("Unauthorized") from exc
    if claims.get("token_use") != "id":
        raise Exception("Unauthorized")
    name = next(
        str(claims[k])
        for k in ("name", "preferred_username", "cognito:username", "email", "sub")
        if claims.get(k)
    )
    return {
        "principalId": claims["sub"],
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": event["methodArn"]}
            ],
        },
        "context": {"userId": claims["sub"], "name": name},
    }
