"""Fixtures of the Terraform tests: checkov and a workspace to plan in (Terraform and the Lambda
zip: tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deployment.terraform.cli import Terraform
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import REPO_ROOT, DeploymentSources, Workspace
from local_stack.moto_server import MotoServer
from tests.conftest import skip_or_fail

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov from its own virtualenv (``make checkov-venv``)."""
    if not CHECKOV.is_file():
        skip_or_fail(f"{CHECKOV} is missing: run `make checkov-venv`")
    return CHECKOV


@pytest.fixture(scope="module")
def plan_workspace(
    terraform_tool: TerraformTool, lambda_zip: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Terraform]:
    """A copy of terraform/ on moto with both packages laid out (the authorizer's a stand-in:
    a plan only hashes it), for ``tests.terraform.plans``; each test writes its own variables."""
    authorizer_zip = tmp_path_factory.mktemp("authorizer") / "authorizer.zip"
    authorizer_zip.write_bytes(lambda_zip.read_bytes())
    sources = DeploymentSources(lambda_zip=lambda_zip, authorizer_zip=authorizer_zip)
    with (
        MotoServer(quiet=True) as moto,
        Workspace(sources, tool=terraform_tool, endpoint=moto.endpoint) as copy,
    ):
        yield copy.terraform
