"""The WebSocket checks' signed-in users: created in a user pool and signed in as the page
does (USER_PASSWORD_AUTH), on moto's Cognito in this process (no Terraform, no gateway)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from authorizer.config import COGNITO_NAME_CLAIM
from authorizer.names import tag
from moto import mock_aws

from deployment.product import AuthorizerSettings
from deployment.rehearsal.e2e_users import (
    SignIn,
    delete_users,
    forged,
    sign_in_users,
    token_name,
    username_for,
)
from deployment.rehearsal.readback import AppliedUserPool, parse_user_pool

REGION = "eu-west-1"


def cognito_settings(pool: AppliedUserPool, client_id: str) -> AuthorizerSettings:
    """The authorizer's settings as Terraform deploys them for a Cognito pool."""
    issuer = f"https://cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}"
    return AuthorizerSettings(issuer, client_id, name_claim=COGNITO_NAME_CLAIM, name_unique=True)


@pytest.fixture
def cognito() -> Iterator[Any]:
    """A Cognito client on moto's in-process backend."""
    with mock_aws():
        yield boto3.client("cognito-idp", region_name=REGION)


def pool_and_client(cognito: Any, **pool: Any) -> tuple[AppliedUserPool, str]:
    """A pool and a public app client like Terraform's (no secret, password sign-in)."""
    created = cognito.create_user_pool(PoolName="users", **pool)["UserPool"]
    client = cognito.create_user_pool_client(
        UserPoolId=created["Id"],
        ClientName="page",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]
    return parse_user_pool(created), client["ClientId"]


def test_users_are_created_and_signed_in_with_id_tokens(cognito: Any) -> None:
    """Each person gets a user and an ID token for the app client, named as the deployed
    authorizer names them."""
    pool, client_id = pool_and_client(cognito)
    sign_in = SignIn(
        cognito=cognito,
        pool=pool,
        client_id=client_id,
        authorizer=cognito_settings(pool, client_id),
    )
    users = sign_in_users(sign_in, ("alice", "bob"))
    assert set(users) == {"alice", "bob"}
    alice = users["alice"]
    claims = jwt.decode(alice.id_token, options={"verify_signature": False})
    assert claims["token_use"] == "id"
    assert claims["aud"] == client_id
    assert claims["iss"] == f"https://cognito-idp.{REGION}.amazonaws.com/{pool.pool_id}"
    assert alice.username.startswith("rehearsal-alice-")
    # cognito:username, tagged: "rehearsal-alice-..." holds separators the chat's key drops.
    assert alice.name == f"{alice.username} #{tag(claims['sub'])}"
    access = jwt.decode(alice.access_token, options={"verify_signature": False})
    assert access["token_use"] == "access"
    delete_users(sign_in, users.values())
    assert cognito.list_users(UserPoolId=pool.pool_id)["Users"] == []


def test_a_pool_that_signs_in_by_email_gets_email_users(cognito: Any) -> None:
    """With email as the user name, the users are email addresses; the name the authorizer
    gives never shows the address."""
    pool, client_id = pool_and_client(cognito, UsernameAttributes=["email"])
    assert username_for("bob", pool, "x1").endswith("@example.com")
    settings = cognito_settings(pool, client_id)
    (bob,) = sign_in_users(SignIn(cognito, pool, client_id, settings), ("bob",)).values()
    assert bob.username.endswith("@example.com")
    assert "example.com" not in bob.name
    claims = jwt.decode(bob.id_token, options={"verify_signature": False})
    assert bob.name.endswith(f" #{tag(claims['sub'])}")


def test_a_forged_token_keeps_its_claims_and_loses_its_signature() -> None:
    """The forgery decodes as before but no longer verifies."""
    token = jwt.encode({"sub": "u1", "cognito:username": "Alice"}, "k" * 32, algorithm="HS256")
    fake = forged(token)
    assert fake != token
    assert fake.rsplit(".", 1)[0] == token.rsplit(".", 1)[0]
    settings = AuthorizerSettings("https://issuer.example", "c", name_claim=COGNITO_NAME_CLAIM)
    assert token_name(fake, settings) == f"Alice #{tag('u1')}"
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(fake, "k" * 32, algorithms=["HS256"])
