"""Judge the functions Terraform created: their resource policies, their environments (the
chat's and, with sign-in on, the ``$connect`` authorizer's), the table.

Pure functions returning ``Problem``s; the names they hold the function to come from the
product (``deployment.product``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Final

from deployment.product import (
    AUTH_AUDIENCE_VARIABLE,
    AUTH_ISSUER_VARIABLE,
    AUTH_JWKS_URL_VARIABLE,
    AUTH_MODE_VARIABLE,
    AUTHORIZER_VARIABLES,
    ENDPOINT_VARIABLE,
    ORIGINS_VARIABLE,
    ROOM_INDEX,
    TABLE_SCHEMA,
    TABLE_VARIABLE,
    TTL_ATTRIBUTE,
    AuthMode,
)
from deployment.rehearsal.readback import AppClient, AppliedUserPool, Function, Table
from deployment.rehearsal.report import Problem, listed
from deployment.rehearsal.resource_policy import allows_invoke

PERMISSION_AREA: Final = "function permission"
ENV_AREA: Final = "function environment"
TABLE_AREA: Final = "table"
AUTH_AREA: Final = "sign-in"

# The issuer of a Cognito user pool's tokens ("Verifying a JSON Web Token", Amazon Cognito).
_COGNITO_ISSUER: Final = re.compile(
    r"https://cognito-idp\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<pool>[A-Za-z0-9-]+_[A-Za-z0-9]+)"
)
# The page signs in with InitiateAuth USER_PASSWORD_AUTH (issue #17: a public app client).
SIGN_IN_FLOW: Final = "ALLOW_USER_PASSWORD_AUTH"


def _execution_arn(function: Function, api_id: str) -> str:
    parts = function.arn.split(":")
    region, account = parts[3], parts[4]
    return f"arn:aws:execute-api:{region}:{account}:{api_id}"


def check_permission(function: Function, api_id: str, stage: str, route_key: str) -> list[Problem]:
    """The function's resource policy must let API Gateway invoke it for this API's stage."""
    # The source ARN API Gateway presents: {execution ARN}/{stage}/{route key}.
    return _invoke_allowed(
        function,
        f"{_execution_arn(function, api_id)}/{stage}/{route_key}",
        "every route would answer 500 (add an aws_lambda_permission for this API's stage)",
    )


def check_authorizer_permission(
    function: Function, api_id: str, authorizer_id: str
) -> list[Problem]:
    """The authorizer's resource policy must let API Gateway invoke it as this authorizer."""
    # The source ARN API Gateway presents for an authorizer: {execution ARN}/authorizers/{id}.
    return _invoke_allowed(
        function,
        f"{_execution_arn(function, api_id)}/authorizers/{authorizer_id}",
        "every $connect would answer 500 (add an aws_lambda_permission whose source_arn "
        "covers the API's authorizers)",
    )


def _invoke_allowed(function: Function, source: str, otherwise: str) -> list[Problem]:
    """No problem if a statement of ``function``'s resource policy lets API Gateway invoke it
    from ``source``; else one saying what ``otherwise`` happens."""
    if any(allows_invoke(s, source) for s in function.policy_statements):
        return []
    return [
        Problem(
            PERMISSION_AREA,
            f"the resource policy of {function.name} does not let apigateway.amazonaws.com "
            f"invoke it from {source}: {otherwise}",
        )
    ]


def auth_mode(environment: Mapping[str, str]) -> str:
    """The chat's ``AUTH_MODE`` as the code reads it (unset or empty is ``none``)."""
    return environment.get(AUTH_MODE_VARIABLE, "").strip().lower() or AuthMode.NONE.value


