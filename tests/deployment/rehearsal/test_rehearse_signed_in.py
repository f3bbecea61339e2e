"""The rehearsal with sign-in (`auth = "cognito"`, issue #17), end to end in CloudFront mode,
the only one that takes sign-in, `make smoke` included (signed in).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from deployment.rehearsal import RehearsalOptions
from deployment.rehearsal.readback_steps import STEP_AUTHORIZER
from deployment.rehearsal.runner import (
    STEP_SMOKE,
)
from deployment.rehearsal.smoke_run import CSP_HEADER_NOT_REHEARSED
from deployment.terraform.applied import DEFAULT_REGION
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import AUTHORIZER_ZIP
from local_stack.moto_server import MotoServer
from tests.conftest import skip_or_fail
from tests.deployment.rehearsal.rehearsing import (
    assert_destroyed,
    run,
    step_lines,
)

# An apply and a destroy take minutes on a busy machine (CloudFront's destroy alone took 67 s
# here), more than pytest's default 300 s allows for.
pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.timeout(600)]


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
