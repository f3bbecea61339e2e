"""The ID token the smoke's clients sign in with, when the deployment requires sign-in.

With ``auth = "cognito"``: a throwaway user of the deployment's pool, created by an
administrator (``AdminCreateUser``, its invitation suppressed), given a permanent password
(``AdminSetUserPassword``), signed in as the page signs in (``InitiateAuth``
``USER_PASSWORD_AUTH`` through the page's app client, terraform/auth.tf) and always deleted
again (``AdminDeleteUser``), also when a check failed. Its user name is plain (letters and the
digits 2 to 9), so the chat shows it untagged (``cognito:username`` is unique in the pool).
With ``auth = "oidc"`` the smoke cannot sign in at an issuer of yours: it takes an ID token
(``--id-token`` or ``AWSOME_SMOKE_ID_TOKEN``), or says that the signed-in checks were skipped.
Either way the name the chat must show comes from the token, named as the deployed authorizer
names users (the ``auth_name_claim`` and ``auth_name_unique`` outputs).
"""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import jwt
from botocore.exceptions import BotoCoreError, ClientError

from deployment.product import AuthMode, token_name
from deployment.smoke.report import FAIL, OK, SKIP, Run
from deployment.smoke.target import SmokeTarget

ID_TOKEN_ENV: Final = "AWSOME_SMOKE_ID_TOKEN"  # noqa: S105 - a variable's name
SIGN_IN: Final = "sign-in"
DELETE_USER: Final = "delete user"
USER_PREFIX: Final = "smoke"
# Letters and the digits no look-alike rule folds: the authorizer shows such a name bare.
_PLAIN: Final = string.ascii_lowercase + "23456789"


@dataclass(frozen=True)
class Identity:
    """Who the smoke's clients are: the ID token they offer and the name the chat must show
    for it; for the open chat, no token and the names they ask for."""

    token: str | None = None
    name: str | None = None


OPEN: Final = Identity()


def token_display_name(target: SmokeTarget, id_token: str) -> str:
    """The name the deployment's authorizer gives ``id_token``'s user."""
    return token_name(id_token, target.name_claim, unique=target.name_unique)


def new_password() -> str:
    """A password terraform/auth.tf's policy accepts (12+ characters, upper, lower, digits)."""
    return f"Sm-{uuid.uuid4().hex[:16]}-A1!"


@contextmanager
def signed_in(
    target: SmokeTarget, cognito: Any, run: Run, id_token: str | None
) -> Iterator[Identity | None]:
    """The identity the chat checks use, its ``sign-in`` line recorded; None when there is no
    token (the chat checks are then skipped: the line said why). The Cognito user is deleted
    when the ``with`` ends, and its ``delete user`` line recorded."""
    if target.auth is AuthMode.NONE:
        yield OPEN
        return
    if target.auth is AuthMode.OIDC:
        if id_token:
            try:
                name = token_display_name(target, id_token)
            except jwt.PyJWTError as error:
                run.record(SIGN_IN, FAIL, f"the ID token given is not a JWT ({error})")
                yield None
                return
            run.record(SIGN_IN, OK, f"auth = oidc: the ID token given, for {name!r}")
            yield Identity(id_token, name)
        else:
            run.record(
                SIGN_IN,
                SKIP,
                "auth = oidc and no ID token given (--id-token or $"
                f"{ID_TOKEN_ENV}): the signed-in checks are skipped; the smoke cannot sign in "
                "at your issuer",
            )
            yield None
        return
    with throwaway_user(target, cognito, run) as identity:
        yield identity


@contextmanager
def throwaway_user(target: SmokeTarget, cognito: Any, run: Run) -> Iterator[Identity | None]:
    """A new user of the deployment's pool, signed in; deleted when the ``with`` ends."""
    assert target.user_pool_id is not None  # noqa: S101 - AuthMode.COGNITO has a pool
    pool = target.user_pool_id
    username = USER_PREFIX + "".join(secrets.choice(_PLAIN) for _ in range(12))
    created = False
    try:
        try:
            password = new_password()
            cognito.admin_create_user(
                UserPoolId=pool,
                Username=username,
                TemporaryPassword=password,
                MessageAction="SUPPRESS",
            )
            created = True
            cognito.admin_set_user_password(
                UserPoolId=pool, Username=username, Password=password, Permanent=True
            )
            answer = cognito.initiate_auth(
                ClientId=target.user_pool_client_id,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except (ClientError, BotoCoreError) as error:
            run.record(SIGN_IN, FAIL, f"user {username} in pool {pool}: {error}")
            yield None
            return
        token = (answer.get("AuthenticationResult") or {}).get("IdToken")
        if not token:
            run.record(
                SIGN_IN,
                FAIL,
                f"signing {username} in gave no ID token (challenge "
                f"{answer.get('ChallengeName')!r})",
            )
            yield None
            return
        run.record(
            SIGN_IN,
            OK,
            f"created user {username} in pool {pool} (invitation suppressed, permanent "
            f"password) and signed it in through app client {target.user_pool_client_id}",
        )
        yield Identity(token, token_display_name(target, token))
    finally:
        if created:
            _delete(cognito, pool, username, run)


def _delete(cognito: Any, pool: str, username: str, run: Run) -> None:
    try:
        cognito.admin_delete_user(UserPoolId=pool, Username=username)
    except (ClientError, BotoCoreError) as error:
        run.record(
            DELETE_USER,
            FAIL,
            f"{username} is left in pool {pool}: {error}; delete it with `aws cognito-idp "
            f"admin-delete-user --user-pool-id {pool} --username {username}`",
        )
        return
    run.record(DELETE_USER, OK, f"{username} deleted from pool {pool}")
