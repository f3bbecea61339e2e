"""Broken configurations are reported with the exact problem, and the chat is not started on
them: the rehearsal's steps after apply run on one s3-website deployment (the quick mode,
about 15 s to apply and 15 s to destroy) applied for the module, each test breaking one
resource of it in the emulator as the broken Terraform would have created it, and mending it
after.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from chat.config import EnvVar
from chat.handler import ROUTES

from deployment.rehearsal import Problem, RehearsalOptions, Report
from deployment.terraform.applied import AppliedDeployment, apply_deployment
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import DeploymentSources
from local_stack.moto_server import MotoServer
from tests.deployment.rehearsal.rehearsing import (
    CODE_ROUTES,
    assert_chat_skipped,
    run_applied,
)

# An apply and a destroy take minutes on a busy machine (CloudFront's destroy alone took 67 s
# here), more than pytest's default 300 s allows for.
pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.timeout(600)]

# The API's routes once Terraform's `sendmessage` is renamed `send_message` (the code's routes).
RENAMED_ROUTES = ", ".join(sorted(set(ROUTES) - {"sendmessage"} | {"send_message"}))


@pytest.fixture(scope="module")
def website(terraform_tool: TerraformTool, lambda_zip: Path) -> Iterator[AppliedDeployment]:
    """terraform/ applied once in s3-website mode (no CloudFront: the quick mode) to an
    emulator of its own, for the tests that break one resource of it; destroyed at the end."""
    with (
        MotoServer(quiet=True) as server,
        apply_deployment(
            {"hosting_mode": "s3-website"},
            endpoint=server.endpoint,
            sources=DeploymentSources(lambda_zip=lambda_zip),
            tool=terraform_tool,
        ) as deployment,
    ):
        yield deployment


def rehearse_applied_website(deployment: AppliedDeployment, lambda_zip: Path) -> Report:
    """The rehearsal's steps between apply and destroy on ``deployment`` (no browser)."""
    options = RehearsalOptions(hosting_mode="s3-website", lambda_zip=lambda_zip, browser=False)
    report, _ = run_applied(deployment, options, chromium=None)
    return report


@contextmanager
def route_renamed(deployment: AppliedDeployment, key: str, new_key: str) -> Iterator[None]:
    """The API's route ``key`` renamed ``new_key`` in the emulator, as a Terraform that spells
    it so creates it; renamed back after."""
    api = deployment.client("apigatewayv2")
    api_id = str(deployment.outputs["api_id"])
    routes = api.get_routes(ApiId=api_id)["Items"]
    route_id = next(route["RouteId"] for route in routes if route["RouteKey"] == key)
    api.update_route(ApiId=api_id, RouteId=route_id, RouteKey=new_key)
    try:
        yield
    finally:
        api.update_route(ApiId=api_id, RouteId=route_id, RouteKey=key)


@contextmanager
def variable_renamed(deployment: AppliedDeployment, name: str, new_name: str) -> Iterator[None]:
    """The chat function's environment variable ``name`` renamed ``new_name`` in the emulator,
    as a Terraform that spells it so sets it; renamed back after."""
    lambdas = deployment.client("lambda")
    function = str(deployment.outputs["function_name"])
    variables = lambdas.get_function_configuration(FunctionName=function)["Environment"][
        "Variables"
    ]
    broken = {new_name if key == name else key: value for key, value in variables.items()}
    lambdas.update_function_configuration(FunctionName=function, Environment={"Variables": broken})
    try:
        yield
    finally:
        lambdas.update_function_configuration(
            FunctionName=function, Environment={"Variables": variables}
        )


def test_a_route_renamed_in_terraform_is_reported(
    website: AppliedDeployment, lambda_zip: Path
) -> None:
    """`sendmessage` created as `send_message` (a route renamed in Terraform only): both sides
    of the mismatch are named, and the chat is not started."""
    with route_renamed(website, "sendmessage", "send_message"):
        report = rehearse_applied_website(website, lambda_zip)
    assert report.problems == [
        Problem(
            "routes",
            "route 'send_message' exists in the API but the code has no route for it "
            f"(chat.handler.ROUTES has {CODE_ROUTES}): the code would handle its events as "
            "$default",
        ),
        Problem(
            "routes",
            "the code handles route 'sendmessage' but the API has no such route (the API has "
            f"{RENAMED_ROUTES}): frames whose "
            "$request.body.action is 'sendmessage' would reach $default instead",
        ),
    ]
    assert_chat_skipped(report)


def test_a_renamed_table_variable_is_reported(website: AppliedDeployment, lambda_zip: Path) -> None:
    """TABLE_NAME set as CHAT_TABLE (spelled so in Terraform): reported as missing, as unread
    and as refused by the code, and the chat is not started."""
    with variable_renamed(website, "TABLE_NAME", "CHAT_TABLE"):
        report = rehearse_applied_website(website, lambda_zip)
    assert [p.area for p in report.problems] == ["function environment"] * 3
    missing, unread, refused = (p.message for p in report.problems)
    # Terraform sets every variable the code reads (tests/terraform/test_defaults.py), and
    # CHAT_TABLE in place of TABLE_NAME here.
    has = sorted({name.value for name in EnvVar} - {"TABLE_NAME"} | {"CHAT_TABLE"})
    assert missing == (
        "the function's environment has no TABLE_NAME, the variable the code reads the "
        f"connections table's name from (docs/internals.md); it has {', '.join(has)}"
    )
    assert unread.startswith(
        "the function's environment sets CHAT_TABLE, which the code never reads "
        "(chat.runtime.RUNTIME_ENV: "
    )
    assert unread.endswith(
        "it holds 'awsome-chat-connections', the name of a table, so it is probably meant to "
        "be TABLE_NAME"
    )
    assert refused == (
        "the code refuses the function's environment: TABLE_NAME is required: set it to the "
        "connections table's name"
    )
    assert_chat_skipped(report)
