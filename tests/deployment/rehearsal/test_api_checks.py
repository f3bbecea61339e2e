"""The rehearsal's judgements on the WebSocket API, on hand-made read-backs (no emulator)."""

from __future__ import annotations

import dataclasses

from deployment.rehearsal import api_checks
from deployment.rehearsal.api_checks import (
    AuthorizerWiring,
    check_api,
    check_authorizer,
    check_routes_against_code,
    integration_function_arn,
)
from deployment.rehearsal.readback import (
    Authorizer,
    Integration,
    Route,
    Stage,
)
from tests.deployment.rehearsal.conftest import (
    AUTHORIZER_ARN,
    FUNCTION_ARN,
    HOST,
    IDENTITY_SOURCE,
    INVOKE_URI,
    REGION,
    ROUTE_KEYS,
    STAGE,
    WEBSOCKET_URL,
    api,
    messages,
    signed_in_api,
)


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
    assert wiring == api_checks.ApiWiring(
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
    assert api_checks.check_outputs(good, wiring) == []
    wrong = {**good, "websocket_url": f"wss://{HOST}/dev"}
    assert messages(api_checks.check_outputs(wrong, wiring)) == [
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


def test_the_open_chat_has_no_authorizer() -> None:
    """No route guarded: no authorizer wiring, and nothing to report."""
    assert check_authorizer(api(), FUNCTION_ARN) == (None, [])


def test_terraforms_signed_in_api_guards_connect_with_the_authorizer() -> None:
    """auth = "cognito": $connect has the REQUEST authorizer reading Sec-WebSocket-Protocol."""
    wiring, problems = check_authorizer(signed_in_api(), FUNCTION_ARN)
    assert problems == []
    assert wiring == AuthorizerWiring(
        authorizer_id="auth1", function_arn=AUTHORIZER_ARN, identity_sources=(IDENTITY_SOURCE,)
    )
    # The chat's own wiring is unchanged by the authorizer.
    assert check_api(signed_in_api(), REGION)[1] == []


def test_an_authorizer_on_another_route_is_reported() -> None:
    """WebSocket APIs authorize at $connect only: a guarded message route is named."""
    routes = tuple(
        dataclasses.replace(r, authorization_type="CUSTOM", authorizer_id="auth1")
        if r.key == "sendmessage"
        else r
        for r in signed_in_api().routes
    )
    wiring, problems = check_authorizer(signed_in_api(routes=routes), FUNCTION_ARN)
    assert wiring is not None
    assert messages(problems) == [
        "route 'sendmessage' has authorization CUSTOM (authorizer auth1): a WebSocket API "
        "authorizes a connection once, at $connect; API Gateway refuses an authorizer on any "
        "other route"
    ]


def test_a_wrong_identity_source_type_or_function_is_reported() -> None:
    """A query-string token, a TOKEN authorizer, the chat as its own authorizer: each named."""
    authorizer = Authorizer(
        "auth1", "connect", "TOKEN", INVOKE_URI, ("route.request.querystring.token",)
    )
    wiring, problems = check_authorizer(
        signed_in_api(authorizers={"auth1": authorizer}), FUNCTION_ARN
    )
    assert wiring is None
    assert messages(problems) == [
        "authorizer connect is of type 'TOKEN'; a WebSocket API's Lambda authorizer is 'REQUEST'",
        "authorizer connect reads the identity sources route.request.querystring.token; the "
        "page sends its token in Sec-WebSocket-Protocol, so it must read exactly "
        'route.request.header.Sec-WebSocket-Protocol (docs/protocol.md, "Signing in")',
        f"authorizer connect invokes the chat's own function {FUNCTION_ARN}; the authorizer is "
        "its own function (handler authorizer.handler.handler)",
    ]


def test_connect_naming_an_unknown_authorizer_is_reported() -> None:
    """$connect's authorizer id must be one of the API's authorizers."""
    wiring, problems = check_authorizer(signed_in_api(authorizers={}), FUNCTION_ARN)
    assert wiring is None
    assert messages(problems) == [
        "$connect has authorization CUSTOM with authorizer 'auth1', which is not a Lambda "
        "authorizer of this API (it has none): sign-in needs CUSTOM with the API's REQUEST "
        "authorizer"
    ]
