"""Judge what Terraform created, and map it onto the local stack: pure functions, no I/O.

Each ``check_*`` takes what ``deployment`` read back (and what ``code`` learnt from the
function's own code) and returns ``Problem``s whose messages name the resource, what is wrong,
what it breaks and, where it can tell, what to fix. The names they hold the deployment to are
the contracts of docs/internals.md and docs/protocol.md.
"""

from __future__ import annotations

import fnmatch
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any, Final

from deployment.rehearsal.readback import Api, Function, Route, SiteObject, Table
from deployment.rehearsal.report import Problem
from local_stack.dynamodb import INDEX_NAME, TABLE_SCHEMA, TTL_ATTRIBUTE
from local_stack.site import TEMPLATE_SUFFIX, content_type

# docs/protocol.md: "API Gateway routes client frames on `$request.body.action`".
PROTOCOL_SELECTION_EXPRESSION: Final = "$request.body.action"
# docs/internals.md, "The Lambda's environment".
TABLE_VARIABLE: Final = "TABLE_NAME"
ENDPOINT_VARIABLE: Final = "CONNECTIONS_ENDPOINT"
ORIGINS_VARIABLE: Final = "ALLOWED_ORIGINS"
MAX_CHARS_VARIABLE: Final = "MAX_MESSAGE_CHARS"
DYNAMODB_ENDPOINT_VARIABLE: Final = "AWS_ENDPOINT_URL_DYNAMODB"
DEFAULT_MAX_MESSAGE_CHARS: Final = "2000"
CONFIG_JS: Final = "config.js"
INDEX_HTML: Final = "index.html"

API_AREA: Final = "API"
OUTPUTS_AREA: Final = "outputs"
ROUTES_AREA: Final = "routes"
PERMISSION_AREA: Final = "function permission"
ENV_AREA: Final = "function environment"
TABLE_AREA: Final = "table"
SITE_AREA: Final = "site"

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
_WS_URL: Final = re.compile(r"""wss?://[^\s"'`<>]+""")
_MAX_CHARS: Final = re.compile(r"""maxMessageChars\s*:\s*(?:Number\(\s*)?["']?(\d+)""")
# Types whose wrong value breaks the page (module scripts need a JavaScript MIME type).
_STRICT_TYPES: Final = (".html", ".js", ".mjs", ".css")


def integration_function_arn(uri: str) -> str | None:
    """The Lambda function ARN an integration URI invokes, or None if it invokes none."""
    found = _INVOKE_URI.fullmatch(uri) or _BARE_ARN.fullmatch(uri)
    if found is None:
        return None
    return found.group(1) if found.re is _INVOKE_URI else found.group(0)


def websocket_url(host: str, stage: str) -> str:
    """The URL clients connect to: ``wss://{host}/{stage}``."""
    return f"wss://{host}/{stage}"


def url_origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``."""
    scheme, _, rest = url.partition("://")
    return f"{scheme}://{rest.split('/', 1)[0]}"


def _names(items: Sequence[str] | frozenset[str] | set[str]) -> str:
    return ", ".join(sorted(items)) or "none"


# --- the API ----------------------------------------------------------------------------------


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
            else f"the API has stages {_names([s.name for s in stages])} and none is the stage "
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
            f"{_names(code_routes)}): the code would handle its events as $default",
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
                f"(the API has {_names(route_keys)}): {consequence}",
            )
        )
    return problems


# --- the function -----------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _allows_invoke(statement: Mapping[str, Any], source_arn: str) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    actions = [str(a) for a in _as_list(statement.get("Action", []))]
    if not any(fnmatch.fnmatchcase("lambda:InvokeFunction", a) for a in actions):
        return False
    principal = statement.get("Principal", {})
    services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
    if principal != "*" and "apigateway.amazonaws.com" not in services:
        return False
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, pattern in pairs.items():
            if key.lower() != "aws:sourcearn":
                continue
            patterns = [str(p) for p in _as_list(pattern)]
            if operator in {"ArnLike", "StringLike"}:
                matched = any(fnmatch.fnmatchcase(source_arn, p) for p in patterns)
            else:
                matched = source_arn in patterns
            if not matched:
                return False
    return True


def check_permission(function: Function, api_id: str, stage: str, route_key: str) -> list[Problem]:
    """The function's resource policy must let API Gateway invoke it for this API's stage."""
    parts = function.arn.split(":")
    region, account = parts[3], parts[4]
    # The source ARN API Gateway presents: {execution ARN}/{stage}/{route key}.
    source = f"arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{route_key}"
    if any(_allows_invoke(s, source) for s in function.policy_statements):
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
            f"{_names(set(environment))}"
        )
    elif table not in tables:
        problem(
            f"{TABLE_VARIABLE} names table {table!r}, which does not exist in the emulated "
            f"account (its tables: {_names(tables)})"
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
                f"({reads_where}: {_names(code_reads)}){hint}"
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
    found = table.indexes.get(INDEX_NAME)
    if found is None:
        problems.append(
            Problem(
                TABLE_AREA,
                f"table {table.name!r} has no index {INDEX_NAME!r} (it has "
                f"{_names(set(table.indexes))}): the fan-out Query of a room would fail",
            )
        )
    elif found != expected_index:
        problems.append(
            Problem(
                TABLE_AREA,
                f"index {INDEX_NAME!r} of table {table.name!r} is keyed on {list(found)}, the "
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


# --- the site ---------------------------------------------------------------------------------


class _CspMeta(HTMLParser):
    """Collects the content of every ``<meta http-equiv="Content-Security-Policy">``."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.policies: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "meta":
            return
        values = {name.lower(): value or "" for name, value in attrs}
        if values.get("http-equiv", "").lower() == "content-security-policy":
            self.policies.append(values.get("content", ""))


