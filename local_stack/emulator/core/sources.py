"""The injectable sources of the core: a clock and an id generator (so its rules can be
tested with fixed values), and the connection id they name."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from typing import NewType

ConnectionId = NewType("ConnectionId", str)
Clock = Callable[[], float]
"""Returns the current time in epoch seconds (``time.time``)."""
IdSource = Callable[[], str]
"""Returns a fresh API Gateway-shaped id (``new_aws_id``)."""


def new_aws_id(token_bytes: Callable[[int], bytes] = secrets.token_bytes) -> str:
    """A fresh id shaped like API Gateway's connection and request ids (``L0SM9cOFvHcCIhw=``).

    11 random bytes in URL-safe base64: 16 characters ending in ``=``, never ``/`` or ``+``,
    so the id can go into a URL path as it is.
    """
    return base64.urlsafe_b64encode(token_bytes(11)).decode("ascii")
