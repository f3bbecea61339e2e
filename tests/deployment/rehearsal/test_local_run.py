"""What the rehearsal changes to run the deployed function and site on the local gateway."""

from __future__ import annotations

from deployment.rehearsal.csp import page_allows
from deployment.rehearsal.local_run import local_environment, rewrite_site
from tests.deployment.rehearsal.conftest import (
    ENVIRONMENT,
    HOST,
    SITE_ORIGIN,
    STAGE,
    TABLE,
    WEBSOCKET_URL,
    uploaded_site,
)


def test_rewriting_points_config_and_csp_at_the_local_gateway() -> None:
    """config.js gets the local URL, the CSP the local origin; other files are untouched."""
    objects = uploaded_site()
    local = "ws://127.0.0.1:4321/prod"
    files = rewrite_site(objects, WEBSOCKET_URL, local)
    config = files["config.js"].decode()
    assert f'"{local}"' in config
    assert WEBSOCKET_URL not in config
    html = files["index.html"].decode()
    assert page_allows(html, "ws://127.0.0.1:4321") == (True, [])
    assert page_allows(html, f"wss://{HOST}")[0] is False
    assert files["js/app.js"] == objects["js/app.js"].body
    assert set(files) == set(objects)


def test_only_endpoints_are_made_local() -> None:
    """CONNECTIONS_ENDPOINT, DynamoDB and the site's origin move; every other value is kept."""
    environment = {**ENVIRONMENT, "ALLOWED_ORIGINS": f"{SITE_ORIGIN},https://other.example"}
    local, changes = local_environment(
        environment,
        connections_endpoint="http://127.0.0.1:9/prod",
        dynamodb_endpoint="http://127.0.0.1:8",
        website_origin=SITE_ORIGIN,
        page_origin="http://127.0.0.1:9",
    )
    assert local == {
        "TABLE_NAME": TABLE,
        "CONNECTIONS_ENDPOINT": "http://127.0.0.1:9/prod",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8",
        "ALLOWED_ORIGINS": "http://127.0.0.1:9,https://other.example",
        "MAX_MESSAGE_CHARS": "2000",
    }
    assert changes == [
        f"CONNECTIONS_ENDPOINT: https://{HOST}/{STAGE} -> http://127.0.0.1:9/prod",
        "AWS_ENDPOINT_URL_DYNAMODB: (unset) -> http://127.0.0.1:8",
        f"ALLOWED_ORIGINS: {SITE_ORIGIN},https://other.example -> "
        "http://127.0.0.1:9,https://other.example",
    ]
    # An open allowlist stays open.
    assert (
        "ALLOWED_ORIGINS"
        not in local_environment(
            {"TABLE_NAME": TABLE},
            connections_endpoint="a",
            dynamodb_endpoint="b",
            website_origin=SITE_ORIGIN,
            page_origin="c",
        )[0]
    )
