"""The authorizer's output names what the chat reads."""

from __future__ import annotations

from authorizer.policy import NAME_KEY, USER_ID_KEY, allow
from authorizer.verify import Identity
from chat.events import AUTHORIZER_NAME, AUTHORIZER_USER_ID


def test_the_context_carries_the_keys_the_chat_reads() -> None:
    """``requestContext.authorizer`` of every later event holds ``userId`` and ``name``."""
    assert (USER_ID_KEY, NAME_KEY) == (AUTHORIZER_USER_ID, AUTHORIZER_NAME) == ("userId", "name")
    answer = allow(Identity(user_id="u-1", name="Alice"), "arn:aws:execute-api:r:1:a/s/$connect")
    assert answer["context"] == {"userId": "u-1", "name": "Alice"}
    [statement] = answer["policyDocument"]["Statement"]
    assert statement["Resource"] == "arn:aws:execute-api:r:1:a/s/$connect"
