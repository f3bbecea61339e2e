"""Fixtures of the rehearsal tests: Terraform and its mirror, a fresh zip, the uploaded site."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployment.rehearsal.readback import SiteObject
from deployment.terraform.harness import TerraformTool, find_provider_mirror
from local_stack.site import FRONTEND_DIR, Site, site_variables
from scripts.build_lambda import build
from tests.conftest import IN_CI, require_tool

API_ID = "abc123"
REGION = "eu-west-1"
STAGE = "prod"
HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
WEBSOCKET_URL = f"wss://{HOST}/{STAGE}"


@pytest.fixture(scope="session")
def terraform_tool() -> TerraformTool:
    """The terraform binary and the local mirror of the aws provider (skip, or fail in CI)."""
    binary = require_tool("terraform", "the rehearsal applies terraform/ with the terraform CLI")
    mirror = find_provider_mirror()
    if mirror is None:
        message = (
            "no local mirror of hashicorp/aws: set AWSOME_TF_PLUGIN_MIRROR to a directory made "
            "by `terraform providers mirror`"
        )
        if IN_CI:
            pytest.fail(f"CI requires it. {message}", pytrace=False)
        pytest.skip(message)
    return TerraformTool(binary=Path(binary), mirror=mirror)


@pytest.fixture(scope="session")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lambda package built now from backend/, so the rehearsal deploys the current code."""
    return build(tmp_path_factory.mktemp("build") / "lambda.zip")


def uploaded_site(websocket_url: str = WEBSOCKET_URL) -> dict[str, SiteObject]:
    """frontend/ as Terraform uploads it for ``websocket_url`` (rendered, typed)."""
    site = Site(FRONTEND_DIR, site_variables(websocket_url, 2000))
    return {
        str(path): SiteObject(key=str(path), body=file.body, content_type=file.content_type)
        for path, file in site.render_all().items()
    }
