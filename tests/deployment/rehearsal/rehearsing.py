"""What the rehearsal's end-to-end tests share: running it, on its own deployment or on a
test's, and what a run must show."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from chat.handler import ROUTES

from deployment.rehearsal import RehearsalOptions, Report, rehearse
from deployment.rehearsal.local_gateway import STEP_START
from deployment.rehearsal.runner import (
    STEP_BROWSER,
    STEP_DESTROY,
    STEP_SMOKE,
    STEP_WEBSOCKETS,
    rehearse_applied,
)
from deployment.terraform.applied import DEFAULT_REGION, AppliedDeployment
from deployment.terraform.emulator import emulator_inventory
from local_stack.moto_server import MotoServer

# The steps after the read-back, skipped when it finds a problem.
LATER_STEPS = (STEP_START, STEP_WEBSOCKETS, STEP_SMOKE, STEP_BROWSER)
# The code's routes, as the rehearsal names them.
CODE_ROUTES = ", ".join(sorted(ROUTES))


def run(options: RehearsalOptions) -> tuple[Report, list[str]]:
    """Rehearse, keeping the printed lines."""
    printed: list[str] = []
    report = rehearse(options, out=printed.append)
    print("\n".join(printed))  # shown by pytest when the test fails
    return report, printed


def run_applied(
    deployment: AppliedDeployment, options: RehearsalOptions, chromium: Path | None
) -> tuple[Report, list[str]]:
    """The rehearsal's steps between apply and destroy on the test's own ``deployment`` (left
    applied: one deployment serves the module's read-back tests and the rehearsal), keeping the
    printed lines."""
    printed: list[str] = []
    report = Report(printed.append)
    rehearse_applied(report, options, deployment, chromium)
    print("\n".join(printed))  # shown by pytest when the test fails
    return report, printed


def assert_destroyed(report: Report, printed: list[str], moto: MotoServer) -> None:
    """The destroy step ran and passed, the report says so, and the emulator is empty."""
    destroy = report.find(STEP_DESTROY)
    assert destroy is not None
    assert destroy.status == "ok"
    assert report.destroyed
    assert printed[-1] == "Everything Terraform created in the emulator was destroyed."
    left = emulator_inventory(moto.endpoint, DEFAULT_REGION)
    assert left == {kind: [] for kind in left}


def step_lines(report: Report, title: str) -> str:
    """What one step printed."""
    step = report.find(title)
    assert step is not None
    return "\n".join(step.lines)


def assert_chat_skipped(report: Report) -> None:
    """The steps after the read-back were skipped: the chat never started on a broken
    deployment."""
    for title in LATER_STEPS:
        step = report.find(title)
        assert step is not None
        assert step.status == "skipped"


# Broken configurations: one resource of an applied deployment broken in the emulator as the
# broken Terraform would have created it, and mended after.


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
