"""Fixtures of the Terraform tests: the CLI, the provider mirror, checkov, a fresh Lambda zip."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployment.terraform.harness import REPO_ROOT, TerraformTool, find_provider_mirror
from scripts.build_lambda import build
from tests.conftest import IN_CI, require_tool

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


def _skip_or_fail(message: str) -> None:
    if IN_CI:
        pytest.fail(f"CI requires it. {message}", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def terraform_tool() -> TerraformTool:
    """The terraform binary and the local mirror of the aws provider (skip, or fail in CI)."""
    binary = require_tool("terraform", "the Terraform tests run the terraform CLI")
    mirror = find_provider_mirror()
    if mirror is None:
        _skip_or_fail(
            "no local mirror of hashicorp/aws: set AWSOME_TF_PLUGIN_MIRROR to a directory "
            "made by `terraform providers mirror`"
        )
    assert mirror is not None
    return TerraformTool(binary=Path(binary), mirror=mirror)


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov from its own virtualenv (``make checkov-venv``)."""
    if not CHECKOV.is_file():
        _skip_or_fail(f"{CHECKOV} is missing: run `make checkov-venv`")
    return CHECKOV


@pytest.fixture(scope="session")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lambda package built now from backend/, so the stack deploys the current code."""
    return build(tmp_path_factory.mktemp("build") / "lambda.zip")
