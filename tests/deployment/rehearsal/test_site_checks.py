"""The rehearsal's judgements on the uploaded site and its Content-Security-Policy."""

from __future__ import annotations

import dataclasses

import pytest

from deployment.rehearsal.csp import page_allows
from deployment.rehearsal.readback import (
    SiteObject,
)
from deployment.rehearsal.site_checks import check_sign_in_site, check_site
from tests.deployment.rehearsal.conftest import (
    CLIENT_ID,
    HOST,
    REGION,
    WEBSOCKET_URL,
    messages,
    uploaded_site,
)

COGNITO = f"https://cognito-idp.{REGION}.amazonaws.com"


def test_the_uploaded_site_points_at_the_api() -> None:
    """frontend/ rendered for this API's URL passes, and config.js's URL is found."""
    site, problems = check_site(uploaded_site(), WEBSOCKET_URL, "2000")
    assert problems == []
    assert site.rendered_url == WEBSOCKET_URL


def test_a_config_js_pointing_at_the_wrong_url_is_reported() -> None:
    """A site rendered for another API: config.js and the CSP both name the wrong endpoint."""
    other = "wss://zzz999.execute-api.eu-west-1.amazonaws.com/prod"
    site, problems = check_site(uploaded_site(other), WEBSOCKET_URL, "2000")
    assert site.rendered_url is None
    assert messages(problems) == [
        f"config.js points the page at {other}, but the API's WebSocket endpoint is "
        f"{WEBSOCKET_URL}",
        "the Content-Security-Policy of index.html lets it connect only to "
        "wss://zzz999.execute-api.eu-west-1.amazonaws.com, not to "
        f"wss://{HOST}: browsers would block the WebSocket",
    ]


def test_site_files_that_break_the_page_are_reported() -> None:
    """A raw template, a script typed as octet-stream, a limit the function does not share."""
    objects = uploaded_site()
    objects["js/app.js"] = dataclasses.replace(
        objects["js/app.js"], content_type="binary/octet-stream"
    )
    objects["config.js.tpl"] = SiteObject("config.js.tpl", b"", "application/octet-stream")
    del objects["index.html"]
    assert messages(check_site(objects, WEBSOCKET_URL, "500")[1]) == [
        "config.js.tpl was uploaded as it is: templates must be rendered and published as "
        "config.js",
        "js/app.js is published with Content-Type 'binary/octet-stream'; browsers need "
        "text/javascript",
        "the bucket has no index.html: the site's URL would answer 403 or 404",
        "config.js lets the page send 2000 characters, but the function refuses more than 500 "
        "(MAX_MESSAGE_CHARS)",
    ]
    assert messages(check_site({}, WEBSOCKET_URL, None)[1]) == ["the site's bucket is empty"]


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        (f"wss://{HOST}", True),
        ("wss://*.execute-api.eu-west-1.amazonaws.com", True),
        ("wss:", True),
        ("*", True),
        ("ws://" + HOST, False),
        ("wss://other.example", False),
        ("'self'", False),
    ],
)
def test_csp_sources(source: str, allowed: bool) -> None:
    """connect-src sources match by scheme, host and host wildcard."""
    html = f'<meta http-equiv="Content-Security-Policy" content="connect-src {source}">'
    assert page_allows(html, f"wss://{HOST}")[0] is allowed


def signed_in_site(config_extra: str, connect_src: str = COGNITO) -> dict[str, SiteObject]:
    """The uploaded site with sign-in values in config.js and ``connect_src`` in its CSP."""
    objects = uploaded_site()
    config = objects["config.js"].body.decode() + config_extra
    html = (
        objects["index.html"].body.decode().replace("connect-src ", f"connect-src {connect_src} ")
    )
    objects["config.js"] = dataclasses.replace(objects["config.js"], body=config.encode())
    objects["index.html"] = dataclasses.replace(objects["index.html"], body=html.encode())
    return objects


def test_a_signed_in_site_knows_its_pool_and_may_reach_cognito() -> None:
    """auth_mode, auth_endpoint and auth_client_id rendered, auth_origin in the CSP: passes."""
    rendered = (
        f'export const auth = {{mode: "cognito", endpoint: "{COGNITO}/", clientId: "{CLIENT_ID}"}};'
    )
    site = signed_in_site(rendered)
    assert (
        check_sign_in_site(site, mode="cognito", endpoint_origin=COGNITO, client_id=CLIENT_ID) == []
    )


def test_a_site_rendered_without_sign_in_is_reported() -> None:
    """The open site on a signed-in deployment: no mode, endpoint or client; CSP shut."""
    problems = check_sign_in_site(
        uploaded_site(), mode="cognito", endpoint_origin=COGNITO, client_id=CLIENT_ID
    )
    assert messages(problems)[:3] == [
        "config.js does not hold the sign-in mode 'cognito': the page could not sign users in",
        f"config.js does not hold the sign-in endpoint {COGNITO}/: the page could not sign "
        "users in",
        f"config.js does not hold the app client id '{CLIENT_ID}': the page could not sign "
        "users in",
    ]
    (csp,) = messages(problems)[3:]
    assert csp.startswith("the Content-Security-Policy of index.html lets it connect only to ")
    assert csp.endswith(f"not to {COGNITO}: browsers would block signing in")
