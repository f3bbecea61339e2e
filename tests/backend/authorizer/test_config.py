"""The authorizer's settings: the contract's variables, validated with messages that say what
to fix."""

from __future__ import annotations

import pytest
from authorizer.config import (
    DEFAULT_ALGORITHMS,
    DEFAULT_NAME_CLAIM,
    AuthSettings,
    EnvVar,
    accepted_issuers,
)
from authorizer.errors import ConfigurationError

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"


def test_the_contract_names_the_variables() -> None:
    """The names Terraform and the local stack set (docs/internals.md, "The authorizer")."""
    assert {name.value for name in EnvVar} == {
        "AUTH_ISSUER",
        "AUTH_AUDIENCE",
        "AUTH_JWKS_URL",
        "AUTH_ALGORITHMS",
        "AUTH_NAME_CLAIM",
        "AUTH_NAME_UNIQUE",
        "AUTH_MODERATOR_CLAIM",
        "AUTH_MODERATOR_VALUE",
    }


def test_issuer_and_audience_suffice() -> None:
    """Keys by discovery, RS256 pinned, when only the required variables are set."""
    settings = AuthSettings.from_env({"AUTH_ISSUER": ISSUER, "AUTH_AUDIENCE": "client"})
    assert settings == AuthSettings(issuer=ISSUER, audience="client")
    assert settings.jwks_url is None
    assert settings.algorithms == DEFAULT_ALGORITHMS == ("RS256",)
    # Safe by default: OpenID Connect's name, which users may write, shown with a tag.
    assert (
        (settings.name_claim, settings.name_unique)
        == (DEFAULT_NAME_CLAIM, False)
        == (
            "name",
            False,
        )
    )


def test_every_variable_is_read() -> None:
    """The JWKS URL and a list of algorithms, trimmed."""
    settings = AuthSettings.from_env(
        {
            "AUTH_ISSUER": ISSUER,
            "AUTH_AUDIENCE": " client ",
            "AUTH_JWKS_URL": "http://127.0.0.1:5000/pool/.well-known/jwks.json",
            "AUTH_ALGORITHMS": "RS256, ES256",
            "AUTH_NAME_CLAIM": " cognito:username ",
            "AUTH_NAME_UNIQUE": "True",
        }
    )
    assert (settings.name_claim, settings.name_unique) == ("cognito:username", True)
    assert settings.audience == "client"
    assert settings.jwks_url == "http://127.0.0.1:5000/pool/.well-known/jwks.json"
    assert settings.algorithms == ("RS256", "ES256")


def test_missing_variables_are_named_together() -> None:
    """One error naming both required variables."""
    with pytest.raises(ConfigurationError) as raised:
        AuthSettings.from_env({})
    assert "AUTH_ISSUER is required" in str(raised.value)
    assert "AUTH_AUDIENCE is required" in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("AUTH_ISSUER", "http://issuer.example.com"),
        ("AUTH_JWKS_URL", "http://issuer.example.com/jwks.json"),
        ("AUTH_JWKS_URL", "file:///etc/keys.json"),
        ("AUTH_ALGORITHMS", "HS256"),
        ("AUTH_ALGORITHMS", "RS256,none"),
        ("AUTH_NAME_UNIQUE", "yes"),
    ],
)
def test_unsafe_values_are_refused(name: str, value: str) -> None:
    """Keys only over https (or the loopback), and only private-key signature algorithms."""
    env = {"AUTH_ISSUER": ISSUER, "AUTH_AUDIENCE": "client", name: value}
    with pytest.raises(ConfigurationError, match=name):
        AuthSettings.from_env(env)


def test_a_cognito_pools_issuer_is_accepted_in_both_forms_and_no_other_issuer_is() -> None:
    """The original and the newer form of one pool's issuer, whichever is configured; an
    OpenID Connect issuer is only itself."""
    newer = ISSUER.replace("cognito-idp", "issuer-cognito-idp")
    assert accepted_issuers(ISSUER) == accepted_issuers(newer) == (ISSUER, newer)
    assert AuthSettings(newer, "client").issuers == (ISSUER, newer)
    assert accepted_issuers("https://issuer.example.com/") == ("https://issuer.example.com/",)
    # Not a pool's issuer: a path below it, another host that merely contains the name.
    assert accepted_issuers(ISSUER + "/x") == (ISSUER + "/x",)
    evil = "https://cognito-idp.eu-west-1.amazonaws.com.evil.example/eu-west-1_abc"
    assert accepted_issuers(evil) == (evil,)
