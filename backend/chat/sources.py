"""Source addresses as the table keeps them: ``$connect``'s counters and the frames' shared
budget key one address by the same digest, so both limits see one source."""

from __future__ import annotations

import hashlib


def source_digest(source_ip: str) -> str:
    """What the table stores for a source address (API Gateway's ``sourceIp``): a digest, never
    the address."""
    return hashlib.sha256(source_ip.encode()).hexdigest()[:24]
