"""Judge the WebSocket API Terraform created: type, route selection, stage, route targets, the
routes against the code's own route table, and the ``$connect`` authorizer when sign-in is on.
Pure functions returning ``Problem``s.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from deployment.rehearsal.readback import Api, Authorizer, Route
from deployment.rehearsal.report import Problem, listed

# docs/protocol.md: "API Gateway routes client frames on `$request.body.action`".
PROTOCOL_SELECTION_EXPRESSION: Final = "$request.body.action"

API_AREA: Final = "API"
OUTPUTS_AREA: Final = "outputs"
ROUTES_AREA: Final = "routes"
AUTHORIZER_AREA: Final = "authorizer"

# docs/protocol.md, "Signing in": the page offers its ID token as a subprotocol, and the
# authorizer reads it from this header (API Gateway's identity source syntax).
AUTHORIZER_IDENTITY_SOURCE: Final = "route.request.header.Sec-WebSocket-Protocol"
CONNECT_ROUTE: Final = "$connect"
CUSTOM_AUTHORIZATION: Final = "CUSTOM"
REQUEST_AUTHORIZER: Final = "REQUEST"


# arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function ARN}/invocations
# (aws_lambda_function.invoke_arn); a bare function ARN is accepted too.
_FUNCTION_ARN: Final = (
    r"arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[A-Za-z0-9_-]+(?::[$\w-]+)?"
)
_INVOKE_URI: Final = re.compile(
    rf"arn:aws[a-z-]*:apigateway:[a-z0-9-]+:lambda:path/[0-9-]+/functions/({_FUNCTION_ARN})"
    r"/invocations"
)
_BARE_ARN: Final = re.compile(_FUNCTION_ARN)
_TARGET: Final = re.compile(r"integrations/([A-Za-z0-9]+)")


def integration_function_arn(uri: str) -> str | None:
    """The Lambda function ARN an integration URI invokes, or None if it invokes none."""
    found = _INVOKE_URI.fullmatch(uri) or _BARE_ARN.fullmatch(uri)
    if found is None:
        return None
    return found.group(1) if found.re is _INVOKE_URI else found.group(0)


def websocket_url(host: str, stage: str) -> str:
    """The URL clients connect to: ``wss://{host}/{stage}``."""
    return f"wss://{host}/{stage}"


@dataclass(frozen=True)
class ApiWiring:
    """What the API says the local gateway must be: stage, routes, function, URLs."""

    stage: str
    route_keys: frozenset[str]
    """The routes whose integration invokes ``function_arn``."""
    function_arn: str | None
    websocket_url: str
    connections_endpoint: str


def _check_api_settings(api: Api) -> list[Problem]:
    problems = []
    if api.protocol_type != "WEBSOCKET":
        problems.append(
            Problem(API_AREA, f"API {api.api_id} is a {api.protocol_type} API, not a WEBSOCKET API")
        )
    if api.route_selection_expression != PROTOCOL_SELECTION_EXPRESSION:
        problems.append(
            Problem(
                API_AREA,
                f"the route selection expression is {api.route_selection_expression!r}, but "
                f'clients name the action in the frame\'s "action" field (docs/protocol.md): '
                f"it must be {PROTOCOL_SELECTION_EXPRESSION!r}",
            )
        )
    if api.execute_api_endpoint_disabled:
        problems.append(
            Problem(
                API_AREA,
                "the API's default execute-api endpoint is disabled, so the URL the site is "
                "given does not answer",
            )
        )
    return problems


def _check_stage(api: Api, stage_hint: str | None) -> tuple[str, list[Problem]]:
    """The stage clients connect to (``stage_hint`` picks one of several)."""
    stages = api.stages
    stage = (
        stages[0] if len(stages) == 1 else next((s for s in stages if s.name == stage_hint), None)
    )
    if stage is None:
        message = (
            "the API has no stage, so there is no URL to connect to"
            if not stages
            else f"the API has stages {listed([s.name for s in stages])} and none is the stage "
            f"{stage_hint!r} Terraform's websocket_url names"
        )
        return stage_hint or "", [Problem(API_AREA, message)]
    if not stage.auto_deploy and stage.deployment_id is None:
        return stage.name, [
            Problem(
                API_AREA,
                f"stage '{stage.name}' has no deployment and does not auto-deploy: its routes "
                "are not live (set auto_deploy = true)",
            )
        ]
    return stage.name, []


