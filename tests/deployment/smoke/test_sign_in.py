"""The smoke's sign-in: Cognito's throwaway user on moto in this process (created, signed in,
always deleted), and OIDC's given token or its plain skip."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from authorizer.names import is_plain, tag
from moto import mock_aws

from deployment.product import AuthMode
from deployment.smoke import SmokeTarget
from deployment.smoke.report import Run
from deployment.smoke.sign_in import ID_TOKEN_ENV, USER_PREFIX, signed_in

REGION = "eu-west-1"
TARGET = SmokeTarget(
    website_url="https://d1.cloudfront.net/",
    websocket_url="wss://a.execute-api.eu-west-1.amazonaws.com/prod",
    connections_endpoint="https://a.execute-api.eu-west-1.amazonaws.com/prod",
    table_name="connections",
    messages_table_name="messages",
    site_bucket="site",
    region=REGION,
)


@pytest.fixture
def cognito() -> Iterator[Any]:
    """A Cognito client on moto's in-process backend."""
    with mock_aws():
        yield boto3.client("cognito-idp", region_name=REGION)


def cognito_target(cognito: Any) -> SmokeTarget:
    """A pool and a page client like terraform/auth.tf's (user names, password sign-in)."""
    pool = cognito.create_user_pool(
        PoolName="users",
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireSymbols": False}},
    )["UserPool"]["Id"]
    client = cognito.create_user_pool_client(
        UserPoolId=pool,
        ClientName="page",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    return dataclasses.replace(
        TARGET,
        auth=AuthMode.COGNITO,
        user_pool_id=pool,
        user_pool_client_id=client,
        name_claim="cognito:username",
        name_unique=True,
    )


def users(cognito: Any, target: SmokeTarget) -> list[str]:
    """The pool's user names."""
    return [u["Username"] for u in cognito.list_users(UserPoolId=target.user_pool_id)["Users"]]


def test_a_throwaway_user_signs_in_and_is_deleted(cognito: Any) -> None:
    """A confirmed user exists while the checks run, its ID token names it, and it is gone
    afterwards; both lines say so."""
    target = cognito_target(cognito)
    lines: list[str] = []
    run = Run(lines.append)
    with signed_in(target, cognito, run, None) as identity:
        assert identity is not None and identity.token is not None
        (username,) = users(cognito, target)
        assert username == identity.name  # plain, so shown untagged
        assert username.startswith(USER_PREFIX)
        assert is_plain(username)
        user = cognito.admin_get_user(UserPoolId=target.user_pool_id, Username=username)
        assert user["UserStatus"] == "CONFIRMED"  # the permanent password: no challenge
        claims = jwt.decode(identity.token, options={"verify_signature": False})
        assert (claims["token_use"], claims["aud"]) == ("id", target.user_pool_client_id)
        assert claims["cognito:username"] == username
    assert users(cognito, target) == []
    assert lines[0].startswith(f"ok    sign-in: created user {username} in pool ")
    assert "(invitation suppressed, permanent password)" in lines[0]
    assert lines[1] == f"ok    delete user: {username} deleted from pool {target.user_pool_id}"


def test_the_user_is_deleted_when_a_check_raises(cognito: Any) -> None:
    """The deletion is in a finally: a crash in the checks leaves no user behind."""
    target = cognito_target(cognito)
    lines: list[str] = []
    with pytest.raises(RuntimeError), signed_in(target, cognito, Run(lines.append), None):
        raise RuntimeError
    assert users(cognito, target) == []
    assert lines[-1].startswith("ok    delete user: ")


def test_a_failed_sign_in_fails_its_line_and_still_deletes_the_user(cognito: Any) -> None:
    """The user was created but InitiateAuth refused (here: a client of no pool): no identity,
    a FAIL line, and the user deleted."""
    target = dataclasses.replace(cognito_target(cognito), user_pool_client_id="no-such-client")
    lines: list[str] = []
    with signed_in(target, cognito, Run(lines.append), None) as identity:
        assert identity is None
    assert users(cognito, target) == []
    assert lines[0].startswith(f"FAIL  sign-in: user {USER_PREFIX}")
    assert lines[1].startswith("ok    delete user: ")


def test_oidc_without_a_token_says_the_signed_in_checks_are_skipped() -> None:
    """No issuer to sign in at: a skip line naming both ways to give a token."""
    lines: list[str] = []
    target = dataclasses.replace(TARGET, auth=AuthMode.OIDC)
    with signed_in(target, None, Run(lines.append), None) as identity:
        assert identity is None
    assert lines == [
        "skip  sign-in: auth = oidc and no ID token given (--id-token or "
        f"${ID_TOKEN_ENV}): the signed-in checks are skipped; the smoke cannot sign in at "
        "your issuer"
    ]


@pytest.mark.parametrize(("unique", "name"), [(True, "ada"), (False, f"ada #{tag('u1')}")])
def test_oidc_with_a_token_expects_the_authorizers_name_for_it(unique: bool, name: str) -> None:
    """The name the chat must show is the authorizer's rule applied to the token's claims: its
    claim, tagged unless the deployment says the issuer makes it unique."""
    token = jwt.encode({"sub": "u1", "preferred_username": "ada"}, "k" * 32, algorithm="HS256")
    lines: list[str] = []
    target = dataclasses.replace(
        TARGET, auth=AuthMode.OIDC, name_claim="preferred_username", name_unique=unique
    )
    with signed_in(target, None, Run(lines.append), token) as identity:
        assert identity is not None
        assert (identity.token, identity.name) == (token, name)
    assert lines == [f"ok    sign-in: auth = oidc: the ID token given, for {name!r}"]


def test_an_oidc_token_that_is_not_a_jwt_fails_its_line() -> None:
    """A mistyped token is a FAIL saying so, not a traceback; no identity."""
    lines: list[str] = []
    target = dataclasses.replace(TARGET, auth=AuthMode.OIDC)
    with signed_in(target, None, Run(lines.append), "not-a-token") as identity:
        assert identity is None
    assert lines[0].startswith("FAIL  sign-in: the ID token given is not a JWT (")