def csp_policies(html: str) -> list[str]:
    """The Content-Security-Policy texts a page declares in ``<meta>`` tags."""
    parser = _CspMeta()
    parser.feed(html)
    parser.close()
    return parser.policies


def connect_sources(policy: str) -> list[str] | None:
    """The sources ``connect-src`` (else ``default-src``) allows; None when neither is set."""
    directives: dict[str, list[str]] = {}
    for directive in policy.split(";"):
        tokens = directive.split()
        if tokens:
            directives.setdefault(tokens[0].lower(), tokens[1:])
    return directives.get("connect-src", directives.get("default-src"))


def source_allows(source: str, origin: str) -> bool:
    """Whether one CSP source expression allows connecting to ``origin`` (scheme://host)."""
    scheme, _, host = origin.partition("://")
    if source == "*" or source.lower() == f"{scheme}:":
        return True
    s_scheme, sep, s_host = source.partition("://")
    if not sep or s_scheme.lower() != scheme:
        return False
    return fnmatch.fnmatchcase(host.lower(), s_host.rstrip("/").lower())


def page_allows(html: str, origin: str) -> tuple[bool, list[str]]:
    """Whether every CSP of the page lets it connect to ``origin``; with the failing sources."""
    for policy in csp_policies(html):
        sources = connect_sources(policy)
        if sources is not None and not any(source_allows(s, origin) for s in sources):
            return False, sources
    return True, []


@dataclass(frozen=True)
class SiteWiring:
    """The WebSocket URL Terraform rendered into config.js (None when none was found)."""

    rendered_url: str | None


def _check_objects(objects: Mapping[str, SiteObject]) -> list[Problem]:
    problems = []
    for key in sorted(objects):
        if key.endswith(TEMPLATE_SUFFIX):
            problems.append(
                Problem(
                    SITE_AREA,
                    f"{key} was uploaded as it is: templates must be rendered and published as "
                    f"{key.removesuffix(TEMPLATE_SUFFIX)}",
                )
            )
        if key.lower().endswith(_STRICT_TYPES):
            expected = content_type(PurePosixPath(key)).split(";")[0]
            found = objects[key].content_type.split(";")[0].strip().lower()
            if found != expected:
                problems.append(
                    Problem(
                        SITE_AREA,
                        f"{key} is published with Content-Type {objects[key].content_type!r}; "
                        f"browsers need {expected}",
                    )
                )
    if INDEX_HTML not in objects:
        problems.append(
            Problem(
                SITE_AREA, f"the bucket has no {INDEX_HTML}: the site's URL would answer 403 or 404"
            )
        )
    return problems


