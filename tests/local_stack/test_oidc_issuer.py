"""The local OpenID Connect issuer (``local_stack.oidc_issuer``) over real HTTP: discovery,
keys, the authorization code flow with PKCE, refresh tokens, CORS, logout, and its refusals."""

from __future__ import annotations

import asyncio
import http.client
import json
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import jwt
import pytest

from local_stack.oidc_issuer import (
    DISCOVERY_PATH,
    OFFLINE_ACCESS,
    SCOPE,
    IssuerError,
    OidcClient,
    OidcIssuer,
    pkce_challenge,
    subject_of,
)

CLIENT_ID = "page-client"
PAGE = "http://127.0.0.1:9/"
PAGE_ORIGIN = "http://127.0.0.1:9"


@pytest.fixture(scope="module")
def issuer() -> Iterator[OidcIssuer]:
    """The issuer served from a thread of its own (``sign_in`` blocks)."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    served = OidcIssuer(OidcClient(CLIENT_ID, (PAGE,)), token_lifetime_s=600)
    asyncio.run_coroutine_threadsafe(served.start(), loop).result(10)
    yield served
    asyncio.run_coroutine_threadsafe(served.stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join()
    loop.close()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None


def _call(
    url: str, form: dict[str, str] | None = None, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """GET (or POST ``form``) without following redirects: status, headers, body."""
    data = None if form is None else urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=data, headers=headers or {})  # noqa: S310
    try:
        with urllib.request.build_opener(_NoRedirect).open(request, timeout=5) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def _authorize_params(**changes: str) -> dict[str, str]:
    params = {
        "response_type": "code",
        "client_id": CLIENT_ID,
        "redirect_uri": PAGE,
        "scope": SCOPE,
        "state": "s1",
        "nonce": "n1",
        "code_challenge": pkce_challenge("v" * 43),
        "code_challenge_method": "S256",
    }
    return {**params, **changes}


def _returned(location: str) -> dict[str, str]:
    assert location.startswith(PAGE)
    return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))


def test_discovery_names_the_endpoints_and_the_keys_verify_its_tokens(
    issuer: OidcIssuer,
) -> None:
    """The discovery document is the issuer's; an ID token from the code flow verifies with
    the published key set and carries iss, aud, sub, name, nonce, iat and exp."""
    status, headers, body = _call(issuer.url + DISCOVERY_PATH, headers={"Origin": PAGE_ORIGIN})
    discovery = json.loads(body)
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    assert discovery["issuer"] == issuer.url
    assert discovery["code_challenge_methods_supported"] == ["S256"]
    keys = jwt.PyJWKClient(discovery["jwks_uri"])
    tokens = issuer.sign_in("Ada Lovelace", nonce="n-42")
    key = keys.get_signing_key_from_jwt(tokens["id_token"])
    claims = jwt.decode(tokens["id_token"], key, algorithms=["RS256"], audience=CLIENT_ID)
    assert claims["iss"] == issuer.url
    assert (claims["sub"], claims["name"], claims["nonce"]) == (
        subject_of("Ada Lovelace"),
        "Ada Lovelace",
        "n-42",
    )
    assert claims["exp"] - claims["iat"] == 600
    assert abs(claims["iat"] - time.time()) < 60
    assert "refresh_token" not in tokens  # no offline_access asked


@pytest.mark.parametrize(
    "changes", [{"client_id": "someone-else"}, {"redirect_uri": "http://evil.example/"}]
)
def test_authorize_refuses_an_unknown_client_or_redirect_without_redirecting(
    issuer: OidcIssuer, changes: dict[str, str]
) -> None:
    """An unknown client id or an unregistered redirect URI gets a 400 page, not a redirect."""
    query = urllib.parse.urlencode(_authorize_params(**changes))
    status, headers, body = _call(f"{issuer.url}/authorize?{query}")
    assert status == 400
    assert "Location" not in headers
    assert b"Sign-in refused" in body


def test_authorize_shows_the_form_and_sends_faults_back_to_the_client(issuer: OidcIssuer) -> None:
    """A valid request shows the user-name form (values escaped); a request without PKCE goes
    back with invalid_request; cancelling goes back with access_denied; both keep the state."""
    query = urllib.parse.urlencode(_authorize_params(state='"><b>x'))
    status, _, body = _call(f"{issuer.url}/authorize?{query}")
    assert status == 200
    assert b'name="username"' in body
    assert b"<b>x" not in body
    plain = urllib.parse.urlencode(_authorize_params(code_challenge_method="plain"))
    status, headers, _ = _call(f"{issuer.url}/authorize?{plain}")
    assert status == 302
    assert _returned(headers["Location"])["error"] == "invalid_request"
    status, headers, _ = _call(
        f"{issuer.url}/authorize", {**_authorize_params(), "username": "x", "decision": "deny"}
    )
    assert status == 302
    returned = _returned(headers["Location"])
    assert (returned["error"], returned["state"]) == ("access_denied", "s1")


def _code(issuer: OidcIssuer, verifier: str, scope: str = SCOPE) -> str:
    params = _authorize_params(scope=scope, code_challenge=pkce_challenge(verifier))
    status, headers, _ = _call(
        f"{issuer.url}/authorize", {**params, "username": "Grace", "decision": "allow"}
    )
    assert status == 302
    returned = _returned(headers["Location"])
    assert returned["state"] == "s1"
    return returned["code"]


def _exchange(code: str, verifier: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": PAGE,
        "client_id": CLIENT_ID,
        "code_verifier": verifier,
    }


def test_the_code_needs_the_pkce_verifier_and_is_single_use(issuer: OidcIssuer) -> None:
    """A wrong verifier, another redirect URI or a second use of the code: invalid_grant."""
    verifier = secrets.token_urlsafe(48)
    with pytest.raises(IssuerError, match="invalid_grant"):
        issuer.token_request(_exchange(_code(issuer, verifier), "wrong" * 10))
    other_redirect = {**_exchange(_code(issuer, verifier), verifier), "redirect_uri": PAGE + "x"}
    with pytest.raises(IssuerError, match="invalid_grant"):
        issuer.token_request(other_redirect)
    code = _code(issuer, verifier)
    assert "id_token" in issuer.token_request(_exchange(code, verifier))
    with pytest.raises(IssuerError, match="invalid_grant"):
        issuer.token_request(_exchange(code, verifier))
    with pytest.raises(IssuerError, match="invalid_client"):
        issuer.token_request({**_exchange(_code(issuer, verifier), verifier), "client_id": "x"})


def test_offline_access_gives_a_refresh_token_that_logout_revokes(issuer: OidcIssuer) -> None:
    """With offline_access the answer has a refresh token; the refresh grant gives a new ID
    token (no nonce); logout with the ID token as hint revokes it and redirects back."""
    tokens = issuer.sign_in("Hopper", scope=f"{SCOPE} {OFFLINE_ACCESS}")
    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    renewed = issuer.token_request({**refresh, "client_id": CLIENT_ID})
    claims = jwt.decode(renewed["id_token"], options={"verify_signature": False})
    assert (claims["name"], "nonce" in claims) == ("Hopper", False)
    query = urllib.parse.urlencode(
        {"id_token_hint": tokens["id_token"], "post_logout_redirect_uri": PAGE}
    )
    status, headers, _ = _call(f"{issuer.url}/logout?{query}")
    assert (status, headers["Location"]) == (302, PAGE)
    with pytest.raises(IssuerError, match="invalid_grant"):
        issuer.token_request({**refresh, "client_id": CLIENT_ID})


def test_the_token_endpoint_answers_cors_for_the_page_origin_only(issuer: OidcIssuer) -> None:
    """The page's origin gets Access-Control-Allow-Origin (preflight too); another does not."""
    form = {"grant_type": "refresh_token", "refresh_token": "x", "client_id": CLIENT_ID}
    _, mine, _ = _call(f"{issuer.url}/token", form, {"Origin": PAGE_ORIGIN})
    _, theirs, _ = _call(f"{issuer.url}/token", form, {"Origin": "http://evil.example"})
    assert mine["Access-Control-Allow-Origin"] == PAGE_ORIGIN
    assert "Access-Control-Allow-Origin" not in theirs
    request = urllib.request.Request(  # noqa: S310 -- loopback
        f"{issuer.url}/token", method="OPTIONS", headers={"Origin": PAGE_ORIGIN}
    )
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        assert answer.status == 204
        assert answer.headers["Access-Control-Allow-Origin"] == PAGE_ORIGIN


