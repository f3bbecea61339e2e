"""The issuer's signing keys (its JSON Web Key Set), fetched once per container and cached.

PyJWT parses the keys (``PyJWKSet``); this module only decides when to fetch them:

- on first use, from ``AUTH_JWKS_URL`` or, when that is unset, from the ``jwks_uri`` of the
  issuer's OpenID Connect discovery document (``{issuer}/.well-known/openid-configuration``);
- again when a token names a key id the cached set lacks (the issuer rotated its keys), but
  at most once per ``refetch_interval_s``: a flood of tokens with made-up key ids must not
  turn every invocation into a request to the issuer. A failed fetch is retried no sooner
  than ``retry_interval_s``.

PyJWT's own ``PyJWKClient`` is not used: its cache expires (``lifespan``), after which an
issuer outage fails every ``$connect`` with a fresh fetch attempt (no pause after a failure,
no falling back on the keys it had); it neither discovers the key set's URL nor caps the
answer's size. Every request here has a timeout and a size cap, and follows no redirect.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any, Final

from jwt import PyJWK, PyJWKSet
from jwt.exceptions import PyJWKSetError

from .config import secure_or_loopback
from .errors import KeySetUnavailable

# Seconds for the connection and for each read: the authorizer answers API Gateway within
# its own timeout, and a slow issuer must not eat all of it.
FETCH_TIMEOUT_S: Final = 3.0
# A key set is a few KB; anything much larger is not one.
MAX_DOCUMENT_BYTES: Final = 256 * 1024
DEFAULT_REFETCH_INTERVAL_S: Final = 60.0
DEFAULT_RETRY_INTERVAL_S: Final = 5.0

Fetch = Callable[[str], Any]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Answers a redirect with its own 3xx error: keys come from the configured URL only."""

    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        """Follow nothing."""
        return


_OPENER: Final = urllib.request.build_opener(_NoRedirect())


def fetch_json(url: str) -> Any:
    """GET ``url`` and parse its JSON body; raise ``KeySetUnavailable`` on any failure."""
    if not secure_or_loopback(url):
        raise KeySetUnavailable(f"refusing to fetch keys from {url!r}: not https")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})  # noqa: S310
    try:
        with _OPENER.open(request, timeout=FETCH_TIMEOUT_S) as response:
            body = response.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, ValueError) as error:  # URLError, HTTPError and timeouts are OSErrors
        raise KeySetUnavailable(f"could not fetch {url!r}: {type(error).__name__}") from error
    if len(body) > MAX_DOCUMENT_BYTES:
        raise KeySetUnavailable(f"{url!r} answered more than {MAX_DOCUMENT_BYTES} bytes")
    try:
        return json.loads(body)
    except ValueError as error:
        raise KeySetUnavailable(f"{url!r} did not answer JSON") from error


def discover_jwks_url(issuer: str, fetch: Fetch = fetch_json) -> str:
    """The ``jwks_uri`` of ``issuer``'s discovery document ("OpenID Connect Discovery 1.0",
    section 4), which must name the same issuer (section 4.3)."""
    document = fetch(issuer.rstrip("/") + "/.well-known/openid-configuration")
    if not isinstance(document, dict):
        raise KeySetUnavailable("the discovery document is not a JSON object")
    if document.get("issuer") != issuer:
        raise KeySetUnavailable("the discovery document names another issuer")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str) or not secure_or_loopback(jwks_uri):
        raise KeySetUnavailable("the discovery document has no https jwks_uri")
    return jwks_uri


def signing_keys(document: Any) -> dict[str, PyJWK]:
    """The signature keys of a key set document, by key id (keys without one are unusable: a
    token names the key that signed it)."""
    if not isinstance(document, dict):
        raise KeySetUnavailable("the key set is not a JSON object")
    try:
        key_set = PyJWKSet.from_dict(document)
    except PyJWKSetError as error:
        raise KeySetUnavailable(f"the key set holds no usable key: {error}") from error
    return {
        key.key_id: key
        for key in key_set.keys
        if key.key_id and key.public_key_use in {None, "sig"}
    }


class KeySet:
    """The issuer's keys for one container: ``key(kid)`` fetches when it must (module doc)."""

    def __init__(
        self,
        issuer: str,
        jwks_url: str | None = None,
        *,
        fetch: Fetch = fetch_json,
        clock: Callable[[], float] = time.monotonic,
        refetch_interval_s: float = DEFAULT_REFETCH_INTERVAL_S,
        retry_interval_s: float = DEFAULT_RETRY_INTERVAL_S,
    ) -> None:
        self._issuer = issuer
        self._jwks_url = jwks_url
        self._fetch = fetch
        self._clock = clock
        self._refetch_interval_s = refetch_interval_s
        self._retry_interval_s = retry_interval_s
        self._keys: dict[str, PyJWK] | None = None
        self._last_attempt: float | None = None
        self._last_failed = False
        self._lock = threading.Lock()

    def key(self, kid: str) -> PyJWK | None:
        """The key with id ``kid``, or ``None`` when the issuer has none by that id.

        Raises ``KeySetUnavailable`` when no key set could be fetched at all.
        """
        with self._lock:
            keys = self._keys
            if keys is None or (kid not in keys and self._may_fetch()):
                keys = self._refresh()
            return keys.get(kid)

    def _may_fetch(self) -> bool:
        if self._last_attempt is None:
            return True
        interval = self._retry_interval_s if self._last_failed else self._refetch_interval_s
        return self._clock() - self._last_attempt >= interval

    def _refresh(self) -> dict[str, PyJWK]:
        """Fetch the key set (discovering where it is, the first time) and return the keys to
        use: the new ones, or on failure the cached ones if there are any."""
        if self._keys is None and not self._may_fetch():
            raise KeySetUnavailable("the last attempt to fetch the keys failed; retrying soon")
        self._last_attempt = self._clock()
        try:
            url = self._jwks_url or discover_jwks_url(self._issuer, self._fetch)
            keys = signing_keys(self._fetch(url))
        except KeySetUnavailable:
            self._last_failed = True
            if self._keys is None:
                raise
            return self._keys  # they still verify the tokens they signed
        # Discovery is done once: the jwks_uri of an issuer does not move.
        self._jwks_url = url
        self._keys = keys
        self._last_failed = False
        return keys