def _check_config_js(
    config: SiteObject | None, expected_url: str, max_message_chars: str | None
) -> tuple[str | None, list[Problem]]:
    """The one WebSocket URL config.js holds, and what is wrong with it."""
    if config is None:
        return None, [
            Problem(
                SITE_AREA,
                f"the bucket has no {CONFIG_JS}: the page would not know where to connect",
            )
        ]
    text = config.body.decode("utf-8", errors="replace")
    urls = sorted(set(_WS_URL.findall(text)))
    problems = [
        Problem(
            SITE_AREA,
            f"{CONFIG_JS} points the page at {url}, but the API's WebSocket endpoint is "
            f"{expected_url}",
        )
        for url in urls
        if url != expected_url
    ]
    if not urls:
        problems.append(
            Problem(SITE_AREA, f"{CONFIG_JS} holds no WebSocket URL (expected {expected_url})")
        )
    limit = _MAX_CHARS.search(text)
    expected_limit = (max_message_chars or DEFAULT_MAX_MESSAGE_CHARS).strip()
    if limit is not None and limit.group(1) != expected_limit:
        problems.append(
            Problem(
                SITE_AREA,
                f"{CONFIG_JS} lets the page send {limit.group(1)} characters, but the function "
                f"refuses more than {expected_limit} ({MAX_CHARS_VARIABLE})",
            )
        )
    return (urls[0] if len(urls) == 1 else None), problems


def check_site(
    objects: Mapping[str, SiteObject], expected_url: str, max_message_chars: str | None
) -> tuple[SiteWiring, list[Problem]]:
    """The uploaded site must point at this API, allow it in its CSP and be typed right."""
    if not objects:
        return SiteWiring(None), [Problem(SITE_AREA, "the site's bucket is empty")]
    problems = _check_objects(objects)
    rendered, config_problems = _check_config_js(
        objects.get(CONFIG_JS), expected_url, max_message_chars
    )
    problems += config_problems
    origin = url_origin(expected_url)
    for key in sorted(k for k in objects if k.lower().endswith(".html")):
        allowed, sources = page_allows(objects[key].body.decode("utf-8", errors="replace"), origin)
        if not allowed:
            problems.append(
                Problem(
                    SITE_AREA,
                    f"the Content-Security-Policy of {key} lets it connect only to "
                    f"{' '.join(sources)}, not to {origin}: browsers would block the WebSocket",
                )
            )
    return SiteWiring(rendered if not problems else None), problems


def rewrite_site(
    objects: Mapping[str, SiteObject], rendered_url: str, local_url: str
) -> dict[str, bytes]:
    """The site's files with the rendered WebSocket URL (and its origin) made local.

    config.js gets ``local_url``; HTML files get the local origin wherever the rendered origin
    appeared (the CSP's connect-src). Everything else is served byte for byte.
    """
    rendered_origin, local_origin = url_origin(rendered_url), url_origin(local_url)
    files: dict[str, bytes] = {}
    for key, obj in objects.items():
        body = obj.body
        if key == CONFIG_JS:
            body = body.decode("utf-8").replace(rendered_url, local_url).encode("utf-8")
        elif key.lower().endswith(".html"):
            body = body.decode("utf-8").replace(rendered_origin, local_origin).encode("utf-8")
        files[key] = body
    return files


# --- the local stack --------------------------------------------------------------------------


def local_environment(
    environment: Mapping[str, str],
    *,
    connections_endpoint: str,
    dynamodb_endpoint: str,
    website_origin: str,
    page_origin: str,
) -> tuple[dict[str, str], list[str]]:
    """The function's environment with only its endpoints made local; and what was changed.

    ``CONNECTIONS_ENDPOINT`` becomes the local gateway, DynamoDB is reached at the emulator
    Terraform applied to (``AWS_ENDPOINT_URL_DYNAMODB``), and in ``ALLOWED_ORIGINS`` the site's
    deployed origin becomes the local site's (the site is the other endpoint that moved).
    Every other variable is kept as deployed.
    """
    local = dict(environment)
    changes: list[str] = []

    def change(name: str, value: str) -> None:
        before = environment.get(name)
        changes.append(f"{name}: {before if before is not None else '(unset)'} -> {value}")
        local[name] = value

    change(ENDPOINT_VARIABLE, connections_endpoint)
    change(DYNAMODB_ENDPOINT_VARIABLE, dynamodb_endpoint)
    origins = environment.get(ORIGINS_VARIABLE)
    if origins:
        mapped = [
            page_origin if o.strip().rstrip("/").lower() == website_origin.lower() else o.strip()
            for o in origins.split(",")
            if o.strip()
        ]
        if ",".join(mapped) != origins:
            change(ORIGINS_VARIABLE, ",".join(mapped))
    return local, changes
