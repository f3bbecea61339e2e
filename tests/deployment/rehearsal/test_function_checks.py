"""The rehearsal's judgements on the function (permission, environment, table), no emulator."""

from __future__ import annotations

import dataclasses
import json

from deployment.rehearsal.function_checks import (
    check_auth_mode,
    check_authorizer_environment,
    check_authorizer_permission,
    check_environment,
    check_permission,
    check_table,
    cognito_pool_id,
)
from deployment.rehearsal.readback import (
    Function,
    Table,
)
from tests.deployment.rehearsal.conftest import (
    API_ID,
    AUTHORIZER_ARN,
    AUTHORIZER_ENVIRONMENT,
    CLIENT,
    CLIENT_ID,
    ENVIRONMENT,
    FUNCTION_ARN,
    HOST,
    ISSUER,
    POOL,
    POOL_ID,
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
    """The fan-out needs room-index on roomShard; lost disconnects need TTL on expiresAt."""
    good = Table(
        TABLE,
        key_schema=(("connectionId", "HASH"),),
        indexes={"room-index": (("roomShard", "HASH"),)},
        ttl_attribute="expiresAt",
    )
    assert check_table(good) == []
    bad = dataclasses.replace(
        good, indexes={"by-room": (("roomShard", "HASH"),)}, ttl_attribute=None
    )
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


def test_auth_mode_must_agree_with_the_api_and_terraform() -> None:
    """AUTH_MODE is signed in exactly when $connect is guarded, and Terraform's auth."""
    signed_in = {**ENVIRONMENT, "AUTH_MODE": "cognito"}
    assert check_auth_mode(signed_in, guarded=True, terraform_auth="cognito") == []
    assert check_auth_mode(ENVIRONMENT, guarded=False, terraform_auth=None) == []
    assert messages(check_auth_mode(ENVIRONMENT, guarded=True, terraform_auth="cognito")) == [
        "$connect has an authorizer but the chat's AUTH_MODE is none: the chat names users "
        "after ?name= and ignores who signed in",
        "Terraform's auth is 'cognito' but the chat's AUTH_MODE is 'none'",
    ]
    assert messages(check_auth_mode(signed_in, guarded=False, terraform_auth=None)) == [
        "the chat's AUTH_MODE is cognito but $connect has no authorizer: the chat would refuse "
        "every connection with 401 (no authorizer context)"
    ]


def test_the_authorizers_permission_names_its_authorizer_source() -> None:
    """API Gateway invokes an authorizer as {execution ARN}/authorizers/{id}."""
    execution = f"arn:aws:execute-api:{REGION}:123456789012:{API_ID}"
    authorizer = dataclasses.replace(
        function([invoke_statement(f"{execution}/authorizers/auth1")]),
        arn=AUTHORIZER_ARN,
        name="awsome-chat-authorizer",
    )
    assert check_authorizer_permission(authorizer, API_ID, "auth1") == []
    # The stage's permission does not cover the authorizer.
    stage_only = dataclasses.replace(
        authorizer, policy_statements=(invoke_statement(f"{execution}/prod/*"),)
    )
    assert messages(check_authorizer_permission(stage_only, API_ID, "auth1")) == [
        "the resource policy of awsome-chat-authorizer does not let apigateway.amazonaws.com "
        f"invoke it from {execution}/authorizers/auth1: every $connect would answer 500 (add an "
        "aws_lambda_permission whose source_arn covers the API's authorizers)"
    ]


def authorizer_problems(environment: dict[str, str], **overrides: object) -> list[str]:
    """``check_authorizer_environment`` with the defaults of a correct Cognito deployment."""
    arguments: dict[str, object] = {
        "mode": "cognito",
        "region": REGION,
        "pool": POOL,
        "client": CLIENT,
        **overrides,
    }
    return messages(check_authorizer_environment(environment, **arguments))  # type: ignore[arg-type]


def test_the_authorizers_environment_names_the_pool_and_client() -> None:
    """Terraform's environment passes; the pool's id comes out of its issuer."""
    assert authorizer_problems(AUTHORIZER_ENVIRONMENT) == []
    assert cognito_pool_id(ISSUER) == (REGION, POOL_ID)
    assert cognito_pool_id("https://issuer.example.com") is None


def test_an_authorizer_environment_that_refuses_every_token_is_reported() -> None:
    """Another key set, an unread variable, a missing client, a client the page cannot use."""
    wrong = {
        **AUTHORIZER_ENVIRONMENT,
        "AUTH_JWKS_URL": "https://keys.example.com/jwks.json",
        "TABLE_NAME": TABLE,
    }
    assert authorizer_problems(wrong, client=None) == [
        "the authorizer's environment sets TABLE_NAME, which the authorizer never reads "
        "(authorizer.config.EnvVar: AUTH_ALGORITHMS, AUTH_AUDIENCE, AUTH_ISSUER, AUTH_JWKS_URL, "
        "AUTH_MODERATOR_CLAIM, AUTH_MODERATOR_VALUE, AUTH_NAME_CLAIM, AUTH_NAME_UNIQUE)",
        "AUTH_JWKS_URL is 'https://keys.example.com/jwks.json', not the pool's key set "
        f"{ISSUER}/.well-known/jwks.json: every token would be refused",
        f"AUTH_AUDIENCE is '{CLIENT_ID}', which is no app client of user pool {POOL_ID}: every "
        "ID token would be refused (its aud is the client's id)",
    ]
    secret = dataclasses.replace(CLIENT, has_secret=True, auth_flows=frozenset())
    assert authorizer_problems(AUTHORIZER_ENVIRONMENT, client=secret) == [
        "app client awsome-chat-page has a secret: the page is public and cannot keep one, so "
        "it cannot sign in",
        "app client awsome-chat-page does not allow ALLOW_USER_PASSWORD_AUTH (it allows none): "
        "the page cannot sign in",
    ]
    assert authorizer_problems(AUTHORIZER_ENVIRONMENT, pool=None) == [
        f"AUTH_ISSUER names user pool {POOL_ID}, which does not exist"
    ]
    assert authorizer_problems({**AUTHORIZER_ENVIRONMENT, "AUTH_ISSUER": "https://x.example"}) == [
        "AUTH_ISSUER is 'https://x.example', not a Cognito user pool's issuer "
        f"(https://cognito-idp.{REGION}.amazonaws.com/<pool id>): no token of the pool would pass"
    ]
    # An OIDC issuer of one's own is only held to the names.
    assert authorizer_problems({"AUTH_ISSUER": "https://x.example"}, mode="oidc") == []
