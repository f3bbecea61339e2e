"""Fixtures of the Terraform tests: checkov (Terraform and the Lambda zip: tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployment.terraform.workspace import REPO_ROOT
from tests.conftest import skip_or_fail

CHECKOV = REPO_ROOT / ".venv-checkov" / "bin" / "checkov"


@pytest.fixture(scope="session")
def checkov() -> Path:
    """checkov from its own virtualenv (``make checkov-venv``)."""
    if not CHECKOV.is_file():
        skip_or_fail(f"{CHECKOV} is missing: run `make checkov-venv`")
    return CHECKOV