def check_auth_mode(
    environment: Mapping[str, str], *, guarded: bool, terraform_auth: str | None
) -> list[Problem]:
    """The chat's ``AUTH_MODE`` must agree with the API: signed in exactly when ``$connect``
    has an authorizer (``guarded``), and equal to Terraform's ``auth`` when it was given."""
    mode = auth_mode(environment)
    problems = []
    if guarded and mode == AuthMode.NONE.value:
        problems.append(
            Problem(
                AUTH_AREA,
                f"$connect has an authorizer but the chat's {AUTH_MODE_VARIABLE} is none: the "
                "chat names users after ?name= and ignores who signed in",
            )
        )
    if not guarded and mode != AuthMode.NONE.value:
        problems.append(
            Problem(
                AUTH_AREA,
                f"the chat's {AUTH_MODE_VARIABLE} is {mode} but $connect has no authorizer: the "
                "chat would refuse every connection with 401 (no authorizer context)",
            )
        )
    if terraform_auth is not None and mode != terraform_auth:
        problems.append(
            Problem(
                AUTH_AREA,
                f"Terraform's auth is {terraform_auth!r} but the chat's {AUTH_MODE_VARIABLE} is "
                f"{mode!r}",
            )
        )
    return problems


def cognito_pool_id(issuer: str) -> tuple[str, str] | None:
    """``(region, user pool id)`` of a Cognito issuer URL, or None when it is not one."""
    found = _COGNITO_ISSUER.fullmatch(issuer.strip())
    return None if found is None else (found["region"], found["pool"])


def check_authorizer_environment(
    environment: Mapping[str, str],
    *,
    mode: str,
    region: str,
    pool: AppliedUserPool | None,
    client: AppClient | None,
) -> list[Problem]:
    """The authorizer's environment against the sign-in Terraform set up.

    Every variable must be one the authorizer reads (``authorizer.config.EnvVar``). With
    ``cognito``: ``AUTH_ISSUER`` names a pool of this region that exists (``pool``),
    ``AUTH_AUDIENCE`` an app client of it (``client``) that the page can use (no secret,
    password sign-in), and ``AUTH_JWKS_URL``, when set, the pool's key set. The code's own
    verdict on the values (required, https) is the probe's.
    """
    problems: list[Problem] = []

    def problem(message: str) -> None:
        problems.append(Problem(AUTH_AREA, message))

    for name in sorted(set(environment) - AUTHORIZER_VARIABLES):
        problem(
            f"the authorizer's environment sets {name}, which the authorizer never reads "
            f"(authorizer.config.EnvVar: {listed(AUTHORIZER_VARIABLES)})"
        )
    if mode != AuthMode.COGNITO.value:
        return problems
    issuer = environment.get(AUTH_ISSUER_VARIABLE, "")
    parsed = cognito_pool_id(issuer)
    if parsed is None:
        problem(
            f"{AUTH_ISSUER_VARIABLE} is {issuer!r}, not a Cognito user pool's issuer "
            f"(https://cognito-idp.{region}.amazonaws.com/<pool id>): no token of the pool "
            "would pass"
        )
        return problems
    issuer_region, pool_id = parsed
    if issuer_region != region:
        problem(
            f"{AUTH_ISSUER_VARIABLE} names a pool in {issuer_region}, but the deployment is in "
            f"{region}"
        )
    if pool is None:
        problem(f"{AUTH_ISSUER_VARIABLE} names user pool {pool_id}, which does not exist")
        return problems
    jwks = environment.get(AUTH_JWKS_URL_VARIABLE)
    if jwks is not None and jwks.strip() != f"{issuer.strip()}/.well-known/jwks.json":
        problem(
            f"{AUTH_JWKS_URL_VARIABLE} is {jwks!r}, not the pool's key set "
            f"{issuer.strip()}/.well-known/jwks.json: every token would be refused"
        )
    audience = environment.get(AUTH_AUDIENCE_VARIABLE, "")
    if client is None:
        problem(
            f"{AUTH_AUDIENCE_VARIABLE} is {audience!r}, which is no app client of user pool "
            f"{pool_id}: every ID token would be refused (its aud is the client's id)"
        )
        return problems
    if client.has_secret:
        problem(
            f"app client {client.name or client.client_id} has a secret: the page is public "
            "and cannot keep one, so it cannot sign in"
        )
    if SIGN_IN_FLOW not in client.auth_flows:
        problem(
            f"app client {client.name or client.client_id} does not allow "
            f"{SIGN_IN_FLOW} (it allows {listed(client.auth_flows)}): the page cannot "
            "sign in"
        )
    return problems


