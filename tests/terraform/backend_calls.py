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

from local_stack.tfharness import REPO_ROOT

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


def management_api_http_methods(path: Path = GATEWAY_MODULE) -> set[str]:
    """The HTTP methods of every ``@connections`` call in the gateway module.

    IAM has one action for them all (``execute-api:ManageConnections``); the method is part
    of the resource ARN, ``{api}/{stage}/{METHOD}/@connections/*``.
    """
    methods = client_method_calls(path.read_text(encoding="utf-8"))
    return http_methods("apigatewaymanagementapi", methods)
