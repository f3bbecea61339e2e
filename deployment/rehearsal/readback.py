"""Read back from the emulated AWS what Terraform created, as plain frozen dataclasses.

Only boto3 reads live here; every judgement about what was read is in ``checks`` (pure
functions, tested without an emulator). ``Clients`` is any object with ``client(service)``,
such as ``deployment.terraform.applied.AppliedDeployment``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any, Protocol

from botocore.exceptions import ClientError


class Clients(Protocol):
    """Makes boto3 clients for the emulator (an ``AppliedDeployment`` is one)."""

    def client(self, service: str) -> Any:
        """A boto3 client for ``service``."""
        ...


@dataclass(frozen=True)
class Route:
    """One route of the WebSocket API."""

    key: str
    target: str | None
    authorization_type: str = "NONE"
    """``NONE``, or ``CUSTOM`` for a Lambda authorizer (a WebSocket API has no other kind but
    ``AWS_IAM``)."""
    authorizer_id: str | None = None


@dataclass(frozen=True)
class Authorizer:
    """One authorizer of the WebSocket API."""

    authorizer_id: str
    name: str
    authorizer_type: str
    """``REQUEST`` for a Lambda authorizer (the only kind a WebSocket API has)."""
    uri: str
    """The invoke ARN of the authorizer's function."""
    identity_sources: tuple[str, ...]


def parse_route(item: Mapping[str, Any]) -> Route:
    """A route from one item of ``get_routes``."""
    return Route(
        key=item["RouteKey"],
        target=item.get("Target"),
        authorization_type=str(item.get("AuthorizationType") or "NONE"),
        authorizer_id=item.get("AuthorizerId") or None,
    )


def parse_authorizer(item: Mapping[str, Any]) -> Authorizer:
    """An authorizer from one item of ``get_authorizers``.

    ``IdentitySource`` is a list in API Gateway v2's answer; a single comma-separated string
    (API Gateway v1's form, which some emulators echo) is read as the same list."""
    raw = item.get("IdentitySource") or []
    sources = raw.split(",") if isinstance(raw, str) else list(raw)
    return Authorizer(
        authorizer_id=item["AuthorizerId"],
        name=item.get("Name", ""),
        authorizer_type=item.get("AuthorizerType", ""),
        uri=item.get("AuthorizerUri", ""),
        identity_sources=tuple(str(s).strip() for s in sources if str(s).strip()),
    )


@dataclass(frozen=True)
class Integration:
    """One integration of the WebSocket API."""

    integration_id: str
    integration_type: str
    uri: str


@dataclass(frozen=True)
class Stage:
    """One stage of the WebSocket API."""

    name: str
    auto_deploy: bool
    deployment_id: str | None


@dataclass(frozen=True)
class Api:
    """The WebSocket API as API Gateway describes it."""

    api_id: str
    protocol_type: str
    route_selection_expression: str
    endpoint_host: str
    """``{api_id}.execute-api.{region}.amazonaws.com``: where clients connect."""
    execute_api_endpoint_disabled: bool
    routes: tuple[Route, ...]
    integrations: Mapping[str, Integration]
    stages: tuple[Stage, ...]
    authorizers: Mapping[str, Authorizer] = field(default_factory=dict)
    """The authorizers the routes name, by id; empty when nothing guards the API."""


@dataclass(frozen=True)
class Function:
    """The Lambda function as Lambda describes it."""

    arn: str
    name: str
    runtime: str
    handler: str
    timeout_s: int
    memory_mb: int
    code_sha256: str
    code_location: str | None
    environment: Mapping[str, str]
    policy_statements: tuple[Mapping[str, Any], ...]


@dataclass(frozen=True)
class Table:
    """A DynamoDB table: its key, its indexes' keys and its TTL attribute."""

    name: str
    key_schema: tuple[tuple[str, str], ...]
    """``(attribute, HASH|RANGE)`` pairs."""
    indexes: Mapping[str, tuple[tuple[str, str], ...]]
    ttl_attribute: str | None
    """The TTL attribute when TTL is enabled, else None."""


@dataclass(frozen=True)
class SiteObject:
    """One object of the site's bucket."""

    key: str
    body: bytes
    content_type: str


def read_api(clients: Clients, api_id: str) -> Api:
    """The API ``api_id`` with its routes, integrations and stages."""
    api = clients.client("apigatewayv2")
    described = api.get_api(ApiId=api_id)
    routes = tuple(parse_route(r) for r in _all_items(api.get_routes, ApiId=api_id))
    # The authorizers the routes name, one GetAuthorizer each: moto has no GetAuthorizers, and
    # an authorizer no route names guards nothing.
    authorizers = {}
    for authorizer_id in sorted({r.authorizer_id for r in routes if r.authorizer_id}):
        try:
            item = api.get_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "NotFoundException":
                raise
            continue  # check_authorizer reports the route naming a missing authorizer
        authorizers[authorizer_id] = parse_authorizer(item)
    integrations = {
        i["IntegrationId"]: Integration(
            integration_id=i["IntegrationId"],
            integration_type=i.get("IntegrationType", ""),
            uri=i.get("IntegrationUri", ""),
        )
        for i in _all_items(api.get_integrations, ApiId=api_id)
    }
    stages = tuple(
        Stage(
            name=s["StageName"],
            auto_deploy=bool(s.get("AutoDeploy", False)),
            deployment_id=s.get("DeploymentId"),
        )
        for s in _all_items(api.get_stages, ApiId=api_id)
    )
    # API Gateway reports wss://{id}.execute-api.{region}.amazonaws.com for a WebSocket API
    # (moto says https://); only the host matters.
    endpoint = str(described.get("ApiEndpoint", ""))
    host = endpoint.split("://", 1)[-1].rstrip("/")
    return Api(
        api_id=api_id,
        protocol_type=described.get("ProtocolType", ""),
        route_selection_expression=described.get("RouteSelectionExpression", ""),
        endpoint_host=host,
        execute_api_endpoint_disabled=bool(described.get("DisableExecuteApiEndpoint", False)),
        routes=routes,
        integrations=integrations,
        stages=stages,
        authorizers=authorizers,
    )


