"""The ``$connect`` authorizer: a Lambda REQUEST authorizer that lets a WebSocket in only with a
valid OpenID Connect ID token (issue #17; docs/protocol.md "Signing in", docs/internals.md "The
authorizer").

It is its own Lambda function (handler ``authorizer.handler.handler``) with its own package:
it imports nothing from ``chat``, and ``chat`` nothing from it.

::

    handler      the entry point: event -> token -> identity -> policy, one log line
    subprotocol  the token out of ``Sec-WebSocket-Protocol``
    verify       PyJWT's checks of an ID token, and the identity it names
    names        the display name: one claim, tagged unless unique (issue 25)
    jwks         the issuer's keys, fetched once per container and cached
    policy       the IAM policy API Gateway expects back
    config       the environment, read once and validated
    logs         one JSON line per invocation
    errors       every exception raised on purpose
"""
