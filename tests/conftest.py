"""Shared test helpers and the fixtures more than one test area uses.

Tests that need an outside tool (Terraform and its provider mirror, Chromium, checkov) skip
with a clear reason on a developer machine that lacks it, and fail in CI (``CI=true``), where
a silent skip would let a broken deployment land: ``skip_or_fail`` is that rule, and
``require_tool`` applies it to an executable on ``PATH``.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import settings

from deployment.terraform.tools import TerraformTool, find_provider_mirror
from scripts.build_lambda import build
from tests.fast_aws import one_botocore_loader, rollback_copies

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(message: str) -> NoReturn:
    """Skip the test saying ``message``; in CI, fail it instead."""
    if IN_CI:
        pytest.fail(f"CI requires it. {message}", pytrace=False)
    pytest.skip(message)


def require_tool(name: str, why: str) -> str:
    """Return the path of executable ``name``, or skip (fail in CI) saying ``why``."""
    path = shutil.which(name)
    if path is None:
        skip_or_fail(f"{name} is not installed: {why}")
    return path


@pytest.fixture(autouse=True, scope="session")
def fast_aws() -> Iterator[None]:
    """The SDK's files parsed once per process, moto's transactions copying only what they can
    change (tests/fast_aws.py: what each costs, and why the answers are the same)."""
    with one_botocore_loader(), rollback_copies():
        yield


@pytest.fixture(scope="session")
def terraform_tool() -> TerraformTool:
    """The terraform binary and the local mirror of the aws provider (skip, or fail in CI)."""
    binary = require_tool("terraform", "the Terraform tests and the rehearsal run terraform")
    mirror = find_provider_mirror()
    if mirror is None:
        skip_or_fail(
            "no local mirror of hashicorp/aws: set AWSOME_TF_PLUGIN_MIRROR to a directory "
            "made by `terraform providers mirror`"
        )
    return TerraformTool(binary=Path(binary), mirror=mirror)


@pytest.fixture(scope="session")
def lambda_zip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Lambda package built now from backend/, so tests deploy the current code."""
    return build(tmp_path_factory.mktemp("build") / "lambda.zip")


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's Chromium (skip, or fail in CI)."""
    return Path(require_tool("chromium", "the browser checks drive a real Chromium"))


# Hypothesis: ``default`` keeps the property tests inside `make test`'s time budget; ``soak``
# (HYPOTHESIS_PROFILE=soak, set by `make soak`) generates many more cases. No example database:
# the machine is shared and runs are meant to be repeatable from the seed Hypothesis prints.
settings.register_profile("default", max_examples=300, deadline=None, database=None)
settings.register_profile("soak", max_examples=5000, deadline=None, database=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
