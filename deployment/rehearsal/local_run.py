"""What changes when the deployed function and site run on the local gateway instead: the
function's endpoints and the site's WebSocket URL, and nothing else. With sign-in on, also the
authorizer's key set URL and the site's sign-in endpoint, both moved to the emulator's Cognito.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from deployment.product import (
    AUTH_ISSUER_VARIABLE,
    AUTH_JWKS_URL_VARIABLE,
    DYNAMODB_ENDPOINT_VARIABLE,
    ENDPOINT_VARIABLE,
    ORIGINS_VARIABLE,
)
from deployment.rehearsal.csp import url_origin
from deployment.rehearsal.function_checks import cognito_pool_id
from deployment.rehearsal.readback import SiteObject
from deployment.rehearsal.site_checks import CONFIG_JS


@dataclass(frozen=True)
class SignInMove:
    """The sign-in endpoint the site was rendered with (an origin and ``/``), and the local
    one that replaces it: the local gateway serves Cognito's public operations on the page's
    own origin (``local_stack.cognito.COGNITO_PATH``), since moto answers no CORS."""

    rendered_origin: str
    """e.g. ``https://cognito-idp.eu-west-1.amazonaws.com``."""
    local_endpoint: str
    """The local gateway's, e.g. ``http://127.0.0.1:5000/cognito-idp/``."""

    @property
    def local_origin(self) -> str:
        """The local endpoint's origin, for the CSP's ``connect-src``."""
        return url_origin(self.local_endpoint)


def cognito_endpoint_origin(region: str) -> str:
    """The origin of Cognito's user pool API in ``region``: the site's ``auth_endpoint`` is
    it and ``/`` (docs/internals.md, "Site templates"), its CSP's ``auth_origin`` it."""
    return f"https://cognito-idp.{region}.amazonaws.com"


def _endpoint_values(origin: str) -> re.Pattern[str]:
    # The endpoint as a whole string value ("https://host/" or "https://host"), never the
    # origin inside a longer URL such as the issuer https://host/{pool id}: the page compares
    # that with the tokens' iss, which moto's tokens keep.
    return re.compile(re.escape(origin) + r"/?(?=[\"'`])")


def rewrite_site(
    objects: Mapping[str, SiteObject],
    rendered_url: str,
    local_url: str,
    sign_in: SignInMove | None = None,
) -> dict[str, bytes]:
    """The site's files with the rendered WebSocket URL (and its origin) made local.

    config.js gets ``local_url``; HTML files get the local origin wherever the rendered origin
    appeared (the CSP's connect-src). With ``sign_in``, config.js's sign-in endpoint and the
    HTML files' sign-in origin move to the local one too. Everything else is served byte for
    byte.
    """
    rendered_origin, local_origin = url_origin(rendered_url), url_origin(local_url)
    files: dict[str, bytes] = {}
    for key, obj in objects.items():
        body = obj.body
        if key == CONFIG_JS:
            text = body.decode("utf-8").replace(rendered_url, local_url)
            if sign_in is not None:
                text = _endpoint_values(sign_in.rendered_origin).sub(sign_in.local_endpoint, text)
            body = text.encode("utf-8")
        elif key.lower().endswith(".html"):
            text = body.decode("utf-8").replace(rendered_origin, local_origin)
            if sign_in is not None:
                text = text.replace(sign_in.rendered_origin, sign_in.local_origin)
            body = text.encode("utf-8")
        files[key] = body
    return files


def local_environment(
    environment: Mapping[str, str],
    *,
    connections_endpoint: str,
    dynamodb_endpoint: str,
    website_origin: str,
    page_origin: str,
) -> tuple[dict[str, str], list[str]]:
    """The function's environment with only its endpoints made local; and what was changed.

    ``CONNECTIONS_ENDPOINT`` becomes the local gateway, DynamoDB is reached at the emulator
    Terraform applied to (``AWS_ENDPOINT_URL_DYNAMODB``), and in ``ALLOWED_ORIGINS`` the site's
    deployed origin becomes the local site's (the site is the other endpoint that moved).
    Every other variable is kept as deployed.
    """
    local = dict(environment)
    changes: list[str] = []

    def change(name: str, value: str) -> None:
        before = environment.get(name)
        changes.append(f"{name}: {before if before is not None else '(unset)'} -> {value}")
        local[name] = value

    change(ENDPOINT_VARIABLE, connections_endpoint)
    change(DYNAMODB_ENDPOINT_VARIABLE, dynamodb_endpoint)
    origins = environment.get(ORIGINS_VARIABLE)
    if origins:
        mapped = [
            page_origin if o.strip().rstrip("/").lower() == website_origin.lower() else o.strip()
            for o in origins.split(",")
            if o.strip()
        ]
        if ",".join(mapped) != origins:
            change(ORIGINS_VARIABLE, ",".join(mapped))
    return local, changes


def local_authorizer_environment(
    environment: Mapping[str, str], *, cognito_endpoint: str
) -> tuple[dict[str, str], list[str]]:
    """The authorizer's environment with only its key set made local; and what was changed.

    ``AUTH_JWKS_URL`` becomes the emulator's key set of the pool ``AUTH_ISSUER`` names
    (``{cognito_endpoint}/{pool id}/.well-known/jwks.json``, which moto serves);
    ``AUTH_ISSUER`` stays, since moto's tokens carry the real issuer
    (``https://cognito-idp.{region}.amazonaws.com/{pool id}``). Without a Cognito issuer
    nothing changes (an OIDC issuer of your own is not emulated).
    """
    local = dict(environment)
    parsed = cognito_pool_id(environment.get(AUTH_ISSUER_VARIABLE, ""))
    if parsed is None:
        return local, []
    jwks = f"{cognito_endpoint.rstrip('/')}/{parsed[1]}/.well-known/jwks.json"
    before = environment.get(AUTH_JWKS_URL_VARIABLE)
    local[AUTH_JWKS_URL_VARIABLE] = jwks
    return local, [
        f"{AUTH_JWKS_URL_VARIABLE}: {before if before is not None else '(unset)'} -> {jwks}"
    ]
