"""Whom a valid token names: the display name comes from the deployment's name claim
(``AUTH_NAME_CLAIM``), tagged unless that claim is unique (``authorizer.names``)."""

from __future__ import annotations

from authorizer.config import AuthSettings
from authorizer.names import tag
from authorizer.verify import display_name

SUB = "8f1c2d3e-0000-4000-8000-123456789abc"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
CLAIMS = {"sub": SUB, "name": "Alice Liddell", "cognito:username": "mallory"}


def test_the_display_name_follows_the_settings() -> None:
    """Cognito's unique user name bare; an OpenID Connect ``name`` tagged (the default)."""
    cognito = AuthSettings(ISSUER, "client", name_claim="cognito:username", name_unique=True)
    assert display_name(CLAIMS, cognito) == "mallory"
    assert display_name(CLAIMS, AuthSettings(ISSUER, "client")) == f"Alice Liddell #{tag(SUB)}"
