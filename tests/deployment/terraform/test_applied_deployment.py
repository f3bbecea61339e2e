"""``apply_deployment``, the harness entry point the rehearsal uses, cleans up after a failure.

A one-table configuration stands in for the deployment: the clean-up is the harness's, and
the real deployment's apply and destroy are proven by the round trip.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from deployment.terraform.applied import AppliedDeployment, apply_deployment
from deployment.terraform.emulator import emulator_inventory
from deployment.terraform.errors import TerraformError
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import DeploymentSources
from local_stack.moto_server import MotoServer

pytestmark = pytest.mark.terraform

ONE_TABLE = """
terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "region" {
  type = string
}

provider "aws" {
  region = var.region
}

resource "aws_dynamodb_table" "probe" {
  name         = "harness-probe"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "id"

  attribute {
    name = "id"
    type = "S"
  }
}

output "table_name" {
  value = aws_dynamodb_table.probe.name
}
"""


@pytest.fixture
def one_table(tmp_path: Path) -> DeploymentSources:
    """A configuration with a single DynamoDB table, laid out like the repository."""
    terraform_dir = tmp_path / "terraform"
    terraform_dir.mkdir()
    (terraform_dir / "versions.tf").write_text(ONE_TABLE, encoding="utf-8")
    return DeploymentSources(
        terraform_dir=terraform_dir, site_dir=tmp_path / "no-site", lambda_zip=None
    )


def test_a_failing_body_still_destroys_the_deployment(
    terraform_tool: TerraformTool, one_table: DeploymentSources
) -> None:
    """An exception inside the ``with`` propagates, after destroy and workspace removal."""
    with MotoServer(quiet=True) as moto:
        with (
            pytest.raises(RuntimeError, match="the body failed"),
            apply_deployment(
                endpoint=moto.endpoint, sources=one_table, tool=terraform_tool
            ) as deployment,
        ):
            workdir = deployment.workdir
            assert deployment.outputs == {"table_name": "harness-probe"}
            inventory = emulator_inventory(moto.endpoint, deployment.region)
            assert inventory["dynamodb tables"] == ["harness-probe"]
            raise RuntimeError("the body failed")
        assert deployment.destroyed
        left = emulator_inventory(moto.endpoint, deployment.region)
        assert left == {kind: [] for kind in left}
    assert not workdir.exists()


class _FlakyTerraform:
    """A Terraform whose destroys fail ``failures`` times first."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.destroys = 0

    def destroy(self) -> None:
        self.destroys += 1
        if self.destroys <= self.failures:
            raise TerraformError(["terraform", "destroy"], 1, "Error: not found")


def _deployment(terraform: _FlakyTerraform) -> AppliedDeployment:
    workspace = SimpleNamespace(terraform=terraform)
    return AppliedDeployment({}, "http://127.0.0.1:1", "eu-west-1", {}, workspace)  # type: ignore[arg-type]


@pytest.mark.parametrize(("failures", "destroys"), [(0, 1), (1, 2)])
def test_a_failed_destroy_is_run_once_more(failures: int, destroys: int) -> None:
    """A destroy that fails (a delete the emulator had done, answered "not found" on the
    provider's retry) is run a second time; later calls do nothing."""
    terraform = _FlakyTerraform(failures)
    deployment = _deployment(terraform)
    deployment.destroy()
    deployment.destroy()
    assert (terraform.destroys, deployment.destroyed) == (destroys, True)


def test_a_destroy_that_fails_twice_raises() -> None:
    """The second failure is the deployment's problem: it is raised, not retried again."""
    terraform = _FlakyTerraform(2)
    deployment = _deployment(terraform)
    with pytest.raises(TerraformError):
        deployment.destroy()
    assert (terraform.destroys, deployment.destroyed) == (2, False)
