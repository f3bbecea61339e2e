"""The read-back's parsing of API Gateway's and Cognito's answers, and the reads themselves on
moto's in-process backend (no server, no Terraform)."""

from __future__ import annotations

from typing import Any

import boto3
from moto import mock_aws

from deployment.rehearsal.readback import (
    AppClient,
    AppliedUserPool,
    Authorizer,
    Route,
    parse_app_client,
    parse_authorizer,
    parse_route,
    parse_user_pool,
    read_api,
    read_app_client,
    read_user_pool,
)
from tests.deployment.rehearsal.conftest import (
    AUTHORIZER_URI,
    CLIENT_ID,
    IDENTITY_SOURCE,
    POOL_ID,
    REGION,
)


def test_routes_carry_their_authorization() -> None:
    """A guarded $connect names its authorizer; a route without one is NONE."""
    guarded = {
        "RouteKey": "$connect",
        "Target": "integrations/int1",
        "AuthorizationType": "CUSTOM",
        "AuthorizerId": "auth1",
    }
    assert parse_route(guarded) == Route("$connect", "integrations/int1", "CUSTOM", "auth1")
    assert parse_route({"RouteKey": "ping", "Target": "integrations/int1"}) == Route(
        "ping", "integrations/int1", "NONE", None
    )


def test_an_authorizers_identity_source_is_a_list_either_way() -> None:
    """API Gateway v2 answers a list; a comma-separated string reads as the same list."""
    item = {
        "AuthorizerId": "auth1",
        "Name": "connect",
        "AuthorizerType": "REQUEST",
        "AuthorizerUri": AUTHORIZER_URI,
        "IdentitySource": [IDENTITY_SOURCE],
    }
    expected = Authorizer("auth1", "connect", "REQUEST", AUTHORIZER_URI, (IDENTITY_SOURCE,))
    assert parse_authorizer(item) == expected
    two = f"{IDENTITY_SOURCE}, route.request.querystring.token"
    assert parse_authorizer({**item, "IdentitySource": two}).identity_sources == (
        IDENTITY_SOURCE,
        "route.request.querystring.token",
    )
    assert parse_authorizer({"AuthorizerId": "x"}).identity_sources == ()


def test_pool_and_client_are_read_from_cognitos_descriptions() -> None:
    """How users sign in (user name or email), and whether the page can use the client."""
    pool = parse_user_pool({"Id": POOL_ID, "Name": "users", "UsernameAttributes": ["email"]})
    assert pool == AppliedUserPool(POOL_ID, "users", ("email",))
    assert parse_user_pool({"Id": POOL_ID}).username_attributes == ()
    client = parse_app_client(
        {
            "ClientId": CLIENT_ID,
            "UserPoolId": POOL_ID,
            "ClientName": "page",
            "ExplicitAuthFlows": ["ALLOW_USER_PASSWORD_AUTH"],
        }
    )
    assert client == AppClient(
        CLIENT_ID, POOL_ID, "page", False, frozenset({"ALLOW_USER_PASSWORD_AUTH"})
    )
    assert parse_app_client(
        {"ClientId": CLIENT_ID, "UserPoolId": POOL_ID, "ClientSecret": "s"}
    ).has_secret


class Moto:
    """Clients on moto's in-process backend (``Clients`` for the read-back)."""

    def client(self, service: str) -> Any:
        """A boto3 client for ``service`` in the test region."""
        return boto3.client(service, region_name=REGION)


def test_the_authorizer_a_route_names_is_read_back_from_moto() -> None:
    """One GetAuthorizer per authorizer a route names (moto has no GetAuthorizers)."""
    with mock_aws():
        apis = Moto().client("apigatewayv2")
        api_id = apis.create_api(
            Name="chat", ProtocolType="WEBSOCKET", RouteSelectionExpression="$request.body.action"
        )["ApiId"]
        authorizer_id = apis.create_authorizer(
            ApiId=api_id,
            AuthorizerType="REQUEST",
            Name="connect",
            AuthorizerUri=AUTHORIZER_URI,
            IdentitySource=[IDENTITY_SOURCE],
        )["AuthorizerId"]
        apis.create_route(
            ApiId=api_id,
            RouteKey="$connect",
            AuthorizationType="CUSTOM",
            AuthorizerId=authorizer_id,
        )
        apis.create_route(ApiId=api_id, RouteKey="$default")
        api = read_api(Moto(), api_id)
    assert sorted(api.routes, key=lambda r: r.key) == [
        Route("$connect", None, "CUSTOM", authorizer_id),
        Route("$default", None, "NONE", None),
    ]
    assert api.authorizers == {
        authorizer_id: Authorizer(
            authorizer_id, "connect", "REQUEST", AUTHORIZER_URI, (IDENTITY_SOURCE,)
        )
    }


def test_a_pool_and_client_are_read_back_from_moto_or_missing() -> None:
    """The pool and client the authorizer names; None for ids that do not exist."""
    with mock_aws():
        cognito = Moto().client("cognito-idp")
        pool_id = cognito.create_user_pool(PoolName="users")["UserPool"]["Id"]
        client_id = cognito.create_user_pool_client(
            UserPoolId=pool_id, ClientName="page", ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH"]
        )["UserPoolClient"]["ClientId"]
        assert read_user_pool(Moto(), pool_id) == AppliedUserPool(pool_id, "users", ())
        client = read_app_client(Moto(), pool_id, client_id)
        assert client is not None
        assert (client.has_secret, client.auth_flows) == (
            False,
            frozenset({"ALLOW_USER_PASSWORD_AUTH"}),
        )
        assert read_user_pool(Moto(), f"{REGION}_missing") is None
        assert read_app_client(Moto(), pool_id, "nosuchclient") is None
