"""The rehearsal's judgements on what Terraform created, on hand-made read-backs (no emulator)."""

from __future__ import annotations

import dataclasses
import json

import pytest

from deployment.rehearsal import checks
from deployment.rehearsal.checks import (
    check_api,
    check_environment,
    check_permission,
    check_routes_against_code,
    check_site,
    check_table,
    integration_function_arn,
    local_environment,
    page_allows,
    rewrite_site,
)
from deployment.rehearsal.readback import (
    Api,
    Function,
    Integration,
    Route,
    SiteObject,
    Stage,
    Table,
)
from deployment.rehearsal.report import Problem
from tests.deployment.rehearsal.conftest import (
    API_ID,
    HOST,
    REGION,
    STAGE,
    WEBSOCKET_URL,
    uploaded_site,
)

FUNCTION_ARN = f"arn:aws:lambda:{REGION}:123456789012:function:awsome-chat-handler"
INVOKE_URI = (
    f"arn:aws:apigateway:{REGION}:lambda:path/2015-03-31/functions/{FUNCTION_ARN}/invocations"
)
ROUTE_KEYS = frozenset({"$connect", "$disconnect", "$default", "sendmessage", "ping"})
SITE_ORIGIN = "https://d111.cloudfront.net"
TABLE = "awsome-chat-connections"
READS = frozenset(
    {
        "TABLE_NAME",
        "CONNECTIONS_ENDPOINT",
        "ALLOWED_ORIGINS",
        "MAX_MESSAGE_CHARS",
        "FANOUT_CONCURRENCY",
        "CONNECTION_TTL_SECONDS",
        "AWS_REGION",
    }
)
ENVIRONMENT = {
    "TABLE_NAME": TABLE,
    "CONNECTIONS_ENDPOINT": f"https://{HOST}/{STAGE}",
    "ALLOWED_ORIGINS": SITE_ORIGIN,
    "MAX_MESSAGE_CHARS": "2000",
}


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


# --- the API ----------------------------------------------------------------------------------


def test_integration_uri_names_the_function() -> None:
    """The function ARN comes out of an invoke ARN or a bare ARN; other URIs invoke none."""
    assert integration_function_arn(INVOKE_URI) == FUNCTION_ARN
    assert integration_function_arn(FUNCTION_ARN) == FUNCTION_ARN
    assert integration_function_arn("https://example.com/hook") is None
    assert integration_function_arn("") is None


def test_terraforms_api_is_wired_to_one_function() -> None:
    """Terraform's shape gives the stage, all five routes, the function and both URLs."""
    wiring, problems = check_api(api(), REGION)
    assert problems == []
    assert wiring == checks.ApiWiring(
        stage=STAGE,
        route_keys=ROUTE_KEYS,
        function_arn=FUNCTION_ARN,
        websocket_url=WEBSOCKET_URL,
        connections_endpoint=f"https://{HOST}/{STAGE}",
    )


def test_api_settings_that_break_the_chat_are_named() -> None:
    """Wrong expression, a non-proxy integration, a stage that never deploys: each reported."""
    broken = api(
        route_selection_expression="$request.body.type",
        integrations={"int1": Integration("int1", "HTTP_PROXY", "https://example.com")},
        stages=(Stage(STAGE, auto_deploy=False, deployment_id=None),),
    )
    wiring, problems = check_api(broken, REGION)
    assert wiring.function_arn is None
    found = messages(problems)
    assert found[0] == (
        "the route selection expression is '$request.body.type', but clients name the action "
        "in the frame's \"action\" field (docs/protocol.md): it must be '$request.body.action'"
    )
    assert found[1] == (
        "stage 'prod' has no deployment and does not auto-deploy: its routes are not live "
        "(set auto_deploy = true)"
    )
    assert "route 'sendmessage' goes to a HTTP_PROXY integration" in found[-2]
    assert found[-1] == "no route of the API invokes a Lambda function"


def test_a_route_to_another_function_is_reported() -> None:
    """The chat is one function: a route that invokes another is named."""
    other = FUNCTION_ARN.replace("awsome-chat-handler", "other")
    routes = (*api().routes[:-1], Route("sendmessage", "integrations/int2"))
    integrations = {
        "int1": Integration("int1", "AWS_PROXY", INVOKE_URI),
        "int2": Integration("int2", "AWS_PROXY", INVOKE_URI.replace(FUNCTION_ARN, other)),
    }
    wiring, problems = check_api(
        dataclasses.replace(api(), routes=routes, integrations=integrations), REGION
    )
    assert wiring.route_keys == ROUTE_KEYS - {"sendmessage"}
    assert messages(problems) == [
        f"route 'sendmessage' invokes {other}, not {FUNCTION_ARN} like the other routes: the "
        "chat is one function"
    ]


