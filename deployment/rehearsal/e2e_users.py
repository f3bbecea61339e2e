"""The end-to-end checks' signed-in users: created in a user pool of the deployment and signed
in with ``USER_PASSWORD_AUTH`` through its app client, as the page does; the names their ID
tokens give them, and a token forged from theirs.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from deployment.product import AuthorizerSettings
from deployment.product import token_name as product_token_name
from deployment.rehearsal.e2e import E2ECheckFailed
from deployment.rehearsal.readback import AppliedUserPool


@dataclass(frozen=True)
class SignIn:
    """Where the WebSocket checks sign their users in: a user pool of the deployment and its
    app client, through ``cognito`` (a boto3 ``cognito-idp`` client on the emulator), and the
    deployed authorizer's settings (which claim names a user)."""

    cognito: Any
    pool: AppliedUserPool
    client_id: str
    authorizer: AuthorizerSettings


@dataclass(frozen=True)
class SignedInUser:
    """A user the checks created, and the tokens ``InitiateAuth`` gave them."""

    username: str
    password: str
    id_token: str
    access_token: str
    name: str
    """The display name the authorizer takes from the ID token (``authorizer.verify``)."""


def username_for(person: str, pool: AppliedUserPool, suffix: str) -> str:
    """A new user name for ``person``: an email address when the pool signs in by email."""
    base = f"rehearsal-{person}-{suffix}"
    return f"{base}@example.com" if "email" in pool.username_attributes else base


def token_name(id_token: str, settings: AuthorizerSettings) -> str:
    """The name the authorizer, deployed with ``settings``, gives the user of ``id_token``."""
    return product_token_name(id_token, settings.name_claim, unique=settings.name_unique)


def sign_in_users(sign_in: SignIn, people: Sequence[str]) -> dict[str, SignedInUser]:
    """Create a confirmed user per person in the pool and sign each in (USER_PASSWORD_AUTH)."""
    cognito, pool = sign_in.cognito, sign_in.pool
    suffix = uuid.uuid4().hex[:8]
    users = {}
    for person in people:
        username = username_for(person, pool, suffix)
        # Upper, lower, digits and symbols: Cognito's strictest default password policy.
        password = f"Rh-{uuid.uuid4().hex[:16]}-A1!"
        attributes = (
            [{"Name": "email", "Value": username}, {"Name": "email_verified", "Value": "true"}]
            if "@" in username
            else []
        )
        cognito.admin_create_user(
            UserPoolId=pool.pool_id,
            Username=username,
            TemporaryPassword=password,
            MessageAction="SUPPRESS",
            UserAttributes=attributes,
        )
        cognito.admin_set_user_password(
            UserPoolId=pool.pool_id, Username=username, Password=password, Permanent=True
        )
        result = cognito.initiate_auth(
            ClientId=sign_in.client_id,
            AuthFlow="USER_PASSWORD_AUTH",
            AuthParameters={"USERNAME": username, "PASSWORD": password},
        )
        tokens = result.get("AuthenticationResult") or {}
        if "IdToken" not in tokens:
            raise E2ECheckFailed(
                f"signing {username} in gave no ID token (challenge "
                f"{result.get('ChallengeName')!r})"
            )
        users[person] = SignedInUser(
            username=username,
            password=password,
            id_token=tokens["IdToken"],
            access_token=tokens["AccessToken"],
            name=token_name(tokens["IdToken"], sign_in.authorizer),
        )
    return users


def delete_users(sign_in: SignIn, users: Iterable[SignedInUser]) -> None:
    """Remove the users the checks created (best effort: the pool is destroyed anyway)."""
    for user in users:
        with contextlib.suppress(ClientError):
            sign_in.cognito.admin_delete_user(
                UserPoolId=sign_in.pool.pool_id, Username=user.username
            )


def forged(token: str) -> str:
    """``token`` with its signature changed: well formed, signed by no one."""
    head, payload, signature = token.split(".")
    return f"{head}.{payload}.{'B' if signature[:1] == 'A' else 'A'}{signature[1:]}"
