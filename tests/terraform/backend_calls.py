"""What the backend calls on AWS, read from its source, in IAM's terms.

The function's IAM policy must grant exactly these actions: a call the policy lacks fails in
production with AccessDenied (and never offline, where nothing enforces IAM), and a grant
nothing calls is privilege to spare.
"""

from __future__ import annotations

import ast
from pathlib import Path

import botocore.session
from botocore import xform_name

from deployment.terraform.workspace import REPO_ROOT

CONNECTIONS_MODULE = REPO_ROOT / "backend" / "chat" / "connections.py"
GATEWAY_MODULE = REPO_ROOT / "backend" / "chat" / "gateway.py"


def client_method_calls(source: str, attribute: str = "_client") -> set[str]:
    """Names of the methods called on ``self.<attribute>`` anywhere in Python ``source``."""
    calls: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        if (
            isinstance(target, ast.Attribute)
            and target.attr == attribute
            and isinstance(target.value, ast.Name)
            and target.value.id == "self"
        ):
            calls.add(node.func.attr)
    return calls


def operations(service: str, methods: set[str]) -> dict[str, str]:
    """Map boto3 method names to the service's API operations (``put_item`` -> ``PutItem``).

    Raises ``ValueError`` for a method that is no API call of ``service`` (a paginator, a
    waiter, a typo), so a call the mapping cannot account for is never silently dropped.
    """
    model = botocore.session.get_session().get_service_model(service)
    by_method = {xform_name(name): name for name in model.operation_names}
    unknown = sorted(methods - by_method.keys())
    if unknown:
        raise ValueError(f"{unknown} are not {service} API operations")
    return {method: by_method[method] for method in methods}


def http_methods(service: str, methods: set[str]) -> set[str]:
    """The HTTP methods of the API operations behind ``methods``."""
    model = botocore.session.get_session().get_service_model(service)
    return {
        model.operation_model(operation).http["method"]
        for operation in operations(service, methods).values()
    }


def dynamodb_actions(path: Path = CONNECTIONS_MODULE) -> set[str]:
    """The IAM actions of every DynamoDB call in the connections module."""
    methods = client_method_calls(path.read_text(encoding="utf-8"))
    return {f"dynamodb:{op}" for op in operations("dynamodb", methods).values()}


# The calls through which Python's HTTP clients choose the method: ``http.client``'s
# ``request(method, url, ...)`` and ``putrequest(method, url)``.
HTTP_REQUEST_CALLS = frozenset({"request", "putrequest"})


def _module_strings(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` (or ``NAME: Final = "text"``) assignments."""
    strings: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            strings[target.id] = value.value
    return strings


def raw_http_methods(source: str) -> set[str]:
    """The HTTP methods of every ``<connection>.request(...)``/``putrequest(...)`` in ``source``.

    The method (first argument or ``method=``) must be a string literal or a module-level
    string constant; anything else raises ``ValueError``, so a request whose method the check
    cannot see is never silently left out of the policy check.
    """
    tree = ast.parse(source)
    constants = _module_strings(tree)
    methods: set[str] = set()
    for node in ast.walk(tree):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in HTTP_REQUEST_CALLS
        ):
            continue
        given = [k.value for k in node.keywords if k.arg == "method"] or node.args[:1]
        argument = given[0] if given else None
        if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
            methods.add(argument.value)
        elif isinstance(argument, ast.Name) and argument.id in constants:
            methods.add(constants[argument.id])
        else:
            shown = ast.unparse(argument) if argument is not None else "nothing"
            raise ValueError(
                f"line {node.lineno}: cannot tell the HTTP method of "
                f"{ast.unparse(node.func)}(...) from {shown}; use a literal or a module constant"
            )
    return methods


def management_api_http_methods(path: Path = GATEWAY_MODULE) -> set[str]:
    """The HTTP methods of every ``@connections`` call in the gateway module.

    Two ways of calling are read: boto3 client calls (``self._client.post_to_connection``,
    mapped through the service model) and the signed HTTP sender's own requests
    (``connection.request(POST_TO_CONNECTION, ...)``, the method read from the source).
    IAM has one action for them all (``execute-api:ManageConnections``); the method is part
    of the resource ARN, ``{api}/{stage}/{METHOD}/@connections/*``.
    """
    source = path.read_text(encoding="utf-8")
    methods = http_methods("apigatewaymanagementapi", client_method_calls(source))
    raw = raw_http_methods(source)
    model = botocore.session.get_session().get_service_model("apigatewaymanagementapi")
    known = {model.operation_model(name).http["method"] for name in model.operation_names}
    unknown = sorted(raw - known)
    if unknown:
        raise ValueError(f"{unknown} are no @connections HTTP methods (known: {sorted(known)})")
    return methods | raw
