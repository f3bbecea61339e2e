"""Sign-in with an OpenID Connect issuer in the real browser (issue #17, ``auth = "oidc"``):
the page goes to the local issuer (``local_stack.oidc_issuer``, its own origin), comes back
with a code, exchanges it (PKCE) and chats under the token's name; a reload keeps the session,
sign-out ends it (revoking the refresh token, and at the issuer too); a tampered state and a
cancelled sign-in are refused with a message and no connection; an ?error= the page did not ask
for is ignored, and the issuer's own words are never shown (issue 25). No ID token is ever
written to storage. The real authorizer and chat (``AUTH_MODE=oidc``) run behind it.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from authorizer.names import display_name
from playwright.sync_api import Browser, Page

from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.oidc_issuer import DISCOVERY_PATH, IssuerError, OidcAuth, subject_of
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack
from tests.browser.conftest import FAST_TIMINGS, RECORD_SOCKETS, jwts_in, record_storage_writes
from tests.browser.test_chat_signin import join_room
from tests.local_stack.support import fresh_room

pytestmark = pytest.mark.browser

SIGN_IN_BUTTON = "#oidc-sign-in-button"
# The account's name is shown once signed in (the chat shows before the page's script runs).
SIGNED_IN = "() => document.getElementById('account-name').textContent !== ''"


@pytest.fixture(scope="module")
def oidc_stack() -> Iterator[Stack]:
    """A stack signing in with the local issuer (the page finds it by discovery)."""
    options = StackOptions(
        auth=OidcAuth(), function=FunctionSettings(environment=LIFTED_RATE_LIMITS)
    )
    with running_stack(options) as running:
        yield running


@pytest.fixture(scope="module")
def configured_stack() -> Iterator[Stack]:
    """A stack whose page is given the issuer's endpoints (no discovery) and asks for no
    refresh token, as Terraform's oidc_*_endpoint set and oidc_offline_access off."""
    options = StackOptions(
        auth=OidcAuth(discovery=False, offline_access=False),
        function=FunctionSettings(environment=LIFTED_RATE_LIMITS),
    )
    with running_stack(options) as running:
        yield running


def wait_until(page: Page, condition: str) -> None:
    """``page.wait_for_function`` for a page with an installed clock: poll on a timer (the
    clock drives animation frames too)."""
    page.wait_for_function(condition, polling=100, timeout=10000)


@pytest.fixture
def page_and_calls(browser: Browser, oidc_stack: Stack) -> Iterator[tuple[Page, list[str]]]:
    """A fresh browser context at the page, and the paths of every call to the issuer; at the
    end, no JWT may have been written to the page's storage at any moment."""
    issuer = oidc_stack.oidc_issuer
    assert issuer is not None
    context = browser.new_context()
    writes = record_storage_writes(context)
    page = context.new_page()
    errors: list[str] = []
    calls: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on(
        "request",
        lambda request: (
            calls.append(urlsplit(request.url).path) if request.url.startswith(issuer.url) else None
        ),
    )
    page.add_init_script(RECORD_SOCKETS)
    page.goto(f"{oidc_stack.page_url}?{urlencode(FAST_TIMINGS)}")
    yield page, calls
    found = jwts_in(page, writes)
    context.close()
    assert errors == [], f"uncaught errors in the page: {errors}"
    assert found == [], "an ID token was written to the page's storage"


def at_issuer(page: Page, name: str | None) -> None:
    """Click the page's sign-in button; at the issuer's form, sign in as ``name`` (None:
    cancel)."""
    page.click(SIGN_IN_BUTTON)
    page.wait_for_selector("#username")
    if name is None:
        page.click("#deny")
    else:
        page.fill("#username", name)
        page.click("#allow")


