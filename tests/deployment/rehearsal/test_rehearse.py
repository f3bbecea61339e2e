"""The rehearsal itself: terraform/ applied to moto, the chat run on it, destroyed.

The real configuration runs once, end to end with the browser, as `make rehearse` runs it
(CloudFront mode: apply 47 s and destroy 67 s measured here, the test 130 s). Two broken
configurations must be reported with the exact problem and the chat not started on them: the
rehearsal's steps after apply run on one s3-website deployment (the quick mode, about 15 s to
apply and 15 s to destroy) applied for both, each breaking one resource of it in the emulator
as the broken Terraform would have created it, and mending it after. That a rehearsal which
finds problems still destroys what it applied is proven on a configuration of one bucket (no
API), quick to apply. Last, sign-in (`auth = "cognito"`, issue #17) runs end to end in
CloudFront mode, the only one that takes sign-in.
Both chat runs also run `make smoke` on the deployment (the open one and the signed-in one):
3.4 to 5.6 s each, measured here.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from chat.config import EnvVar
from chat.handler import ROUTES

from deployment.rehearsal import Problem, RehearsalOptions, Report, rehearse
from deployment.rehearsal.api_checks import API_AREA
from deployment.rehearsal.local_gateway import STEP_START
from deployment.rehearsal.readback_steps import STEP_AUTHORIZER
from deployment.rehearsal.runner import (
    STEP_BROWSER,
    STEP_DESTROY,
    STEP_SMOKE,
    STEP_WEBSOCKETS,
    rehearse_applied,
)
from deployment.rehearsal.smoke_run import CSP_HEADER_NOT_REHEARSED
from deployment.terraform.applied import DEFAULT_REGION, AppliedDeployment, apply_deployment
from deployment.terraform.emulator import emulator_inventory
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import AUTHORIZER_ZIP, TERRAFORM_DIR, DeploymentSources
from local_stack.moto_server import MotoServer
from tests.conftest import skip_or_fail

# An apply and a destroy take minutes on a busy machine (CloudFront's destroy alone took 67 s
# here), more than pytest's default 300 s allows for.
pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.timeout(600)]

# The steps after the read-back, skipped when it finds a problem.
LATER_STEPS = (STEP_START, STEP_WEBSOCKETS, STEP_SMOKE, STEP_BROWSER)
CODE_ROUTES = ", ".join(sorted(ROUTES))
# The API's routes once Terraform's `sendmessage` is renamed `send_message` (the code's routes).
RENAMED_ROUTES = ", ".join(sorted(set(ROUTES) - {"sendmessage"} | {"send_message"}))


@pytest.fixture
def moto() -> Iterator[MotoServer]:
    """An emulator of the test's own, so the test can list what is left after the run."""
    with MotoServer(quiet=True) as server:
        yield server


def run(options: RehearsalOptions) -> tuple[Report, list[str]]:
    """Rehearse, keeping the printed lines."""
    printed: list[str] = []
    report = rehearse(options, out=printed.append)
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


@pytest.mark.browser
def test_the_applied_deployment_chats_end_to_end(
    terraform_tool: TerraformTool, lambda_zip: Path, moto: MotoServer, chromium: Path
) -> None:
    """As `make rehearse`: every step passes on what Terraform created, `make smoke` included
    (the bucket private, the CSP header skipped saying why), then it is destroyed."""
    report, printed = run(
        RehearsalOptions(lambda_zip=lambda_zip, tool=terraform_tool, moto=moto, chromium=chromium)
    )
    assert report.problems == []
    assert [s.status for s in report.steps] == ["ok"] * 12
    assert report.ok
    lines = "\n".join(printed)
    # Configured from the deployment, not from local defaults.
    api_id = re.search(r"output api_id = (\w+)", lines)
    assert api_id is not None
    assert (
        "mapped config.js "
        f"wss://{api_id.group(1)}.execute-api.{DEFAULT_REGION}.amazonaws.com/prod -> ws://127.0.0.1:"
    ) in lines
    assert f"routes {CODE_ROUTES}" in lines
    assert (
        "tables awsome-chat-connections and awsome-chat-messages in the emulator Terraform "
        "applied to"
    ) in lines
    assert "mapped ALLOWED_ORIGINS: https://" in lines
    assert "alice's page shows bob's message" in lines
    smoke = step_lines(report, STEP_SMOKE)
    assert re.search(
        r"^ok    site bucket: bucket awsome-chat-site-\w+ is not public: Block Public Access is "
        "fully on and S3 judges its policy not public$",
        smoke,
        re.M,
    )
    assert f"skip  CSP header: {CSP_HEADER_NOT_REHEARSED} (skipped with --skip)" in smoke
    assert "ok    join/history: join answered members (alice, bob) and history holding " in smoke
    assert smoke.splitlines()[-1] == "10 of 11 checks passed, 1 skipped"
    assert_destroyed(report, printed, moto)


def step_lines(report: Report, title: str) -> str:
    """What one step printed."""
    step = report.find(title)
    assert step is not None
    return "\n".join(step.lines)


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
    """The rehearsal's steps between apply and destroy on ``deployment`` (no browser),
    printing what they printed (shown by pytest when the test fails)."""
    printed: list[str] = []
    report = Report(printed.append)
    options = RehearsalOptions(hosting_mode="s3-website", lambda_zip=lambda_zip, browser=False)
    rehearse_applied(report, options, deployment, chromium=None)
    print("\n".join(printed))
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


