"""The key cache: fetched once, discovered once, refetched for an unknown key id at most once per
interval, and a failing issuer neither hammered nor allowed to erase keys we have."""

from __future__ import annotations

from typing import Any

import pytest
from authorizer.errors import KeySetUnavailable
from authorizer.jwks import (
    DEFAULT_REFETCH_INTERVAL_S,
    DEFAULT_RETRY_INTERVAL_S,
    MAX_DOCUMENT_BYTES,
    KeySet,
    fetch_json,
    signing_keys,
)

from tests.backend.authorizer.conftest import MOTO_KID, KeyServer, moto_key_set

ISSUER = "https://issuer.example.com"
DISCOVERY = f"{ISSUER}/.well-known/openid-configuration"
JWKS = f"{ISSUER}/keys"


class Issuer:
    """A scripted ``fetch``: URL -> document, or an exception to raise; records each call."""

    def __init__(self, documents: dict[str, Any]) -> None:
        self.documents = documents
        self.calls: list[str] = []

    def __call__(self, url: str) -> Any:
        self.calls.append(url)
        document = self.documents[url]
        if isinstance(document, Exception):
            raise document
        return document


class Clock:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_keys_are_discovered_once_and_fetched_once() -> None:
    """Without a JWKS URL the discovery document names it; both are read once."""
    issuer = Issuer({DISCOVERY: {"issuer": ISSUER, "jwks_uri": JWKS}, JWKS: moto_key_set()})
    keys = KeySet(ISSUER, fetch=issuer, clock=Clock())
    assert keys.key(MOTO_KID) is not None
    assert keys.key(MOTO_KID) is not None
    assert issuer.calls == [DISCOVERY, JWKS]


@pytest.mark.parametrize(
    "document",
    [
        {"issuer": "https://someone.else", "jwks_uri": JWKS},
        {"issuer": ISSUER, "jwks_uri": "http://issuer.example.com/keys"},
        {"issuer": ISSUER},
        ["not", "an", "object"],
    ],
)
def test_a_discovery_document_for_another_issuer_or_without_https_keys_is_refused(
    document: Any,
) -> None:
    """OpenID Connect Discovery 1.0, 4.3: the document must be the issuer's own."""
    keys = KeySet(ISSUER, fetch=Issuer({DISCOVERY: document}), clock=Clock())
    with pytest.raises(KeySetUnavailable):
        keys.key(MOTO_KID)


def test_an_unknown_key_id_refetches_once_per_interval() -> None:
    """Rotation is found within a minute; made-up key ids cost one fetch a minute at most."""
    issuer = Issuer({JWKS: moto_key_set()})
    clock = Clock()
    keys = KeySet(ISSUER, JWKS, fetch=issuer, clock=clock)
    assert keys.key(MOTO_KID) is not None
    for _ in range(5):
        assert keys.key("made-up") is None
    assert len(issuer.calls) == 1
    clock.now += DEFAULT_REFETCH_INTERVAL_S
    assert keys.key("made-up") is None
    assert keys.key("made-up-too") is None
    assert len(issuer.calls) == 2


def test_a_failed_refetch_keeps_the_keys_we_have() -> None:
    """An issuer outage does not lock out users whose tokens our cached keys verify."""
    issuer = Issuer({JWKS: moto_key_set()})
    clock = Clock()
    keys = KeySet(ISSUER, JWKS, fetch=issuer, clock=clock)
    assert keys.key(MOTO_KID) is not None
    issuer.documents[JWKS] = KeySetUnavailable("down")
    clock.now += DEFAULT_REFETCH_INTERVAL_S
    assert keys.key("rotated") is None
    assert keys.key(MOTO_KID) is not None
    assert len(issuer.calls) == 2


def test_a_failed_first_fetch_is_retried_after_a_pause() -> None:
    """No keys at all is an error (500), retried no sooner than the retry interval."""
    issuer = Issuer({JWKS: KeySetUnavailable("down")})
    clock = Clock()
    keys = KeySet(ISSUER, JWKS, fetch=issuer, clock=clock)
    for _ in range(3):
        with pytest.raises(KeySetUnavailable):
            keys.key(MOTO_KID)
    assert len(issuer.calls) == 1
    issuer.documents[JWKS] = moto_key_set()
    clock.now += DEFAULT_RETRY_INTERVAL_S
    assert keys.key(MOTO_KID) is not None
    assert len(issuer.calls) == 2


def test_only_signature_keys_with_an_id_are_kept() -> None:
    """An encryption key, or a key no token can name, is no signing key."""
    [moto] = moto_key_set()["keys"]
    document = {
        "keys": [
            {**moto, "kid": "enc", "use": "enc"},
            {k: v for k, v in moto.items() if k != "kid"},
            {**moto, "kid": "sig", "use": "sig"},
            moto,
        ]
    }
    assert sorted(signing_keys(document)) == [MOTO_KID, "sig"]


@pytest.mark.parametrize("document", [{"keys": []}, {"keys": [{"kty": "RSA"}]}, [], "x"])
def test_a_key_set_without_usable_keys_is_refused(document: Any) -> None:
    """Nothing to verify with is an error, not an empty success."""
    with pytest.raises(KeySetUnavailable):
        signing_keys(document)


def test_fetch_reads_json_over_the_loopback(key_server: KeyServer) -> None:
    """A real HTTP fetch, as the Lambda makes it."""
    assert fetch_json(key_server.url("/jwks.json")) == moto_key_set()


@pytest.mark.parametrize(
    ("path", "document"),
    [("/missing", None), ("/huge", {"pad": "x" * MAX_DOCUMENT_BYTES})],
)
def test_fetch_refuses_errors_and_oversized_answers(
    key_server: KeyServer, path: str, document: Any
) -> None:
    """A 404 or a body beyond the cap is ``KeySetUnavailable``."""
    if document is not None:
        key_server.documents[path] = document
    with pytest.raises(KeySetUnavailable):
        fetch_json(key_server.url(path))


def test_fetch_follows_no_redirect(key_server: KeyServer) -> None:
    """Keys come from the configured URL only, even when it points at good ones."""
    key_server.redirects["/moved"] = key_server.url("/jwks.json")
    with pytest.raises(KeySetUnavailable):
        fetch_json(key_server.url("/moved"))
    assert key_server.hits == ["/moved"]


def test_fetch_refuses_plain_http_beyond_the_loopback() -> None:
    """Keys in clear from elsewhere could be swapped on the way."""
    with pytest.raises(KeySetUnavailable, match="not https"):
        fetch_json("http://issuer.example.com/keys")