def test_a_route_without_target_and_a_missing_stage_are_reported() -> None:
    """A route nothing runs, and an API with no stage, each get their sentence."""
    routes = (*api().routes, Route("typing", None), Route("lost", "integrations/nope"))
    wiring, problems = check_api(dataclasses.replace(api(), routes=routes, stages=()), REGION)
    assert wiring.route_keys == ROUTE_KEYS
    assert messages(problems) == [
        "the API has no stage, so there is no URL to connect to",
        "route 'lost' targets 'integrations/nope', which is not an integration of this API",
        "route 'typing' has no integration target: nothing runs it",
    ]


def test_url_outputs_must_be_the_apis_endpoints() -> None:
    """A websocket_url output that names another stage is reported; the right ones pass."""
    wiring, _ = check_api(api(), REGION)
    good = {"websocket_url": WEBSOCKET_URL, "connections_endpoint": f"https://{HOST}/{STAGE}"}
    assert checks.check_outputs(good, wiring) == []
    wrong = {**good, "websocket_url": f"wss://{HOST}/dev"}
    assert messages(checks.check_outputs(wrong, wiring)) == [
        f"Terraform's output websocket_url is 'wss://{HOST}/dev', but the API's endpoint is "
        f"'{WEBSOCKET_URL}'"
    ]


def test_routes_are_compared_with_the_code_both_ways() -> None:
    """A renamed route is reported as unknown to the code, and the code's route as missing."""
    renamed = (ROUTE_KEYS - {"sendmessage"}) | {"send_message"}
    problems = check_routes_against_code(
        renamed, ROUTE_KEYS, "$request.body.action", "chat.handler.ROUTES"
    )
    assert [p.area for p in problems] == ["routes", "routes"]
    assert messages(problems) == [
        "route 'send_message' exists in the API but the code has no route for it "
        "(chat.handler.ROUTES has $connect, $default, $disconnect, ping, sendmessage): the code "
        "would handle its events as $default",
        "the code handles route 'sendmessage' but the API has no such route (the API has "
        "$connect, $default, $disconnect, ping, send_message): frames whose "
        "$request.body.action is 'sendmessage' would reach $default instead",
    ]
    assert check_routes_against_code(ROUTE_KEYS, ROUTE_KEYS, "x", "y") == []


def test_a_missing_reserved_route_says_api_gateway_never_sends_it() -> None:
    """Without $disconnect in the API, the code's $disconnect route never runs."""
    (problem,) = check_routes_against_code(
        ROUTE_KEYS - {"$disconnect"}, ROUTE_KEYS, "$request.body.action", "ROUTES"
    )
    assert problem.message.endswith("API Gateway never sends those events to the function")


# --- the function -----------------------------------------------------------------------------


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
        "(chat.runtime.RUNTIME_ENV: ALLOWED_ORIGINS, AWS_REGION, CONNECTIONS_ENDPOINT, "
        "CONNECTION_TTL_SECONDS, FANOUT_CONCURRENCY, MAX_MESSAGE_CHARS, TABLE_NAME); it holds "
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


# --- the site ---------------------------------------------------------------------------------


def test_the_uploaded_site_points_at_the_api() -> None:
    """frontend/ rendered for this API's URL passes, and config.js's URL is found."""
    site, problems = check_site(uploaded_site(), WEBSOCKET_URL, "2000")
    assert problems == []
    assert site.rendered_url == WEBSOCKET_URL


def test_a_config_js_pointing_at_the_wrong_url_is_reported() -> None:
    """A site rendered for another API: config.js and the CSP both name the wrong endpoint."""
    other = "wss://zzz999.execute-api.eu-west-1.amazonaws.com/prod"
    site, problems = check_site(uploaded_site(other), WEBSOCKET_URL, "2000")
    assert site.rendered_url is None
    assert messages(problems) == [
        f"config.js points the page at {other}, but the API's WebSocket endpoint is "
        f"{WEBSOCKET_URL}",
        "the Content-Security-Policy of index.html lets it connect only to "
        "wss://zzz999.execute-api.eu-west-1.amazonaws.com, not to "
        f"wss://{HOST}: browsers would block the WebSocket",
    ]


