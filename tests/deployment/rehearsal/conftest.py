"""What the rehearsal's tests share: the API the unit tests pretend to read, the uploaded site;
an emulator of a test's own for the end-to-end ones.

Terraform, the Lambda zip and Chromium are fixtures of tests/conftest.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from chat.runtime import RUNTIME_ENV

from deployment.product import DEFAULT_MAX_MESSAGE_CHARS
from deployment.rehearsal.readback import (
    Api,
    AppClient,
    AppliedUserPool,
    Authorizer,
    Integration,
    Route,
    SiteObject,
    Stage,
)
from deployment.rehearsal.report import Problem
from local_stack.moto_server import MotoServer
from local_stack.site import FRONTEND_DIR, Site, site_variables

API_ID = "abc123"
REGION = "eu-west-1"
STAGE = "prod"
HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
WEBSOCKET_URL = f"wss://{HOST}/{STAGE}"
FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:awsome-chat-handler"
INVOKE_URI = (
    f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations"
)
ROUTE_KEYS = frozenset({"$connect", "$disconnect", "$default", "sendmessage", "ping"})
SITE_ORIGIN = "https://d111.cloudfront.net"
TABLE = "awsome-chat-connections"
# What the code says it reads: the product's own list (one definition per fact).
READS = frozenset(RUNTIME_ENV)
ENVIRONMENT = {
    "TABLE_NAME": TABLE,
    "CONNECTIONS_ENDPOINT": f"https://{HOST}/{STAGE}",
    "ALLOWED_ORIGINS": SITE_ORIGIN,
    "MAX_MESSAGE_CHARS": str(DEFAULT_MAX_MESSAGE_CHARS),
}


# Sign-in (issue #17): the authorizer, pool and client Terraform creates with auth = "cognito".
AUTHORIZER_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:awsome-chat-authorizer"
AUTHORIZER_URI = (
    f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{AUTHORIZER_ARN}/invocations"
)
IDENTITY_SOURCE = "route.request.header.Sec-WebSocket-Protocol"
POOL_ID = f"{REGION}_AbCdEf123"
CLIENT_ID = "4example5client6id7"
ISSUER = f"https://cognito-idp.{REGION}.amazonaws.com/{POOL_ID}"
AUTHORIZER_ENVIRONMENT = {
    "AUTH_ISSUER": ISSUER,
    "AUTH_AUDIENCE": CLIENT_ID,
    "AUTH_JWKS_URL": f"{ISSUER}/.well-known/jwks.json",
    "AUTH_NAME_CLAIM": "cognito:username",
    "AUTH_NAME_UNIQUE": "true",
}
POOL = AppliedUserPool(pool_id=POOL_ID, name="awsome-chat-users", username_attributes=())
CLIENT = AppClient(
    client_id=CLIENT_ID,
    pool_id=POOL_ID,
    name="awsome-chat-page",
    has_secret=False,
    auth_flows=frozenset({"ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"}),
)


def signed_in_api(**changes: object) -> Api:
    """The API with auth = "cognito": $connect guarded by the REQUEST authorizer."""
    routes = tuple(
        dataclasses.replace(route, authorization_type="CUSTOM", authorizer_id="auth1")
        if route.key == "$connect"
        else route
        for route in api().routes
    )
    authorizer = Authorizer(
        "auth1", "awsome-chat-connect", "REQUEST", AUTHORIZER_URI, (IDENTITY_SOURCE,)
    )
    return api(**{"routes": routes, "authorizers": {"auth1": authorizer}, **changes})


def api(**changes: object) -> Api:
    """The API Terraform creates (every route to one Lambda proxy integration), with changes."""
    built = Api(
        api_id=API_ID,
        protocol_type="WEBSOCKET",
        route_selection_expression="$request.body.action",
        endpoint_host=HOST,
        execute_api_endpoint_disabled=False,
        routes=tuple(Route(key, "integrations/int1") for key in sorted(ROUTE_KEYS)),
        integrations={"int1": Integration("int1", "AWS_PROXY", INVOKE_URI)},
        stages=(Stage(STAGE, auto_deploy=True, deployment_id=None),),
    )
    return dataclasses.replace(built, **changes)  # type: ignore[arg-type]


def messages(problems: list[Problem]) -> list[str]:
    """Just the messages, for exact comparisons."""
    return [p.message for p in problems]


def uploaded_site(websocket_url: str = WEBSOCKET_URL) -> dict[str, SiteObject]:
    """frontend/ as Terraform uploads it for ``websocket_url`` (rendered, typed)."""
    site = Site(FRONTEND_DIR, site_variables(websocket_url, DEFAULT_MAX_MESSAGE_CHARS))
    return {
        str(path): SiteObject(key=str(path), body=file.body, content_type=file.content_type)
        for path, file in site.render_all().items()
    }


@pytest.fixture
def moto() -> Iterator[MotoServer]:
    """An emulator of the test's own, so the test can list what is left after the run."""
    with MotoServer(quiet=True) as server:
        yield server
