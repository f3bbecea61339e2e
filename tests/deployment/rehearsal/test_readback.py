"""The read-back's parsing of API Gateway's and Cognito's answers (no emulator)."""

from __future__ import annotations

from deployment.rehearsal.readback import (
    AppClient,
    Authorizer,
    Route,
    UserPool,
    parse_app_client,
    parse_authorizer,
    parse_route,
    parse_user_pool,
)
from tests.deployment.rehearsal.conftest import (
    AUTHORIZER_URI,
    CLIENT_ID,
    IDENTITY_SOURCE,
    POOL_ID,
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
    assert pool == UserPool(POOL_ID, "users", ("email",))
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
