"""Every exception the authorizer raises on purpose, in one place.

::

    AuthorizerError            base of everything below
    ├── TokenRejected(reason)  the request does not prove who its user is: API Gateway answers
    │                          401 (the handler raises ``Exception("Unauthorized")``)
    ├── ConfigurationError     the environment is wrong; fix the deployment (answered 500)
    └── KeySetUnavailable      the issuer's keys could not be fetched or read (answered 500)

``reason`` and the messages are log-safe: they never hold the token or its claims.
"""

from __future__ import annotations


class AuthorizerError(Exception):
    """Base class of every deliberate authorizer exception."""


class TokenRejected(AuthorizerError):
    """The token is missing or invalid; ``reason`` is a log-safe machine word."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"token rejected: {reason}")
        self.reason = reason


class ConfigurationError(AuthorizerError):
    """The authorizer's environment is wrong; the message says what to fix."""


class KeySetUnavailable(AuthorizerError):
    """The issuer's JSON Web Key Set could not be fetched or parsed; the message says why."""
