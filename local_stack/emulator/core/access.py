"""Who may reach the local servers: the loopback ``Host`` rule and the shape of an
``@connections`` call's signature."""

from __future__ import annotations

import re
from typing import Final

from local_stack.emulator.core.management import FORBIDDEN, ApiError

BAD_SIGNATURE: Final = ApiError(
    403,
    "ForbiddenException",
    "The request signature is not a Signature Version 4 signature for execute-api in this region",
)
_SIGV4: Final = re.compile(
    r"AWS4-HMAC-SHA256 Credential=[A-Za-z0-9]{1,128}/(?P<date>\d{8})/(?P<region>[a-z0-9-]+)/"
    r"(?P<service>[a-z0-9-]+)/aws4_request, ?SignedHeaders=(?P<signed>[a-z0-9;-]+), ?"
    r"Signature=[0-9a-f]{64}"
)


def check_signature(authorization: str | None, region: str) -> ApiError | None:
    """``@connections`` calls must be signed: a missing ``Authorization`` is API Gateway's
    "Missing Authentication Token"; one that is not a well-formed SigV4 signature for
    ``execute-api`` in ``region``, signing ``host``, is refused too. The signature itself is
    not verified (the emulator has no secrets), but a stray request from a web page or a
    mistyped client can no longer post to the developer's sockets."""
    if authorization is None:
        return FORBIDDEN
    match = _SIGV4.fullmatch(authorization.strip())
    if (
        match is None
        or match["region"] != region
        or match["service"] != "execute-api"
        or "host" not in match["signed"].split(";")
    ):
        return BAD_SIGNATURE
    return None


_LOOPBACK_NAMES: Final = frozenset({"127.0.0.1", "localhost", "[::1]", "::1"})


def host_allowed(host_header: str | None, listen_port: int) -> bool:
    """Whether a request's ``Host`` names this server on the loopback (a DNS-rebinding page
    reaches it under a name of its own choosing, which is refused)."""
    if not host_header:
        return False
    name, _, port = host_header.rpartition(":")
    if not name or (name.endswith("]") and not name.startswith("[")):
        return False
    return name.lower() in _LOOPBACK_NAMES and port == str(listen_port)