def _route_target(api: Api, route: Route) -> str | Problem:
    """The function ARN ``route`` invokes, or the problem that it invokes none."""
    matched = _TARGET.fullmatch(route.target or "")
    integration = api.integrations.get(matched.group(1)) if matched else None
    if route.target is None:
        return Problem(
            ROUTES_AREA, f"route '{route.key}' has no integration target: nothing runs it"
        )
    if integration is None:
        return Problem(
            ROUTES_AREA,
            f"route '{route.key}' targets {route.target!r}, which is not an integration of "
            "this API",
        )
    if integration.integration_type != "AWS_PROXY":
        return Problem(
            ROUTES_AREA,
            f"route '{route.key}' goes to a {integration.integration_type} integration; the code "
            "expects Lambda proxy events (AWS_PROXY)",
        )
    arn = integration_function_arn(integration.uri)
    if arn is None:
        return Problem(
            ROUTES_AREA,
            f"route '{route.key}' goes to integration {integration.integration_id}, whose URI "
            f"{integration.uri!r} invokes no Lambda function",
        )
    return arn


def check_api(
    api: Api, region: str, stage_hint: str | None = None
) -> tuple[ApiWiring, list[Problem]]:
    """Check the API's type, expression, stage and route targets; say what it routes where.

    ``stage_hint`` picks the stage when there are several (the stage of Terraform's
    ``websocket_url`` output).
    """
    problems = _check_api_settings(api)
    stage, stage_problems = _check_stage(api, stage_hint)
    problems += stage_problems

    targets: dict[str, str] = {}
    for route in sorted(api.routes, key=lambda r: r.key):
        target = _route_target(api, route)
        if isinstance(target, Problem):
            problems.append(target)
        else:
            targets[route.key] = target

    function_arn = Counter(targets.values()).most_common(1)[0][0] if targets else None
    problems += [
        Problem(
            ROUTES_AREA,
            f"route '{key}' invokes {arn}, not {function_arn} like the other routes: the chat "
            "is one function",
        )
        for key, arn in sorted(targets.items())
        if arn != function_arn
    ]
    if function_arn is None:
        problems.append(
            Problem(
                ROUTES_AREA,
                "no route of the API invokes a Lambda function"
                if api.routes
                else "the API has no routes",
            )
        )

    host = api.endpoint_host or f"{api.api_id}.execute-api.{region}.amazonaws.com"
    wiring = ApiWiring(
        stage=stage,
        route_keys=frozenset(k for k, arn in targets.items() if arn == function_arn),
        function_arn=function_arn,
        websocket_url=websocket_url(host, stage),
        connections_endpoint=f"https://{host}/{stage}",
    )
    return wiring, problems


def check_outputs(outputs: Mapping[str, Any], wiring: ApiWiring) -> list[Problem]:
    """Terraform's URL outputs (what a person copies) must be the API's real endpoints."""
    expected = {
        "websocket_url": wiring.websocket_url,
        "connections_endpoint": wiring.connections_endpoint,
    }
    return [
        Problem(
            OUTPUTS_AREA,
            f"Terraform's output {name} is {outputs[name]!r}, but the API's endpoint is {value!r}",
        )
        for name, value in expected.items()
        if name in outputs and str(outputs[name]).rstrip("/") != value
    ]


def check_routes_against_code(
    route_keys: frozenset[str], code_routes: frozenset[str], expression: str, where: str
) -> list[Problem]:
    """Every API route must be one the code handles, and every route it handles must exist.

    ``where`` names the code's route table in messages (e.g. ``chat.handler.ROUTES``).
    """
    problems = [
        Problem(
            ROUTES_AREA,
            f"route '{key}' exists in the API but the code has no route for it ({where} has "
            f"{listed(code_routes)}): the code would handle its events as $default",
        )
        for key in sorted(route_keys - code_routes)
    ]
    for key in sorted(code_routes - route_keys):
        if key.startswith("$"):
            consequence = "API Gateway never sends those events to the function"
        else:
            consequence = f"frames whose {expression} is {key!r} would reach $default instead"
        problems.append(
            Problem(
                ROUTES_AREA,
                f"the code handles route '{key}' but the API has no such route "
                f"(the API has {listed(route_keys)}): {consequence}",
            )
        )
    return problems