def test_sign_in_chat_reload_and_sign_out(
    page_and_calls: tuple[Page, list[str]], oidc_stack: Stack
) -> None:
    """Signed out, the page offers only the issuer's button (no forms, no sign-up); back from
    the issuer, the code is gone from the address bar, the page joins as the token's name with
    the user's tag (as the authorizer names them) and the token as a subprotocol; a reload
    resumes (a new ID token from the refresh token); sign-out forgets the session, revokes the
    refresh token at the issuer's revocation endpoint (RFC 7009, found by discovery) and then
    visits its end-session endpoint."""
    page, calls = page_and_calls
    # The local issuer's user "Ada Lovelace", named by the deployment's default rule.
    claims = {"sub": subject_of("Ada Lovelace"), "name": "Ada Lovelace"}
    ada = display_name(claims, "name", unique=False)
    start_url = page.url
    assert page.is_visible(SIGN_IN_BUTTON)
    assert not page.is_visible("#sign-in-form")
    assert not page.is_visible("#show-sign-up")
    assert not page.is_visible("#chat")

    issuer = oidc_stack.oidc_issuer
    assert issuer is not None
    # Waits for the code exchange itself: the page's request event reaches this process on its
    # own schedule, and once came after the chat was already shown.
    with page.expect_request(lambda request: request.url.startswith(f"{issuer.url}/token")):
        at_issuer(page, "Ada Lovelace")
        page.wait_for_function(SIGNED_IN)
    # No code or state left, the page's own query back (the page's own address: Playwright's
    # page.url follows history.replaceState a moment later).
    assert page.evaluate("location.href") == start_url
    assert "/token" in calls
    assert page.text_content("#account-name") == ada
    room = fresh_room("oidc")
    chat = join_room(page, room, ada)
    socket = page.evaluate(
        "() => { const s = window.__sockets.at(-1); return {url: s.url, protocol: s.protocol}; }"
    )
    assert socket["protocol"] == "awsome-chat"
    assert "eyJ" not in socket["url"]
    chat.send("<i>hi</i> from the issuer")
    chat.wait_for_message("<i>hi</i> from the issuer")
    assert chat.messages_with_text("<i>hi</i> from the issuer") == [{"from": ada, "own": True}]

    tokens_before = calls.count("/token")
    page.reload()
    page.wait_for_selector("#chat", state="visible")
    chat.wait_for_notice(f"Connected to room {room} as {ada}.")
    assert calls.count("/token") == tokens_before + 1  # renewed: no ID token was kept

    refresh = page.evaluate("() => localStorage.getItem('awsome-chat:auth:refresh')")
    assert isinstance(refresh, str) and refresh != ""
    with page.expect_request(f"{issuer.url}/revoke") as revocation:
        page.click("#sign-out")
    assert parse_qs(revocation.value.post_data or "") == {
        "token": [refresh],
        "token_type_hint": ["refresh_token"],
        "client_id": [issuer.client.client_id],
    }
    page.wait_for_function("() => window.location.search === ''")  # back from the issuer's logout
    page.wait_for_selector(SIGN_IN_BUTTON, state="visible")
    assert calls.index("/revoke") < calls.index("/logout")
    with pytest.raises(IssuerError, match="invalid_grant"):
        issuer.token_request(
            {
                "grant_type": "refresh_token",
                "refresh_token": refresh,
                "client_id": issuer.client.client_id,
            }
        )
    assert page.evaluate("() => localStorage.getItem('awsome-chat:auth:refresh')") is None
    assert not page.is_visible("#chat")


def test_a_tampered_state_is_refused_without_connecting(
    page_and_calls: tuple[Page, list[str]],
) -> None:
    """An answer whose state is not the page's request's is refused with a message: no code
    exchange, no WebSocket."""
    page, calls = page_and_calls
    page.click(SIGN_IN_BUTTON)
    page.wait_for_selector("#username")
    page.evaluate("() => { document.querySelector('input[name=state]').value = 'tampered'; }")
    page.fill("#username", "Mallory")
    page.click("#allow")
    page.wait_for_selector("#auth-error:has-text('does not belong to this page')")
    assert "code=" not in page.evaluate("location.href")
    assert "/token" not in calls
    assert page.evaluate("() => window.__sockets.length") == 0
    assert page.is_visible(SIGN_IN_BUTTON)


