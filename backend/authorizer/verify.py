"""Is this an ID token our issuer signed for our app, still valid? And whom does it name?

Every check is PyJWT's (signature, algorithm, ``exp``, ``nbf``, ``iat``, ``iss``: one of
``AuthSettings.issuers``) except the two it cannot know: ``token_use`` (Cognito's claim: an
ID token says ``id``; an access token, ``access``, is refused wherever it comes from) and the
audience, checked after it so that an access token (which has ``client_id`` and no ``aud``)
is refused as what it is. A token is
refused with a log-safe reason word (``TokenRejected.reason``); the token and its claims never
leave this module except as the ``Identity`` of a valid one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

import jwt
from jwt import PyJWK

from .config import AuthSettings
from .errors import TokenRejected
from .names import display_name as _name_from

# Clocks drift: a token issued by a server a few seconds ahead is not "from the future".
LEEWAY_S: Final = 60
REQUIRED_CLAIMS: Final = ("exp", "iat", "iss", "sub")
ID_TOKEN_USE: Final = "id"  # noqa: S105 (a claim value, not a secret)
# Which PyJWT error is which refusal; the first match wins (subclasses before their bases).
_REASONS: Final[tuple[tuple[type[jwt.PyJWTError], str], ...]] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidAlgorithmError, "algorithm_not_allowed"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.DecodeError, "malformed"),
)


class Keys(Protocol):
    """Where verification finds the key a token names (``jwks.KeySet``)."""

    def key(self, kid: str) -> PyJWK | None:
        """The key with id ``kid``, or ``None``."""


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a valid token says its user is: ``user_id`` (``sub``) and a display name."""

    user_id: str
    name: str
    moderator: bool = False
    """Whether the token's moderator claim holds the moderator value."""


def verify_id_token(token: str, settings: AuthSettings, keys: Keys) -> Identity:
    """The identity ``token`` proves, or ``TokenRejected`` saying why it proves nothing."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise TokenRejected("malformed") from error
    # Checked before any key is looked up, so no other algorithm costs a fetch; PyJWT checks it
    # again against the key while verifying.
    if header.get("alg") not in settings.algorithms:
        raise TokenRejected("algorithm_not_allowed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenRejected("no_key_id")
    key = keys.key(kid)
    if key is None:
        raise TokenRejected("unknown_key")
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=list(settings.algorithms),
            issuer=settings.issuers,
            leeway=LEEWAY_S,
            # The audience is ours to check (module docstring).
            options={"require": list(REQUIRED_CLAIMS), "verify_aud": False},
        )
    except jwt.PyJWTError as error:
        raise TokenRejected(_reason(error)) from error
    if "token_use" in claims and claims["token_use"] != ID_TOKEN_USE:
        raise TokenRejected("not_id_token")
    if not _for_audience(claims, settings.audience):
        raise TokenRejected("wrong_audience")
    user_id = claims["sub"]
    if not isinstance(user_id, str) or not user_id:
        raise TokenRejected("missing_claim")
    return Identity(
        user_id=user_id,
        name=display_name(claims, settings),
        moderator=is_moderator(claims, settings),
    )


def is_moderator(claims: Mapping[str, Any], settings: AuthSettings) -> bool:
    """Whether ``claims`` make their user a moderator: ``settings.moderator_claim`` (Cognito:
    ``cognito:groups``) is ``settings.moderator_value`` or a list holding it; never when no
    claim is configured."""
    if not settings.moderator_claim or not settings.moderator_value:
        return False
    value = claims.get(settings.moderator_claim)
    if isinstance(value, str):
        return value == settings.moderator_value
    return isinstance(value, list) and settings.moderator_value in value


def _reason(error: jwt.PyJWTError) -> str:
    return next((reason for kind, reason in _REASONS if isinstance(error, kind)), "invalid")


def _for_audience(claims: Mapping[str, Any], audience: str) -> bool:
    """``aud`` is our client id or a list holding it; an ``azp``, when present, must be ours
    too: another client's token that also names us is not ours ("OpenID Connect Core 1.0",
    section 3.1.3.7, steps 3 to 5)."""
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if audience not in audiences:
        return False
    azp = claims.get("azp")
    return azp is None or azp == audience


def display_name(claims: Mapping[str, Any], settings: AuthSettings) -> str:
    """The name the chat shows for the user of a verified token's ``claims``: from
    ``settings.name_claim``, tagged unless unique and plain (``names``)."""
    return _name_from(claims, settings.name_claim, unique=settings.name_unique)