def check_environment(
    environment: Mapping[str, str],
    *,
    code_reads: frozenset[str] | None,
    reads_where: str,
    config_error: str | None,
    tables: Sequence[str],
    connections_endpoint: str,
    website_origin: str,
) -> list[Problem]:
    """The function's environment against what the code reads and what Terraform created.

    ``code_reads`` is None when the code does not say which variables it reads.
    """
    problems: list[Problem] = []

    def problem(message: str) -> None:
        problems.append(Problem(ENV_AREA, message))

    table = environment.get(TABLE_VARIABLE)
    if table is None:
        problem(
            f"the function's environment has no {TABLE_VARIABLE}, the variable the code reads "
            f"the connections table's name from (docs/internals.md); it has "
            f"{listed(set(environment))}"
        )
    elif table not in tables:
        problem(
            f"{TABLE_VARIABLE} names table {table!r}, which does not exist in the emulated "
            f"account (its tables: {listed(tables)})"
        )

    if code_reads is not None:
        for name in sorted(set(environment) - code_reads):
            hint = ""
            if environment[name] in tables:
                hint = (
                    f"; it holds {environment[name]!r}, the name of a table, so it is "
                    f"probably meant to be {TABLE_VARIABLE}"
                )
            problem(
                f"the function's environment sets {name}, which the code never reads "
                f"({reads_where}: {listed(code_reads)}){hint}"
            )
    if config_error is not None:
        problem(f"the code refuses the function's environment: {config_error}")

    endpoint = environment.get(ENDPOINT_VARIABLE)
    if endpoint is not None and endpoint.rstrip("/") != connections_endpoint:
        problem(
            f"{ENDPOINT_VARIABLE} is {endpoint!r}, but this API's @connections endpoint is "
            f"{connections_endpoint!r}: replies would go to another API"
        )

    origins = [o.strip() for o in environment.get(ORIGINS_VARIABLE, "").split(",") if o.strip()]
    normalized = {o.rstrip("/").lower() for o in origins}
    if origins and website_origin.lower() not in normalized:
        problem(
            f"{ORIGINS_VARIABLE} is {environment[ORIGINS_VARIABLE]!r}, which leaves out the "
            f"site's own origin {website_origin}: browsers opening the site would be refused "
            "with 403"
        )
    return problems


def check_table(table: Table) -> list[Problem]:
    """The table must have the key, the room index and the TTL of docs/internals.md."""
    problems: list[Problem] = []

    def keys(schema: list[dict[str, str]]) -> tuple[tuple[str, str], ...]:
        return tuple((k["AttributeName"], k["KeyType"]) for k in schema)

    expected_key = keys(TABLE_SCHEMA["KeySchema"])
    if table.key_schema != expected_key:
        problems.append(
            Problem(
                TABLE_AREA,
                f"table {table.name!r} is keyed on {list(table.key_schema)}, the code needs "
                f"{list(expected_key)}",
            )
        )
    (index,) = TABLE_SCHEMA["GlobalSecondaryIndexes"]
    expected_index = keys(index["KeySchema"])
    found = table.indexes.get(ROOM_INDEX)
    if found is None:
        problems.append(
            Problem(
                TABLE_AREA,
                f"table {table.name!r} has no index {ROOM_INDEX!r} (it has "
                f"{listed(set(table.indexes))}): the fan-out Query of a room would fail",
            )
        )
    elif found != expected_index:
        problems.append(
            Problem(
                TABLE_AREA,
                f"index {ROOM_INDEX!r} of table {table.name!r} is keyed on {list(found)}, the "
                f"fan-out queries {list(expected_index)}",
            )
        )
    if table.ttl_attribute != TTL_ATTRIBUTE:
        problems.append(
            Problem(
                TABLE_AREA,
                f"table {table.name!r} has TTL on {table.ttl_attribute!r}, not {TTL_ATTRIBUTE!r}: "
                "connections whose $disconnect is lost would never expire",
            )
        )
    return problems
