"""The rehearsal itself: terraform/ applied to moto, the chat run on it, destroyed.

The real configuration runs once, end to end with the browser, as `make rehearse
--hosting-mode s3-website` runs it: the quick mode (CloudFront's destroy alone waits 45 s on
the provider), `make smoke` included. Its steps between apply and destroy on the CloudFront
mode run on test_roundtrip.py's deployment, and with sign-in on test_roundtrip_auth.py's. That
a rehearsal which finds problems still destroys what it applied is proven on a configuration of
one bucket (no API), quick to apply; broken configurations on test_roundtrip.py's.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from deployment.rehearsal import RehearsalOptions
from deployment.rehearsal.api_checks import API_AREA
from deployment.rehearsal.runner import (
    STEP_SMOKE,
)
from deployment.terraform.applied import DEFAULT_REGION
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import TERRAFORM_DIR
from local_stack.moto_server import MotoServer
from tests.deployment.rehearsal.rehearsing import (
    assert_chat_skipped,
    assert_destroyed,
    run,
    step_lines,
)

# An apply and a destroy take minutes on a busy machine (CloudFront's destroy alone took 67 s
# here), more than pytest's default 300 s allows for.
pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.mark.browser
def test_the_applied_deployment_chats_end_to_end(
    terraform_tool: TerraformTool, lambda_zip: Path, moto: MotoServer, chromium: Path
) -> None:
    """As `make rehearse`: every step passes on what Terraform created, `make smoke` included,
    then it is destroyed."""
    report, printed = run(
        RehearsalOptions(
            hosting_mode="s3-website",
            lambda_zip=lambda_zip,
            tool=terraform_tool,
            moto=moto,
            chromium=chromium,
        )
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
    assert (
        "tables awsome-chat-connections and awsome-chat-messages in the emulator Terraform "
        "applied to"
    ) in lines
    assert "alice's page shows bob's message" in lines
    smoke = step_lines(report, STEP_SMOKE)
    assert "ok    join/history: join answered members (alice, bob) and history holding " in smoke
    assert_destroyed(report, printed, moto)


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
