"""Signature Version 4 for ``@connections`` requests, as botocore's ``SigV4Auth`` signs them.

The expensive parts are done once: the payload's hash once per broadcast (every recipient gets
the same bytes), the derived key once per (day, secret); per request only the canonical request,
the string to sign and one HMAC remain. Credentials are the botocore session's, read frozen on
every request (cheap, and a refreshed secret is picked up).
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Callable
from typing import Any, Final, NamedTuple, Protocol
from urllib.parse import quote

from botocore.exceptions import NoCredentialsError

SERVICE: Final = "execute-api"
_ALGORITHM: Final = "AWS4-HMAC-SHA256"


class FrozenCredentials(Protocol):
    """botocore's ``ReadOnlyCredentials``: one consistent snapshot of the credentials."""

    @property
    def access_key(self) -> str: ...

    @property
    def secret_key(self) -> str: ...

    @property
    def token(self) -> str | None: ...


def session_credentials(session: Any) -> Callable[[], FrozenCredentials]:
    """Read ``session``'s credentials frozen, resolving the provider chain on first use only.

    Raises ``NoCredentialsError`` while there are none (resolution is tried again next time).
    ``get_frozen_credentials`` refreshes refreshable credentials when they near expiry.
    """
    resolved: list[Any] = []

    def current() -> FrozenCredentials:
        if not resolved:
            credentials = session.get_credentials()
            if credentials is None:
                raise NoCredentialsError()
            resolved.append(credentials)
        frozen: FrozenCredentials = resolved[0].get_frozen_credentials()
        return frozen

    return current


class _SigningKey(NamedTuple):
    day: str
    secret: str
    key: bytes


class SigV4Signer:
    """Signs requests for one host, region and service as botocore's ``SigV4Auth`` does.

    Signed headers are ``host``, ``x-amz-date`` and, with temporary credentials,
    ``x-amz-security-token`` (what a boto3 client signs for ``PostToConnection``). Thread-safe:
    the caches are immutable tuples swapped whole.
    """

    def __init__(
        self,
        host: str,
        region: str,
        credentials: Callable[[], FrozenCredentials],
        *,
        service: str = SERVICE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        """``host`` is the ``Host`` header's value (lowercase, port only when not the default)."""
        self._host = host
        self._region = region
        self._service = service
        self._credentials = credentials
        self._clock = clock
        self._stamp: tuple[int, str] = (-1, "")
        self._key = _SigningKey("", "", b"")
        self._payload: tuple[bytes | None, str] = (None, "")

    def headers(self, method: str, canonical_uri: str, payload: bytes) -> dict[str, str]:
        """The headers that sign ``method canonical_uri`` with ``payload`` (no query string).

        ``canonical_uri`` is the path as SigV4 canonicalises it (see ``canonical_uri``).
        """
        amz_date = self._amz_date()
        day = amz_date[:8]
        credentials = self._credentials()
        key = self._signing_key(day, credentials.secret_key)
        token = credentials.token
        if token:
            signed = "host;x-amz-date;x-amz-security-token"
            canonical_headers = (
                f"host:{self._host}\nx-amz-date:{amz_date}\nx-amz-security-token:{token}\n"
            )
        else:
            signed = "host;x-amz-date"
            canonical_headers = f"host:{self._host}\nx-amz-date:{amz_date}\n"
        canonical_request = (
            f"{method}\n{canonical_uri}\n\n{canonical_headers}\n{signed}\n"
            f"{self._payload_hash(payload)}"
        )
        scope = f"{day}/{self._region}/{self._service}/aws4_request"
        string_to_sign = (
            f"{_ALGORITHM}\n{amz_date}\n{scope}\n"
            f"{hashlib.sha256(canonical_request.encode()).hexdigest()}"
        )
        signature = hmac.digest(key, string_to_sign.encode(), "sha256").hex()  # one C call
        headers = {
            "Host": self._host,
            "X-Amz-Date": amz_date,
            "Authorization": (
                f"{_ALGORITHM} Credential={credentials.access_key}/{scope}, "
                f"SignedHeaders={signed}, Signature={signature}"
            ),
        }
        if token:
            headers["X-Amz-Security-Token"] = token
        return headers

    def _amz_date(self) -> str:
        second = int(self._clock())
        stamp = self._stamp
        if stamp[0] != second:
            stamp = (second, time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(second)))
            self._stamp = stamp
        return stamp[1]

    def _signing_key(self, day: str, secret: str) -> bytes:
        cached = self._key
        if cached.day == day and cached.secret == secret:
            return cached.key
        key = f"AWS4{secret}".encode()
        for part in (day, self._region, self._service, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        self._key = _SigningKey(day, secret, key)
        return key

    def _payload_hash(self, payload: bytes) -> str:
        # The broadcaster posts the same bytes object to every recipient: hash it once.
        cached = self._payload
        if cached[0] is payload:
            return cached[1]
        digest = hashlib.sha256(payload).hexdigest()
        self._payload = (payload, digest)
        return digest


def canonical_uri(path: str) -> str:
    """SigV4's canonical URI of an already URI-encoded request ``path``, as botocore makes it.

    botocore encodes the path it sends once more for every service but S3, so ``%3D`` on the
    wire is ``%253D`` here and ``@`` is ``%40``; AWS verifies exactly that form.
    """
    return quote(path, safe="/~")


def host_header(scheme: str, host: str, port: int | None) -> str:
    """The ``Host`` header botocore signs: lowercase, the port only when not the default."""
    host = host.lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 literal
    if port is not None and port != {"http": 80, "https": 443}[scheme]:
        return f"{host}:{port}"
    return host