def assert_chat_skipped(report: Report) -> None:
    """The steps after the read-back were skipped: the chat never started on a broken
    deployment."""
    for title in LATER_STEPS:
        step = report.find(title)
        assert step is not None
        assert step.status == "skipped"


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


# A site bucket and nothing else: quick to apply, and broken for the rehearsal (no API).
BUCKET_ONLY = """
variable "region" {
  type = string
}

provider "aws" {
  region = var.region
}

resource "aws_s3_bucket" "site" {
  bucket_prefix = "rehearsal-broken-"
  force_destroy = true
}

output "site_bucket" {
  value = aws_s3_bucket.site.bucket
}
"""


def test_a_rehearsal_that_finds_problems_destroys_what_it_applied(
    terraform_tool: TerraformTool, lambda_zip: Path, moto: MotoServer, tmp_path: Path
) -> None:
    """A configuration the chat cannot run on (a bucket, no API), applied by the rehearsal:
    the problem is reported, the chat steps skipped, and all it applied destroyed."""
    configuration = tmp_path / "terraform"
    configuration.mkdir()
    shutil.copy2(TERRAFORM_DIR / "versions.tf", configuration / "versions.tf")
    (configuration / "main.tf").write_text(BUCKET_ONLY, encoding="utf-8")
    report, printed = run(
        RehearsalOptions(
            hosting_mode="s3-website",
            terraform_dir=configuration,
            lambda_zip=lambda_zip,
            browser=False,
            tool=terraform_tool,
            moto=moto,
        )
    )
    assert [p.area for p in report.problems] == [API_AREA]
    assert report.problems[0].message.startswith(
        "cannot tell which WebSocket API Terraform created: output api_id is None, the "
        "emulator has none"
    )
    assert not report.ok
    assert_chat_skipped(report)
    assert "Rehearsal FAILED with 1 problem:" in printed
    assert_destroyed(report, printed, moto)


@pytest.fixture
def authorizer_package() -> Path:
    """The authorizer's package as `make build` leaves it (built for Lambda's arm64)."""
    if not AUTHORIZER_ZIP.is_file():
        skip_or_fail(f"{AUTHORIZER_ZIP} does not exist: run `make build`")
    return AUTHORIZER_ZIP


@pytest.mark.browser
def test_the_signed_in_deployment_chats_end_to_end(
    terraform_tool: TerraformTool,
    lambda_zip: Path,
    authorizer_package: Path,
    moto: MotoServer,
    chromium: Path,
) -> None:
    """auth = "cognito": the authorizer Terraform created guards $connect on the local gateway,
    users of the pool it created sign in and chat under their names, `make smoke` signs its
    throwaway user in, is refused without a token and deletes the user; then all is
    destroyed."""
    report, printed = run(
        RehearsalOptions(
            hosting_mode="cloudfront",  # sign-in is refused on the plain-http s3-website
            lambda_zip=lambda_zip,
            authorizer_zip=authorizer_package,
            variables={"auth": "cognito"},
            tool=terraform_tool,
            moto=moto,
            chromium=chromium,
        )
    )
    assert report.problems == []
    assert [s.status for s in report.steps] == ["ok"] * 13
    authorizer_step = report.find(STEP_AUTHORIZER)
    assert authorizer_step is not None
    assert authorizer_step.status == "ok"
    lines = "\n".join(printed)
    assert "$connect is guarded by REQUEST authorizer " in lines
    assert "identity source route.request.header.Sec-WebSocket-Protocol" in lines
    assert "AUTH_MODE is cognito" in lines
    assert "is the code the authorizer runs (CodeSha256 " in lines
    assert re.search(
        r"mapped the authorizer's AUTH_JWKS_URL: \S+ -> http://127\.0\.0\.1:\d+/"
        rf"{DEFAULT_REGION}_\w+/\.well-known/jwks\.json",
        lines,
    )
    assert (
        f"mapped config.js sign-in endpoint https://cognito-idp.{DEFAULT_REGION}.amazonaws.com/ "
        "-> http://127.0.0.1:"
    ) in lines
    assert "signed in, everyone chats under their token's name" in lines
    assert "refused with 401: a connect with no Sec-WebSocket-Protocol header" in lines
    assert "alice's page shows bob's message" in lines
    smoke = step_lines(report, STEP_SMOKE)
    created = re.search(r"^ok    sign-in: created user (smoke\w+) in pool ", smoke, re.M)
    assert created is not None
    user = created.group(1)
    for line in (
        "ok    tokenless connect: a connect without a token (no Sec-WebSocket-Protocol) is "
        "refused with 401",
        f"ok    signed-in name: the message came from {user!r}, the token's name",
        f"ok    delete user: {user} deleted from pool ",
        f"skip  CSP header: {CSP_HEADER_NOT_REHEARSED} (skipped with --skip)",
        "ok    site bucket: bucket awsome-chat-site-",
    ):
        assert line in smoke
    assert smoke.splitlines()[-1] == "14 of 15 checks passed, 1 skipped"
    assert_destroyed(report, printed, moto)
