"""The rehearsal's judgements on the uploaded site and its Content-Security-Policy."""

from __future__ import annotations

import dataclasses

import pytest

from deployment.rehearsal.csp import page_allows
from deployment.rehearsal.readback import (
    SiteObject,
)
from deployment.rehearsal.site_checks import check_site
from tests.deployment.rehearsal.conftest import (
    HOST,
    WEBSOCKET_URL,
    messages,
    uploaded_site,
)


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