@pytest.mark.parametrize("path", [DISCOVERY_PATH, "/jwks", "/logout"])
def test_a_foreign_host_is_refused_and_the_own_address_served(
    issuer: OidcIssuer, path: str
) -> None:
    """Like the emulator, the issuer answers 403 to a Host that is not its loopback address
    (a DNS-rebinding page's own name), and normally under either loopback name."""
    port = urllib.parse.urlsplit(issuer.url).port

    def status(host: str) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("GET", path, headers={"Host": host})
            answer = connection.getresponse()
            answer.read()
            return answer.status
        finally:
            connection.close()

    assert status(f"evil.example:{port}") == 403
    assert status("127.0.0.1") == 403  # no port: not this server's address
    assert status(f"localhost:{port}") == 200
    assert status(f"127.0.0.1:{port}") == 200


def test_the_revocation_endpoint_revokes_one_refresh_token(issuer: OidcIssuer) -> None:
    """Discovery names /revoke (RFC 7009); a revoked refresh token gets invalid_grant while
    another session's still renews; an unknown token is 200 too (2.2), another client is
    invalid_client; the page's origin gets CORS headers."""
    discovery = json.loads(_call(issuer.url + DISCOVERY_PATH)[2])
    assert discovery["revocation_endpoint"] == f"{issuer.url}/revoke"
    revoked, kept = (
        issuer.sign_in(name, scope=f"{SCOPE} {OFFLINE_ACCESS}")["refresh_token"]
        for name in ("Lamarr", "Lamarr")
    )
    form = {"token": revoked, "token_type_hint": "refresh_token", "client_id": CLIENT_ID}
    status, headers, _ = _call(f"{issuer.url}/revoke", form, {"Origin": PAGE_ORIGIN})
    assert (status, headers["Access-Control-Allow-Origin"]) == (200, PAGE_ORIGIN)
    with pytest.raises(IssuerError, match="invalid_grant"):
        issuer.token_request(
            {"grant_type": "refresh_token", "refresh_token": revoked, "client_id": CLIENT_ID}
        )
    issuer.token_request(
        {"grant_type": "refresh_token", "refresh_token": kept, "client_id": CLIENT_ID}
    )
    assert _call(f"{issuer.url}/revoke", {**form, "token": "unknown"})[0] == 200
    status, _, body = _call(f"{issuer.url}/revoke", {**form, "token": kept, "client_id": "other"})
    assert (status, json.loads(body)) == (401, {"error": "invalid_client"})
