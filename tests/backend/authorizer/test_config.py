"""The authorizer's settings: the contract's variables, validated with messages that say what
to fix."""

from __future__ import annotations

import pytest
from authorizer.config import DEFAULT_ALGORITHMS, AuthSettings, EnvVar
from authorizer.errors import ConfigurationError

ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"


def test_the_contract_names_the_variables() -> None:
    """The names Terraform and the local stack set (docs/internals.md, "The authorizer")."""
    assert {name.value for name in EnvVar} == {
        "AUTH_ISSUER",
        "AUTH_AUDIENCE",
        "AUTH_JWKS_URL",
        "AUTH_ALGORITHMS",
    }


def test_issuer_and_audience_suffice() -> None:
    """Keys by discovery, RS256 pinned, when only the required variables are set."""
    settings = AuthSettings.from_env({"AUTH_ISSUER": ISSUER, "AUTH_AUDIENCE": "client"})
    assert settings == AuthSettings(issuer=ISSUER, audience="client")
    assert settings.jwks_url is None
    assert settings.algorithms == DEFAULT_ALGORITHMS == ("RS256",)


def test_every_variable_is_read() -> None:
    """The JWKS URL and a list of algorithms, trimmed."""
    settings = AuthSettings.from_env(
        {
            "AUTH_ISSUER": ISSUER,
            "AUTH_AUDIENCE": " client ",
            "AUTH_JWKS_URL": "http://127.0.0.1:5000/pool/.well-known/jwks.json",
            "AUTH_ALGORITHMS": "RS256, ES256",
        }
    )
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
    ],
)
def test_unsafe_values_are_refused(name: str, value: str) -> None:
    """Keys only over https (or the loopback), and only private-key signature algorithms."""
    env = {"AUTH_ISSUER": ISSUER, "AUTH_AUDIENCE": "client", name: value}
    with pytest.raises(ConfigurationError, match=name):
        AuthSettings.from_env(env)