def test_a_crafted_error_link_shows_nothing_of_it(
    page_and_calls: tuple[Page, list[str]], oidc_stack: Stack
) -> None:
    """A link to the page with ?error=...&error_description=<text> that no sign-in of this tab
    asked for (no state, or a guessed one) shows none of its text, nor any error: the page
    offers sign-in as on any visit, and the address bar is cleaned."""
    page, calls = page_and_calls
    phishing = "Your account is locked. Call +1 555 0100 to unlock it."
    for state in (None, "guessed"):
        params = {"error": "access_denied", "error_description": phishing}
        if state is not None:
            params["state"] = state
        page.goto(f"{oidc_stack.page_url}?{urlencode(params)}")
        page.wait_for_selector(SIGN_IN_BUTTON, state="visible")
        assert phishing not in page.inner_text("body")
        assert not page.is_visible("#auth-error")
        assert page.text_content("#auth-error") == ""
        assert "error" not in page.evaluate("location.search")
    assert "/token" not in calls


def test_a_refused_sign_in_shows_the_pages_own_words(
    page_and_calls: tuple[Page, list[str]],
) -> None:
    """The issuer refuses a sign-in the page started (its state) with an error the page has no
    words of its own for, and a description: the page shows its own fixed text, never the
    issuer's description."""
    page, calls = page_and_calls
    page.click(SIGN_IN_BUTTON)
    page.wait_for_selector("#username")
    # The issuer answers invalid_scope, "the scope must include openid", with the page's state.
    page.evaluate("() => { document.querySelector('input[name=scope]').value = 'profile'; }")
    page.fill("#username", "Scoped")
    page.click("#allow")
    page.wait_for_selector(
        "#auth-error:has-text('The sign-in service could not sign you in. Please try again.')"
    )
    assert "scope" not in page.inner_text("body")
    assert "/token" not in calls
    assert page.is_visible(SIGN_IN_BUTTON)


def test_a_cancelled_sign_in_shows_the_issuer_refusal(
    page_and_calls: tuple[Page, list[str]],
) -> None:
    """The issuer's ?error=access_denied (the user pressed Cancel) is shown, nothing connects."""
    page, calls = page_and_calls
    at_issuer(page, None)
    page.wait_for_selector("#auth-error:has-text('cancelled or refused')")
    assert "error=" not in page.evaluate("location.href")
    assert "/token" not in calls
    assert page.evaluate("() => window.__sockets.length") == 0


def test_the_pages_pkce_and_claim_checks(page_and_calls: tuple[Page, list[str]]) -> None:
    """oidc.js: the S256 challenge is RFC 7636's; the redirect URI drops query and index.html;
    tokenProblem refuses another aud, another iss, an expired token and another nonce, and
    accepts aud as a list."""
    page, _ = page_and_calls
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"  # RFC 7636, appendix B
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    result: dict[str, Any] = page.evaluate(
        """async (verifier) => {
          const o = await import("/js/oidc.js");
          const now = Date.now();
          const good = { iss: "https://i.example", aud: "page", exp: now / 1000 + 60, nonce: "n" };
          const check = (changes, expected = { nonce: "n" }) => o.tokenProblem(
            { ...good, ...changes }, { issuer: "https://i.example", clientId: "page", nowMs: now,
              ...expected });
          return {
            challenge: await o.codeChallenge(verifier),
            redirect: o.redirectUri({ origin: "https://c.example", pathname: "/app/index.html" }),
            good: check({}),
            listed: check({ aud: ["other", "page"] }),
            noNonceExpected: check({ nonce: undefined }, {}),
            aud: check({ aud: "other" }),
            iss: check({ iss: "https://evil.example" }),
            exp: check({ exp: now / 1000 - 1 }),
            nonce: check({ nonce: "other" }),
            missingNonce: check({ nonce: undefined }),
          };
        }""",
        verifier,
    )
    assert result.pop("challenge") == expected.rstrip(b"=").decode()
    assert result.pop("redirect") == "https://c.example/app/"
    assert result == {
        "good": None,
        "listed": None,
        "noNonceExpected": None,
        "aud": "it is meant for another application (aud)",
        "iss": "it comes from another issuer (iss)",
        "exp": "it has expired (exp)",
        "nonce": "it answers another sign-in (nonce)",
        "missingNonce": "it answers another sign-in (nonce)",
    }


