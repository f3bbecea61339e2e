"""`make smoke` run on the rehearsed deployment, as a deployer runs it after `make deploy`.

The smoke (deployment/smoke/) is a separate process, ``python -m deployment.smoke``, given the
deployment's own Terraform outputs with only what runs locally moved, as the rehearsal maps it:
the site's URL, the WebSocket URL and the ``@connections`` endpoint are the local gateway's.
Its AWS calls (DynamoDB, S3, Cognito) go to the emulator Terraform applied to through boto3's
``AWS_ENDPOINT_URL``, with dummy keys and none of the caller's ``AWS_*`` variables, so it can
never reach a real account. With ``auth = "cognito"`` it creates, signs in and deletes a user
of the applied pool, which the local gateway's authorizer then judges.

What it cannot check here is skipped with why: CloudFront's response headers (moto cannot
create a response headers policy; the provider override leaves it out, and the local gateway
serves the site without headers).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from deployment.rehearsal.report import Problem
from deployment.terraform.applied import AppliedDeployment
from local_stack.stack import Stack

SMOKE_AREA: Final = "make smoke"
REPOSITORY: Final = Path(__file__).resolve().parents[2]
SMOKE_TIMEOUT_S: Final = 300.0
CSP_HEADER_NOT_REHEARSED: Final = (
    "not rehearsed: moto cannot create CloudFront response headers policies (the "
    "rehearsal's provider override leaves terraform/website_cloudfront.tf's out), and the "
    "local gateway serves the site without them (tests/terraform/test_static.py holds the "
    "policy to the page's <meta> one plus frame-ancestors)"
)
_DUMMY_KEYS: Final = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def smoke_outputs(deployment: AppliedDeployment, running: Stack) -> dict[str, object]:
    """The deployment's outputs, its endpoints moved to the local gateway."""
    return {
        **deployment.outputs,
        "website_url": running.page_url,
        "websocket_url": running.ws_url,
        "connections_endpoint": running.management_endpoint,
    }


def smoke_environment(
    endpoint: str, region: str, base: Mapping[str, str] | None = None
) -> dict[str, str]:
    """``base`` (default: this process's) without any ``AWS_*`` or smoke variable, with every
    AWS call sent to ``endpoint`` under dummy keys."""
    from deployment.smoke.sign_in import ID_TOKEN_ENV  # noqa: PLC0415 - smoke imports rehearsal

    kept = {
        name: value
        for name, value in (os.environ if base is None else base).items()
        if not name.startswith("AWS_") and name != ID_TOKEN_ENV
    }
    return {**kept, **_DUMMY_KEYS, "AWS_ENDPOINT_URL": endpoint, "AWS_DEFAULT_REGION": region}


def run_smoke(
    deployment: AppliedDeployment, running: Stack, work: Path
) -> tuple[list[str], list[Problem]]:
    """Run the smoke on the deployment as the local gateway serves it: its lines, and a
    problem per check that failed (or its error, when it could not start)."""
    from deployment.smoke.cli import CSP_HEADER  # noqa: PLC0415 - smoke imports rehearsal

    outputs = work / "smoke-outputs.json"
    outputs.write_text(json.dumps(smoke_outputs(deployment, running)), encoding="utf-8")
    command = [
        sys.executable,
        "-m",
        "deployment.smoke",
        "--outputs",
        str(outputs),
        "--page-wait",
        "5",
    ]
    if deployment.variables.get("hosting_mode", "cloudfront") == "cloudfront":
        command += ["--skip", f"{CSP_HEADER}={CSP_HEADER_NOT_REHEARSED}"]
    try:
        result = subprocess.run(  # noqa: S603 - this interpreter, a fixed module
            command,
            cwd=REPOSITORY,
            env=smoke_environment(deployment.endpoint, deployment.region),
            capture_output=True,
            text=True,
            timeout=SMOKE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        return [], [Problem(SMOKE_AREA, f"the smoke ran longer than {error.timeout:.0f} s")]
    return read_result(result.returncode, result.stdout, result.stderr)


def read_result(status: int, stdout: str, stderr: str) -> tuple[list[str], list[Problem]]:
    """The smoke's lines, and a problem per ``FAIL`` line when it exited non-zero (its error
    output when it failed without one: it could not start)."""
    lines = stdout.splitlines()
    if status == 0:
        return lines, []
    failed = [line.partition(" ")[2].strip() for line in lines if line.startswith("FAIL")]
    problems = [Problem(SMOKE_AREA, f"the smoke's check failed: {line}") for line in failed]
    return lines, problems or [
        Problem(SMOKE_AREA, f"the smoke exited with {status}: {stderr.strip()[-2000:]}")
    ]
