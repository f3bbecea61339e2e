"""``Terraform.apply``'s one defined reaction to a failed apply: a CloudFront distribution
orphaned by the provider's own retry is imported, and the apply run again."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from deployment.terraform.cli import Terraform
from deployment.terraform.errors import TerraformError
from deployment.terraform.tools import TerraformTool

# The end of what `terraform apply` printed when it happened (make test, against moto).
ORPHANED = """aws_kms_key.alarms: Creation complete after 12s [id=6b5d477d]

Error: creating CloudFront Distribution: operation error CloudFront: CreateDistributionWithTags,
https response error StatusCode: 409, RequestID: o06niPk8, DistributionAlreadyExists: The caller
reference that you are using to create a distribution is associated with another distribution.
Already exists: W4B5SLBPPC45T

  with aws_cloudfront_distribution.site[0],
  on website_cloudfront.tf line 25, in resource "aws_cloudfront_distribution" "site":
  25: resource "aws_cloudfront_distribution" "site" {
"""


class Scripted(Terraform):
    """Runs nothing: records each command and fails the first apply with ``first_apply``."""

    def __init__(self, first_apply: str) -> None:
        super().__init__(TerraformTool(Path("terraform"), Path("/mirror")), Path(), Path())
        self.commands: list[tuple[str, ...]] = []
        self.first_apply = first_apply

    def run(self, *args: str, ok_codes: Sequence[int] = (0,), timeout: float = 0) -> Any:
        self.commands.append(args)
        if args[0] == "apply" and len(self.commands) == 1:
            raise TerraformError(["terraform", *args], 1, self.first_apply)
        return None


def test_a_distribution_orphaned_by_a_retry_is_imported_and_applied_again() -> None:
    """The distribution the error names is imported at the address it names; then apply."""
    terraform = Scripted(ORPHANED)
    terraform.apply()
    assert [
        tuple(a for a in command if not a.startswith("-")) for command in terraform.commands
    ] == [
        ("apply",),
        ("import", "aws_cloudfront_distribution.site[0]", "W4B5SLBPPC45T"),
        ("apply",),
    ]


def test_any_other_failed_apply_is_raised_as_it_is() -> None:
    """Nothing is imported or retried for an error of another kind."""
    terraform = Scripted("Error: creating DynamoDB Table: ResourceInUseException")
    with pytest.raises(TerraformError, match="ResourceInUseException"):
        terraform.apply()
    assert [command[0] for command in terraform.commands] == ["apply"]