def test_the_id_token_is_renewed_with_the_refresh_token(
    browser: Browser, oidc_stack: Stack
) -> None:
    """With offline_access the page keeps a refresh token and, five minutes before the ID
    token expires, trades it for a new ID token (grant_type=refresh_token), staying signed in;
    neither ID token is ever written to storage."""
    context = browser.new_context()
    writes = record_storage_writes(context)
    page = context.new_page()
    page.clock.install()
    try:
        page.goto(f"{oidc_stack.page_url}?{urlencode(FAST_TIMINGS)}")
        at_issuer(page, "Renee")
        wait_until(page, SIGNED_IN)
        assert page.evaluate("() => localStorage.getItem('awsome-chat:auth:refresh')") is not None
        with page.expect_response(
            lambda response: "grant_type=refresh_token" in (response.request.post_data or "")
        ) as renewal:
            page.clock.fast_forward("56:00")
        assert renewal.value.ok
        assert "id_token" in renewal.value.json()
        wait_until(page, SIGNED_IN)
        assert page.is_visible("#chat")
        assert jwts_in(page, writes) == []
        assert any(write.startswith("awsome-chat:auth:refresh=") for write in writes)
    finally:
        context.close()


def test_given_endpoints_and_no_refresh_token_sign_out_at_expiry(
    browser: Browser, configured_stack: Stack
) -> None:
    """Endpoints from config.js: no discovery fetch. Without a refresh token nothing is kept
    across a reload (the ID token is memory only; one an earlier version stored is removed), so
    the user signs in again; when the ID token expires the page signs out and says so."""
    issuer = configured_stack.oidc_issuer
    assert issuer is not None
    context = browser.new_context()
    page = context.new_page()
    calls: list[str] = []
    page.on(
        "request",
        lambda request: (
            calls.append(urlsplit(request.url).path) if request.url.startswith(issuer.url) else None
        ),
    )
    page.clock.install()
    try:
        page.goto(f"{configured_stack.page_url}?{urlencode(FAST_TIMINGS)}")
        at_issuer(page, "Shortlived")
        wait_until(page, SIGNED_IN)
        page.evaluate(
            "(token) => localStorage.setItem('awsome-chat:auth:id', token)",
            issuer.id_token("Shortlived"),
        )
        page.reload()
        page.wait_for_selector(SIGN_IN_BUTTON, state="visible")
        assert page.text_content("#account-name") == ""
        assert page.evaluate("() => localStorage.getItem('awsome-chat:auth:id')") is None
        at_issuer(page, "Shortlived")
        wait_until(page, SIGNED_IN)
        assert DISCOVERY_PATH not in calls
        assert "/token" in calls
        assert page.evaluate("() => localStorage.getItem('awsome-chat:auth:refresh')") is None
        page.clock.fast_forward("01:01:00")
        wait_until(
            page, "() => document.getElementById('auth-note').textContent.includes('expired')"
        )
        assert not page.is_visible("#chat")
        assert page.evaluate("() => localStorage.getItem('awsome-chat:auth:id')") is None
    finally:
        context.close()


def test_a_discovered_token_endpoint_on_another_host_is_refused_with_the_fix(
    page_and_calls: tuple[Page, list[str]],
) -> None:
    """Issue 26: the CSP admits the issuer's origin only, so a discovered token endpoint on
    another host (a Cognito pool's domain) is named, with the setting that fixes it, instead
    of being blocked unseen; one on the issuer's origin is fine."""
    page, _ = page_and_calls
    result: dict[str, Any] = page.evaluate(
        """async () => {
          const o = await import("/js/oidc.js");
          const issuer = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc";
          return {
            broker: o.discoveredTokenEndpointProblem(
              "https://chat.auth.eu-west-1.amazoncognito.com/oauth2/token", issuer),
            same: o.discoveredTokenEndpointProblem(
              "https://cognito-idp.eu-west-1.amazonaws.com/oauth2/token", issuer),
            missing: o.discoveredTokenEndpointProblem(undefined, issuer),
          };
        }"""
    )
    assert result["same"] is None
    assert "chat.auth.eu-west-1.amazoncognito.com" in result["broker"]
    assert "oidc_token_endpoint" in result["broker"]
    assert "no token endpoint" in result["missing"]
