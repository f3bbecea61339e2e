"""What a rehearsal runs with: the hosting mode, the sources, the tools (``RehearsalOptions``)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from deployment.rehearsal.report import RehearsalError
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import AUTHORIZER_ZIP, LAMBDA_ZIP, SITE_DIR, TERRAFORM_DIR
from local_stack.moto_server import MotoServer

HOSTING_MODES: Final = ("cloudfront", "s3-website")
CHROMIUM_ENV: Final = "AWSOME_CHROMIUM"


@dataclass(frozen=True)
class RehearsalOptions:
    """What to rehearse, and with what."""

    hosting_mode: str = "cloudfront"
    """``cloudfront`` (the default of terraform/) or ``s3-website``."""
    terraform_dir: Path = TERRAFORM_DIR
    """The configuration to apply (copied first: the directory is never written to)."""
    site_dir: Path = SITE_DIR
    lambda_zip: Path = LAMBDA_ZIP
    """The package Terraform uploads (``make build``)."""
    authorizer_zip: Path = AUTHORIZER_ZIP
    """The authorizer's package Terraform uploads with ``auth`` on (``make build``)."""
    variables: Mapping[str, Any] = field(default_factory=dict)
    """More Terraform variables, over ``hosting_mode``."""
    browser: bool = True
    """Run the browser check (needs Chromium)."""
    chromium: Path | None = None
    """Chromium's executable; default ``$AWSOME_CHROMIUM``, else ``chromium`` on PATH."""
    moto: MotoServer | None = None
    """A running emulator to apply to (left running); default: one started for the run."""
    tool: TerraformTool | None = None
    """Terraform and its provider mirror; default: located as deployment.terraform.tools does."""

    def __post_init__(self) -> None:
        if self.hosting_mode not in HOSTING_MODES:
            raise RehearsalError(
                f"hosting mode {self.hosting_mode!r} is not one of {', '.join(HOSTING_MODES)}"
            )


def find_chromium(configured: Path | None) -> Path:
    """Chromium's executable, or ``RehearsalError`` saying how to provide it."""
    candidate = configured or (
        Path(os.environ[CHROMIUM_ENV]) if os.environ.get(CHROMIUM_ENV) else None
    )
    if candidate is None:
        found = shutil.which("chromium")
        candidate = Path(found) if found else None
    if candidate is None or not candidate.is_file():
        raise RehearsalError(
            "chromium not found for the browser check: install it (apt-get install chromium), "
            f"set {CHROMIUM_ENV}, or pass --no-browser"
        )
    return candidate