def _all_items(operation: Any, **arguments: Any) -> list[dict[str, Any]]:
    """Every item of a paged API Gateway v2 listing (``NextToken``)."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = operation(**arguments, **({"NextToken": token} if token else {}))
        items.extend(page.get("Items", []))
        token = page.get("NextToken")
        if not token:
            return items


def read_function(clients: Clients, function: str) -> Function:
    """The function ``function`` (name or ARN) with its environment and resource policy."""
    lambda_ = clients.client("lambda")
    described = lambda_.get_function(FunctionName=function)
    config = described["Configuration"]
    try:
        policy = json.loads(lambda_.get_policy(FunctionName=function)["Policy"])
        statements = policy.get("Statement", [])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") != "ResourceNotFoundException":
            raise
        statements = []  # no resource policy at all: nothing may invoke it
    return Function(
        arn=config["FunctionArn"],
        name=config["FunctionName"],
        runtime=config.get("Runtime", ""),
        handler=config.get("Handler", ""),
        timeout_s=int(config.get("Timeout", 3)),
        memory_mb=int(config.get("MemorySize", 128)),
        code_sha256=config.get("CodeSha256", ""),
        code_location=described.get("Code", {}).get("Location"),
        environment=dict(config.get("Environment", {}).get("Variables", {})),
        policy_statements=tuple(statements if isinstance(statements, list) else [statements]),
    )


@dataclass(frozen=True)
class AppliedUserPool:
    """A Cognito user pool: what the rehearsal needs to sign a user in to it."""

    pool_id: str
    name: str
    username_attributes: tuple[str, ...]
    """``("email",)`` when users sign in by email address; empty when by user name."""


@dataclass(frozen=True)
class AppClient:
    """A Cognito app client of a user pool."""

    client_id: str
    pool_id: str
    name: str
    has_secret: bool
    auth_flows: frozenset[str]
    """``ExplicitAuthFlows``, e.g. ``ALLOW_USER_PASSWORD_AUTH``."""


def parse_user_pool(described: Mapping[str, Any]) -> AppliedUserPool:
    """The pool from ``describe_user_pool``'s ``UserPool``."""
    return AppliedUserPool(
        pool_id=described["Id"],
        name=described.get("Name", ""),
        username_attributes=tuple(described.get("UsernameAttributes") or ()),
    )


def parse_app_client(described: Mapping[str, Any]) -> AppClient:
    """The client from ``describe_user_pool_client``'s ``UserPoolClient``."""
    return AppClient(
        client_id=described["ClientId"],
        pool_id=described["UserPoolId"],
        name=described.get("ClientName", ""),
        has_secret=bool(described.get("ClientSecret")),
        auth_flows=frozenset(described.get("ExplicitAuthFlows") or ()),
    )


def read_user_pool(clients: Clients, pool_id: str) -> AppliedUserPool | None:
    """The user pool ``pool_id``, or None when it does not exist."""
    cognito = clients.client("cognito-idp")
    try:
        return parse_user_pool(cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"])
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise


def read_app_client(clients: Clients, pool_id: str, client_id: str) -> AppClient | None:
    """The app client ``client_id`` of ``pool_id``, or None when it does not exist."""
    cognito = clients.client("cognito-idp")
    try:
        described = cognito.describe_user_pool_client(UserPoolId=pool_id, ClientId=client_id)
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    return parse_app_client(described["UserPoolClient"])


def table_names(clients: Clients) -> list[str]:
    """Every DynamoDB table in the emulated account and region."""
    return list(
        clients.client("dynamodb").get_paginator("list_tables").paginate().search("TableNames[]")
    )


def read_table(clients: Clients, name: str) -> Table | None:
    """The table ``name``, or None when it does not exist."""
    dynamodb = clients.client("dynamodb")
    try:
        table = dynamodb.describe_table(TableName=name)["Table"]
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") == "ResourceNotFoundException":
            return None
        raise
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]

    def keys(schema: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((k["AttributeName"], k["KeyType"]) for k in schema)

    return Table(
        name=name,
        key_schema=keys(table["KeySchema"]),
        indexes={
            gsi["IndexName"]: keys(gsi["KeySchema"])
            for gsi in table.get("GlobalSecondaryIndexes", [])
        },
        ttl_attribute=ttl.get("AttributeName")
        if ttl.get("TimeToLiveStatus") in {"ENABLED", "ENABLING"}
        else None,
    )


class UnsafeKeyError(ValueError):
    """A bucket key that would escape the directory it is downloaded to."""


def safe_relative_path(key: str) -> PurePosixPath:
    """``key`` as a relative path inside the site, or ``UnsafeKeyError``."""
    path = PurePosixPath(key)
    if not key or key.endswith("/") or path.is_absolute() or ".." in path.parts:
        raise UnsafeKeyError(f"bucket key {key!r} is not a plain relative file path")
    return path


def read_site(clients: Clients, bucket: str) -> dict[str, SiteObject]:
    """Every object in ``bucket``, downloaded, by key."""
    s3 = clients.client("s3")
    objects: dict[str, SiteObject] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for listed in page.get("Contents", []):
            key = listed["Key"]
            got = s3.get_object(Bucket=bucket, Key=key)
            objects[key] = SiteObject(
                key=key, body=got["Body"].read(), content_type=got.get("ContentType", "")
            )
    return objects
