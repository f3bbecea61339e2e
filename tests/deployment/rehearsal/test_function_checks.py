"""The rehearsal's judgements on the function (permission, environment, table), no emulator."""

from __future__ import annotations

import dataclasses
import json

from deployment.rehearsal.function_checks import check_environment, check_permission, check_table
from deployment.rehearsal.readback import (
    Function,
    Table,
)
from tests.deployment.rehearsal.conftest import (
    API_ID,
    ENVIRONMENT,
    FUNCTION_ARN,
    HOST,
    READS,
    REGION,
    SITE_ORIGIN,
    STAGE,
    TABLE,
    messages,
)


def function(statements: list[dict[str, object]]) -> Function:
    """The function with a given resource policy."""
    return Function(
        arn=FUNCTION_ARN,
        name="awsome-chat-handler",
        runtime="python3.13",
        handler="chat.handler.handler",
        timeout_s=29,
        memory_mb=512,
        code_sha256="x",
        code_location=None,
        environment=ENVIRONMENT,
        policy_statements=tuple(statements),
    )


def invoke_statement(source_arn: str) -> dict[str, object]:
    """The statement aws_lambda_permission writes."""
    return {
        "Effect": "Allow",
        "Action": "lambda:InvokeFunction",
        "Principal": {"Service": "apigateway.amazonaws.com"},
        "Condition": {"ArnLike": {"AWS:SourceArn": source_arn}},
    }


def test_permission_scoped_to_this_stage_lets_api_gateway_invoke() -> None:
    """A permission for this API's stage passes; one for another API or none fails."""
    execution = f"arn:aws:execute-api:{REGION}:123456789012:{API_ID}"
    assert (
        check_permission(
            function([invoke_statement(f"{execution}/prod/*")]), API_ID, STAGE, "$connect"
        )
        == []
    )
    for statements in ([invoke_statement(f"{execution}x/prod/*")], []):
        (problem,) = check_permission(function(statements), API_ID, STAGE, "$connect")
        assert problem.message == (
            "the resource policy of awsome-chat-handler does not let apigateway.amazonaws.com "
            f"invoke it from {execution}/prod/$connect: every route would answer 500 (add an "
            "aws_lambda_permission for this API's stage)"
        )


def environment_problems(environment: dict[str, str], **overrides: object) -> list[str]:
    """``check_environment`` with the defaults of a correct deployment."""
    arguments: dict[str, object] = {
        "code_reads": READS,
        "reads_where": "chat.runtime.RUNTIME_ENV",
        "config_error": None,
        "tables": [TABLE],
        "connections_endpoint": f"https://{HOST}/{STAGE}",
        "website_origin": SITE_ORIGIN,
        **overrides,
    }
    return messages(check_environment(environment, **arguments))  # type: ignore[arg-type]


def test_terraforms_environment_passes() -> None:
    """The environment Terraform sets raises nothing."""
    assert environment_problems(ENVIRONMENT) == []


def test_a_renamed_table_variable_is_reported_with_its_likely_meaning() -> None:
    """TABLE_NAME spelled CHAT_TABLE: no TABLE_NAME, and CHAT_TABLE unread but naming a table."""
    renamed = {("CHAT_TABLE" if k == "TABLE_NAME" else k): v for k, v in ENVIRONMENT.items()}
    assert environment_problems(renamed, config_error="TABLE_NAME is required") == [
        "the function's environment has no TABLE_NAME, the variable the code reads the "
        "connections table's name from (docs/internals.md); it has ALLOWED_ORIGINS, CHAT_TABLE, "
        "CONNECTIONS_ENDPOINT, MAX_MESSAGE_CHARS",
        "the function's environment sets CHAT_TABLE, which the code never reads "
        f"(chat.runtime.RUNTIME_ENV: {', '.join(sorted(READS))}); it holds "
        "'awsome-chat-connections', the name of a table, so it is probably meant to be TABLE_NAME",
        "the code refuses the function's environment: TABLE_NAME is required",
    ]


def test_environment_pointing_elsewhere_is_reported() -> None:
    """A table that does not exist, another API's endpoint, an allowlist without the site."""
    wrong = {
        **ENVIRONMENT,
        "TABLE_NAME": "old-connections",
        "CONNECTIONS_ENDPOINT": "https://other.execute-api.eu-west-1.amazonaws.com/prod",
        "ALLOWED_ORIGINS": "https://chat.example.com",
    }
    assert environment_problems(wrong) == [
        "TABLE_NAME names table 'old-connections', which does not exist in the emulated account "
        "(its tables: awsome-chat-connections)",
        "CONNECTIONS_ENDPOINT is 'https://other.execute-api.eu-west-1.amazonaws.com/prod', but "
        f"this API's @connections endpoint is 'https://{HOST}/prod': replies would go to "
        "another API",
        "ALLOWED_ORIGINS is 'https://chat.example.com', which leaves out the site's own origin "
        f"{SITE_ORIGIN}: browsers opening the site would be refused with 403",
    ]
    # Unknown to the code is only checked when the code says what it reads.
    assert environment_problems({**ENVIRONMENT, "EXTRA": "1"}, code_reads=None) == []


def test_table_without_room_index_or_ttl_is_reported() -> None:
    """The fan-out needs room-index on room; lost disconnects need TTL on expiresAt."""
    good = Table(
        TABLE,
        key_schema=(("connectionId", "HASH"),),
        indexes={"room-index": (("room", "HASH"),)},
        ttl_attribute="expiresAt",
    )
    assert check_table(good) == []
    bad = dataclasses.replace(good, indexes={"by-room": (("room", "HASH"),)}, ttl_attribute=None)
    assert messages(check_table(bad)) == [
        f"table '{TABLE}' has no index 'room-index' (it has by-room): the fan-out Query of a "
        "room would fail",
        f"table '{TABLE}' has TTL on None, not 'expiresAt': connections whose $disconnect is "
        "lost would never expire",
    ]


def test_policy_statement_as_json_round_trip() -> None:
    """A Principal of "*" and a list of actions are understood as IAM writes them."""
    statement = json.loads(
        json.dumps(
            {
                "Effect": "Allow",
                "Action": ["lambda:*"],
                "Principal": "*",
            }
        )
    )
    assert check_permission(function([statement]), API_ID, STAGE, "$connect") == []
