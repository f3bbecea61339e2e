"""Judge the function Terraform created: its resource policy, its environment, its table.

Pure functions returning ``Problem``s; the names they hold the function to come from the
product (``deployment.product``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

from deployment.product import (
    ENDPOINT_VARIABLE,
    ORIGINS_VARIABLE,
    ROOM_INDEX,
    TABLE_SCHEMA,
    TABLE_VARIABLE,
    TTL_ATTRIBUTE,
)
from deployment.rehearsal.readback import Function, Table
from deployment.rehearsal.report import Problem, listed
from deployment.rehearsal.resource_policy import allows_invoke

PERMISSION_AREA: Final = "function permission"
ENV_AREA: Final = "function environment"
TABLE_AREA: Final = "table"


def check_permission(function: Function, api_id: str, stage: str, route_key: str) -> list[Problem]:
    """The function's resource policy must let API Gateway invoke it for this API's stage."""
    parts = function.arn.split(":")
    region, account = parts[3], parts[4]
    # The source ARN API Gateway presents: {execution ARN}/{stage}/{route key}.
    source = f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{route_key}"
    if any(allows_invoke(s, source) for s in function.policy_statements):
        return []
    return [
        Problem(
            PERMISSION_AREA,
            f"the resource policy of {function.name} does not let apigateway.amazonaws.com "
            f"invoke it from {source}: every route would answer 500 (add an "
            "aws_lambda_permission for this API's stage)",
        )
    ]


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
