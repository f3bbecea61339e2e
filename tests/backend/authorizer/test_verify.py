"""Whom a valid token names: the display name comes from the deployment's name claim
(``AUTH_NAME_CLAIM``), tagged unless that claim is unique (``authorizer.names``)."""

from __future__ import annotations

from authorizer.config import AuthSettings
from authorizer.names import tag
from authorizer.verify import display_name, is_moderator

SUB = "8f1c2d3e-0000-4000-8000-123456789abc"
ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"
CLAIMS = {"sub": SUB, "name": "Alice Liddell", "cognito:username": "mallory"}


def test_the_display_name_follows_the_settings() -> None:
    """Cognito's unique user name bare; an OpenID Connect ``name`` tagged (the default)."""
    cognito = AuthSettings(ISSUER, "client", name_claim="cognito:username", name_unique=True)
    assert display_name(CLAIMS, cognito) == "mallory"
    assert display_name(CLAIMS, AuthSettings(ISSUER, "client")) == f"Alice Liddell #{tag(SUB)}"


def test_a_moderator_is_one_by_the_configured_claim_and_value() -> None:
    """Cognito's ``cognito:groups`` list holding the group; an OIDC string claim equal to the
    value; nobody when no claim is configured, or with another group, or a look-alike type."""
    cognito = AuthSettings(
        ISSUER, "client", moderator_claim="cognito:groups", moderator_value="moderators"
    )
    assert is_moderator({**CLAIMS, "cognito:groups": ["staff", "moderators"]}, cognito)
    assert not is_moderator({**CLAIMS, "cognito:groups": ["staff"]}, cognito)
    assert not is_moderator({**CLAIMS, "cognito:groups": {"moderators": 1}}, cognito)
    assert not is_moderator(CLAIMS, cognito)
    oidc = AuthSettings(ISSUER, "client", moderator_claim="role", moderator_value="mod")
    assert is_moderator({**CLAIMS, "role": "mod"}, oidc)
    assert not is_moderator({**CLAIMS, "role": "moderator"}, oidc)
    off = AuthSettings(ISSUER, "client")
    assert not is_moderator({**CLAIMS, "cognito:groups": ["moderators"], "": "x"}, off)
