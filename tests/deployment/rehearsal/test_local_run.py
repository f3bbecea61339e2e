"""What the rehearsal changes to run the deployed function and site on the local gateway."""

from __future__ import annotations

import dataclasses

from deployment.rehearsal.csp import page_allows
from deployment.rehearsal.local_run import (
    SignInMove,
    cognito_endpoint_origin,
    local_authorizer_environment,
    local_environment,
    rewrite_site,
)
from tests.deployment.rehearsal.conftest import (
    AUTHORIZER_ENVIRONMENT,
    ENVIRONMENT,
    HOST,
    ISSUER,
    POOL_ID,
    REGION,
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


def test_the_authorizer_fetches_keys_from_the_emulators_pool() -> None:
    """AUTH_JWKS_URL moves to moto's key set of the issuer's pool; AUTH_ISSUER stays."""
    local, changes = local_authorizer_environment(
        AUTHORIZER_ENVIRONMENT, cognito_endpoint="http://127.0.0.1:5000/"
    )
    moto_keys = f"http://127.0.0.1:5000/{POOL_ID}/.well-known/jwks.json"
    assert local == {**AUTHORIZER_ENVIRONMENT, "AUTH_JWKS_URL": moto_keys}
    assert changes == [f"AUTH_JWKS_URL: {ISSUER}/.well-known/jwks.json -> {moto_keys}"]
    unset = {k: v for k, v in AUTHORIZER_ENVIRONMENT.items() if k != "AUTH_JWKS_URL"}
    assert local_authorizer_environment(unset, cognito_endpoint="http://127.0.0.1:5000")[1] == [
        f"AUTH_JWKS_URL: (unset) -> {moto_keys}"
    ]
    # An issuer of one's own is not emulated: nothing to move.
    oidc = {"AUTH_ISSUER": "https://issuer.example.com", "AUTH_AUDIENCE": "a"}
    assert local_authorizer_environment(oidc, cognito_endpoint="http://x") == (oidc, [])


def test_the_sign_in_endpoint_and_its_csp_origin_move_to_the_emulator() -> None:
    """config.js's auth endpoint (as a whole value) and the CSP's auth origin become the local
    gateway's (which forwards to moto);
    the issuer, a longer URL on the same origin, is kept."""
    cognito = cognito_endpoint_origin(REGION)
    assert cognito == f"https://cognito-idp.{REGION}.amazonaws.com"
    objects = uploaded_site()
    config = (
        objects["config.js"].body.decode()
        + f'\nexport const auth = {{endpoint: "{cognito}/", issuer: "{ISSUER}"}};\n'
    )
    html = objects["index.html"].body.decode().replace("connect-src ", f"connect-src {cognito} ")
    objects["config.js"] = dataclasses.replace(objects["config.js"], body=config.encode())
    objects["index.html"] = dataclasses.replace(objects["index.html"], body=html.encode())
    moto = "http://127.0.0.1:4321"
    local = "ws://127.0.0.1:4321/prod"
    files = rewrite_site(objects, WEBSOCKET_URL, local, SignInMove(cognito, f"{moto}/cognito-idp/"))
    rewritten = files["config.js"].decode()
    assert f'endpoint: "{moto}/cognito-idp/"' in rewritten
    assert f'issuer: "{ISSUER}"' in rewritten
    assert f'"{local}"' in rewritten
    page = files["index.html"].decode()
    assert page_allows(page, moto) == (True, [])
    assert page_allows(page, cognito)[0] is False
    assert page_allows(page, "ws://127.0.0.1:4321") == (True, [])
