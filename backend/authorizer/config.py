"""The authorizer's settings, read from the environment and validated.

The variable names are the contract in ``docs/internals.md`` ("The authorizer"): Terraform and
the local stack set them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final
from urllib.parse import urlsplit

from .errors import ConfigurationError


class EnvVar(StrEnum):
    """The names of the authorizer's environment variables (the one definition)."""

    AUTH_ISSUER = "AUTH_ISSUER"
    AUTH_AUDIENCE = "AUTH_AUDIENCE"
    AUTH_JWKS_URL = "AUTH_JWKS_URL"
    AUTH_ALGORITHMS = "AUTH_ALGORITHMS"
    AUTH_NAME_CLAIM = "AUTH_NAME_CLAIM"
    AUTH_NAME_UNIQUE = "AUTH_NAME_UNIQUE"
    # Moderators: the claim and the value that make a user one (Cognito:
    # ``cognito:groups`` and the group's name); off when either is empty.
    AUTH_MODERATOR_CLAIM = "AUTH_MODERATOR_CLAIM"
    AUTH_MODERATOR_VALUE = "AUTH_MODERATOR_VALUE"


DEFAULT_ALGORITHMS: Final = ("RS256",)
# Only signatures made with a private key: the keys come from a public key set, so an HMAC
# ("HS256") would be keyed with a public value, and "none" is no signature at all.
ALLOWED_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
LOOPBACK_HOSTS: Final = frozenset({"127.0.0.1", "::1", "localhost"})
# The claim a display name comes from when none is set: OpenID Connect's own (Core 1.0, 5.1).
DEFAULT_NAME_CLAIM: Final = "name"
# A Cognito pool's user name: unique in the pool (whatever the case) and never writable by its
# user, so Terraform and the local stack name Cognito users by it, with AUTH_NAME_UNIQUE true.
COGNITO_NAME_CLAIM: Final = "cognito:username"
_BOOLEANS: Final = {"true": True, "false": False}
# A Cognito user pool's issuer, in its original form or the newer one its issuer setting
# ("IssuerConfigurationType", UPDATED) gives: "https://[issuer-]cognito-idp.{region}.
# {DNS suffix}/{pool id}". Its tokens may carry either, so both are this pool's.
_COGNITO_ISSUER: Final = re.compile(
    r"https://(?:issuer-)?cognito-idp\.(?P<region>[a-z0-9-]+)\.(?P<suffix>amazonaws\.com(?:\.cn)?)"
    r"/(?P<pool>[\w-]+_[0-9A-Za-z]+)"
)


def accepted_issuers(issuer: str) -> tuple[str, ...]:
    """The ``iss`` values that name ``issuer``: itself, and for a Cognito user pool both forms
    of that pool's issuer (and no other pool's)."""
    pool = _COGNITO_ISSUER.fullmatch(issuer)
    if pool is None:
        return (issuer,)
    rest = f"cognito-idp.{pool['region']}.{pool['suffix']}/{pool['pool']}"
    return (f"https://{rest}", f"https://issuer-{rest}")


def secure_or_loopback(url: str) -> bool:
    """https anywhere; plain http only to this machine (the local stack's issuer): keys fetched
    in clear from elsewhere could be swapped on the way."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """What a token must match, where the keys that sign it are, and which claim names its
    user (``name_unique``: the issuer makes that claim unique whatever the case and its users
    cannot write it, as Cognito's ``cognito:username`` in a case-insensitive pool; otherwise
    the name is shown with a tag, ``names``)."""

    issuer: str
    audience: str
    jwks_url: str | None = None
    algorithms: tuple[str, ...] = DEFAULT_ALGORITHMS
    name_claim: str = DEFAULT_NAME_CLAIM
    name_unique: bool = False
    moderator_claim: str = ""
    moderator_value: str = ""

    @property
    def issuers(self) -> tuple[str, ...]:
        """Every ``iss`` a token of this issuer may carry (``accepted_issuers``)."""
        return accepted_issuers(self.issuer)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AuthSettings:
        """Build settings from ``env``; raise ``ConfigurationError`` naming every bad variable."""
        problems: list[str] = []
        # The issuer is compared exactly with the token's ``iss``: not trimmed of a slash.
        issuer = env.get(EnvVar.AUTH_ISSUER, "").strip()
        if not issuer:
            problems.append(
                f"{EnvVar.AUTH_ISSUER} is required: set it to the issuer's exact iss, e.g. "
                "https://cognito-idp.{region}.amazonaws.com/{user pool id}"
            )
        elif not secure_or_loopback(issuer):
            problems.append(
                f"{EnvVar.AUTH_ISSUER} must be an https URL (http only on the loopback), "
                f"got {issuer!r}"
            )
        audience = env.get(EnvVar.AUTH_AUDIENCE, "").strip()
        if not audience:
            problems.append(
                f"{EnvVar.AUTH_AUDIENCE} is required: set it to the app client id (the ID "
                "token's aud)"
            )
        jwks_url = env.get(EnvVar.AUTH_JWKS_URL, "").strip() or None
        if jwks_url is not None and not secure_or_loopback(jwks_url):
            problems.append(
                f"{EnvVar.AUTH_JWKS_URL} must be an https URL (http only on the loopback), "
                f"got {jwks_url!r}"
            )
        raw_algorithms = env.get(EnvVar.AUTH_ALGORITHMS, "")
        algorithms = tuple(a.strip() for a in raw_algorithms.split(",") if a.strip())
        algorithms = algorithms or DEFAULT_ALGORITHMS
        refused = [a for a in algorithms if a not in ALLOWED_ALGORITHMS]
        if refused:
            problems.append(
                f"{EnvVar.AUTH_ALGORITHMS} must be a comma-separated list of "
                f"{', '.join(sorted(ALLOWED_ALGORITHMS))}, got {refused!r}"
            )
        name_claim = env.get(EnvVar.AUTH_NAME_CLAIM, "").strip() or DEFAULT_NAME_CLAIM
        raw_unique = env.get(EnvVar.AUTH_NAME_UNIQUE, "").strip().lower() or "false"
        if raw_unique not in _BOOLEANS:
            problems.append(
                f"{EnvVar.AUTH_NAME_UNIQUE} must be true (the issuer makes "
                f"{EnvVar.AUTH_NAME_CLAIM} unique and read-only) or false, got {raw_unique!r}"
            )
        if problems:
            raise ConfigurationError("; ".join(problems))
        return cls(
            issuer=issuer,
            audience=audience,
            jwks_url=jwks_url,
            algorithms=algorithms,
            name_claim=name_claim,
            name_unique=_BOOLEANS.get(raw_unique, False),
            moderator_claim=env.get(EnvVar.AUTH_MODERATOR_CLAIM, "").strip(),
            moderator_value=env.get(EnvVar.AUTH_MODERATOR_VALUE, "").strip(),
        )
