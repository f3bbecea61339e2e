"""The end-to-end chat checks the rehearsal runs against the local stack built from Terraform:
what they share. ``e2e_websocket`` chats with real WebSocket clients, ``e2e_browser`` with two
Chromium pages of the site; with sign-in on, both sign in users ``e2e_users`` creates in the
deployment's user pool.

Each returns what it saw (notes) and what went wrong (problems); a failed check stops the
checks that depend on it.
"""

from __future__ import annotations

import uuid

Notes = list[str]


class E2ECheckFailed(Exception):
    """One end-to-end expectation was not met; the message says which and what happened."""


def new_room(label: str) -> str:
    """A room name no earlier run used."""
    return f"rehearsal-{label}-{uuid.uuid4().hex[:8]}"