def test_site_files_that_break_the_page_are_reported() -> None:
    """A raw template, a script typed as octet-stream, a limit the function does not share."""
    objects = uploaded_site()
    objects["js/app.js"] = dataclasses.replace(
        objects["js/app.js"], content_type="binary/octet-stream"
    )
    objects["config.js.tpl"] = SiteObject("config.js.tpl", b"", "application/octet-stream")
    del objects["index.html"]
    assert messages(check_site(objects, WEBSOCKET_URL, "500")[1]) == [
        "config.js.tpl was uploaded as it is: templates must be rendered and published as "
        "config.js",
        "js/app.js is published with Content-Type 'binary/octet-stream'; browsers need "
        "text/javascript",
        "the bucket has no index.html: the site's URL would answer 403 or 404",
        "config.js lets the page send 2000 characters, but the function refuses more than 500 "
        "(MAX_MESSAGE_CHARS)",
    ]
    assert messages(check_site({}, WEBSOCKET_URL, None)[1]) == ["the site's bucket is empty"]


@pytest.mark.parametrize(
    ("source", "allowed"),
    [
        (f"wss://{HOST}", True),
        ("wss://*.execute-api.eu-west-1.amazonaws.com", True),
        ("wss:", True),
        ("*", True),
        ("ws://" + HOST, False),
        ("wss://other.example", False),
        ("'self'", False),
    ],
)
def test_csp_sources(source: str, allowed: bool) -> None:
    """connect-src sources match by scheme, host and host wildcard."""
    html = f'<meta http-equiv="Content-Security-Policy" content="connect-src {source}">'
    assert page_allows(html, f"wss://{HOST}")[0] is allowed


def test_rewriting_points_config_and_csp_at_the_local_gateway() -> None:
    """config.js gets the local URL, the CSP the local origin; other files are untouched."""
    objects = uploaded_site()
    local = "ws://127.0.0.1:4321/prod"
    files = rewrite_site(objects, WEBSOCKET_URL, local)
    config = files["config.js"].decode()
    assert f'"{local}"' in config
    assert WEBSOCKET_URL not in config
    html = files["index.html"].decode()
    assert page_allows(html, "ws://127.0.0.1:4321") == (True, [])
    assert page_allows(html, f"wss://{HOST}")[0] is False
    assert files["js/app.js"] == objects["js/app.js"].body
    assert set(files) == set(objects)


def test_only_endpoints_are_made_local() -> None:
    """CONNECTIONS_ENDPOINT, DynamoDB and the site's origin move; every other value is kept."""
    environment = {**ENVIRONMENT, "ALLOWED_ORIGINS": f"{SITE_ORIGIN},https://other.example"}
    local, changes = local_environment(
        environment,
        connections_endpoint="http://127.0.0.1:9/prod",
        dynamodb_endpoint="http://127.0.0.1:8",
        website_origin=SITE_ORIGIN,
        page_origin="http://127.0.0.1:9",
    )
    assert local == {
        "TABLE_NAME": TABLE,
        "CONNECTIONS_ENDPOINT": "http://127.0.0.1:9/prod",
        "AWS_ENDPOINT_URL_DYNAMODB": "http://127.0.0.1:8",
        "ALLOWED_ORIGINS": "http://127.0.0.1:9,https://other.example",
        "MAX_MESSAGE_CHARS": "2000",
    }
    assert changes == [
        f"CONNECTIONS_ENDPOINT: https://{HOST}/{STAGE} -> http://127.0.0.1:9/prod",
        "AWS_ENDPOINT_URL_DYNAMODB: (unset) -> http://127.0.0.1:8",
        f"ALLOWED_ORIGINS: {SITE_ORIGIN},https://other.example -> "
        "http://127.0.0.1:9,https://other.example",
    ]
    # An open allowlist stays open.
    assert (
        "ALLOWED_ORIGINS"
        not in local_environment(
            {"TABLE_NAME": TABLE},
            connections_endpoint="a",
            dynamodb_endpoint="b",
            website_origin=SITE_ORIGIN,
            page_origin="c",
        )[0]
    )


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