@dataclass(frozen=True)
class AuthorizerWiring:
    """The ``$connect`` authorizer as the local gateway must run it."""

    authorizer_id: str
    function_arn: str
    identity_sources: tuple[str, ...]


def _unguarded(route: Route) -> bool:
    return route.authorization_type.upper() == "NONE" and route.authorizer_id is None


def check_authorizer(
    api: Api, chat_function_arn: str | None
) -> tuple[AuthorizerWiring | None, list[Problem]]:
    """The authorizer guarding ``$connect``, if any, and what is wrong with it.

    None (and no problem) when no route is guarded: the open chat. Otherwise ``$connect``, and
    only ``$connect``, must have a Lambda REQUEST authorizer of this API that reads
    ``Sec-WebSocket-Protocol`` (docs/protocol.md, "Signing in") and is not the chat itself.
    """
    guarded = [r for r in sorted(api.routes, key=lambda r: r.key) if not _unguarded(r)]
    if not guarded:
        return None, []
    problems = [
        Problem(
            AUTHORIZER_AREA,
            f"route '{route.key}' has authorization {route.authorization_type}"
            f"{f' (authorizer {route.authorizer_id})' if route.authorizer_id else ''}: a "
            "WebSocket API authorizes a connection once, at $connect; API Gateway refuses an "
            "authorizer on any other route",
        )
        for route in guarded
        if route.key != CONNECT_ROUTE
    ]
    connect = next((r for r in guarded if r.key == CONNECT_ROUTE), None)
    if connect is None:
        if not any(r.key == CONNECT_ROUTE for r in api.routes):
            return None, problems  # the missing $connect route is check_api's to report
        problems.append(
            Problem(
                AUTHORIZER_AREA,
                "$connect has no authorizer although other routes have: anyone can connect",
            )
        )
        return None, problems
    authorizer = api.authorizers.get(connect.authorizer_id or "")
    if connect.authorization_type.upper() != CUSTOM_AUTHORIZATION or authorizer is None:
        problems.append(
            Problem(
                AUTHORIZER_AREA,
                f"$connect has authorization {connect.authorization_type} with authorizer "
                f"{connect.authorizer_id!r}, which is not a Lambda authorizer of this API (it "
                f"has {listed(api.authorizers)}): sign-in needs "
                f"{CUSTOM_AUTHORIZATION} with the API's REQUEST authorizer",
            )
        )
        return None, problems
    function_arn, authorizer_problems = _check_authorizer_itself(authorizer, chat_function_arn)
    problems += authorizer_problems
    if function_arn is None:
        return None, problems
    return (
        AuthorizerWiring(
            authorizer_id=authorizer.authorizer_id,
            function_arn=function_arn,
            identity_sources=authorizer.identity_sources,
        ),
        problems,
    )


def _check_authorizer_itself(
    authorizer: Authorizer, chat_function_arn: str | None
) -> tuple[str | None, list[Problem]]:
    problems = []
    name = f"authorizer {authorizer.name or authorizer.authorizer_id}"
    if authorizer.authorizer_type != REQUEST_AUTHORIZER:
        problems.append(
            Problem(
                AUTHORIZER_AREA,
                f"{name} is of type {authorizer.authorizer_type!r}; a WebSocket API's Lambda "
                f"authorizer is {REQUEST_AUTHORIZER!r}",
            )
        )
    if authorizer.identity_sources != (AUTHORIZER_IDENTITY_SOURCE,):
        problems.append(
            Problem(
                AUTHORIZER_AREA,
                f"{name} reads the identity sources {listed(authorizer.identity_sources)}; "
                f"the page sends its token in Sec-WebSocket-Protocol, so it must read exactly "
                f'{AUTHORIZER_IDENTITY_SOURCE} (docs/protocol.md, "Signing in")',
            )
        )
    function_arn = integration_function_arn(authorizer.uri)
    if function_arn is None:
        problems.append(
            Problem(
                AUTHORIZER_AREA,
                f"{name}'s URI {authorizer.uri!r} invokes no Lambda function",
            )
        )
    elif function_arn == chat_function_arn:
        problems.append(
            Problem(
                AUTHORIZER_AREA,
                f"{name} invokes the chat's own function {function_arn}; the authorizer is "
                "its own function (handler authorizer.handler.handler)",
            )
        )
        function_arn = None
    return function_arn, problems
