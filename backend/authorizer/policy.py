"""What the authorizer returns to API Gateway ("Create a Lambda REQUEST authorizer function"
and "Output from an API Gateway Lambda authorizer").

The policy allows exactly ``execute-api:Invoke`` on the event's ``methodArn``, the ``$connect``
route of this stage: a policy for ``stage/*/*`` would not match a WebSocket route's ARN
(aws-lambda-powertools-python issue 5800), and anything broader is privilege to spare.
``context`` values must be strings, numbers or booleans; API Gateway hands them to every later
event of the connection as ``requestContext.authorizer`` (with ``principalId``).
"""

from __future__ import annotations

from typing import Any, Final

from .verify import Identity

INVOKE_ACTION: Final = "execute-api:Invoke"
# The context keys the chat reads (``chat.events.Request.authorizer``).
USER_ID_KEY: Final = "userId"
NAME_KEY: Final = "name"
MODERATOR_KEY: Final = "moderator"
"""``"true"`` or ``"false"`` (context values are strings to the chat)."""


def allow(identity: Identity, method_arn: str) -> dict[str, Any]:
    """The authorizer's answer letting ``identity`` invoke ``method_arn`` and nothing else."""
    return {
        "principalId": identity.user_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": INVOKE_ACTION, "Effect": "Allow", "Resource": method_arn}],
        },
        "context": {
            USER_ID_KEY: identity.user_id,
            NAME_KEY: identity.name,
            MODERATOR_KEY: "true" if identity.moderator else "false",
        },
    }
