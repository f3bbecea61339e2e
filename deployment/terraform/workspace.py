"""A temporary copy of the repository's deployment, laid out like the repository, initialised.

The configuration's default paths (``../build/lambda.zip``, ``../frontend``) resolve exactly
as they do for ``make deploy``::

    <tmp>/terraform/                  a copy of terraform/ (no .terraform/, state or lock file)
    <tmp>/terraform/zz_emulator_override.tf   provider endpoints -> the emulator (test-only)
    <tmp>/terraform/zz_harness.auto.tfvars.json   the caller's variables
    <tmp>/frontend/                   a copy of the site
    <tmp>/build/lambda.zip            a copy of the Lambda package
    <tmp>/build/authorizer.zip        a copy of the authorizer's package, when given
    <tmp>/terraformrc                 CLI config: the aws provider from the filesystem mirror only

The repository's ``terraform/`` folder is never written to.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Final, Self

from deployment.terraform.cli import Terraform
from deployment.terraform.emulator import emulator_override
from deployment.terraform.errors import HarnessError
from deployment.terraform.tools import TerraformTool, cli_config_text

REPO_ROOT: Final = Path(__file__).resolve().parents[2]
TERRAFORM_DIR: Final = REPO_ROOT / "terraform"
SITE_DIR: Final = REPO_ROOT / "frontend"
LAMBDA_ZIP: Final = REPO_ROOT / "build" / "lambda.zip"
AUTHORIZER_ZIP: Final = REPO_ROOT / "build" / "authorizer.zip"

OVERRIDE_FILE: Final = "zz_emulator_override.tf"
VARIABLES_FILE: Final = "zz_harness.auto.tfvars.json"

# Copies skip Terraform's working files so a user's earlier `make deploy` (state, providers,
# lock file) never leaks into a run, and a stale override never points somewhere else.
_IGNORED_IN_COPY: Final = shutil.ignore_patterns(
    ".terraform",
    ".terraform.lock.hcl",
    "*.tfstate",
    "*.tfstate.*",
    "*.tfplan",
    "override.tf",
    "*_override.tf",
    "*.auto.tfvars.json",
    "terraform.tfvars",
)


@dataclass(frozen=True)
class DeploymentSources:
    """What a run deploys: the Terraform configuration, the site and the Lambda zip."""

    terraform_dir: Path = TERRAFORM_DIR
    site_dir: Path = SITE_DIR
    # None: no package to lay out (a configuration without the Lambda, or `validate` only).
    lambda_zip: Path | None = LAMBDA_ZIP
    # The authorizer's package (scripts/build_authorizer.py); needed only with auth on, so
    # None by default: a deployment with auth = "none" never builds it.
    authorizer_zip: Path | None = None


def prepare_workdir(root: Path, sources: DeploymentSources) -> Path:
    """Lay out ``sources`` under ``root`` like the repository; return the Terraform directory."""
    if not (sources.terraform_dir / "versions.tf").is_file():
        raise HarnessError(f"{sources.terraform_dir} is not the Terraform configuration")
    workdir = root / "terraform"
    shutil.copytree(sources.terraform_dir, workdir, ignore=_IGNORED_IN_COPY)
    if sources.site_dir.is_dir():
        shutil.copytree(sources.site_dir, root / "frontend")
    packages = {"lambda.zip": sources.lambda_zip, "authorizer.zip": sources.authorizer_zip}
    for name, package in packages.items():
        if package is None:
            continue
        if not package.is_file():
            raise HarnessError(f"{package} does not exist: run `make build` first")
        (root / "build").mkdir(exist_ok=True)
        shutil.copy2(package, root / "build" / name)
    return workdir


class Workspace:
    """A temporary copy of the deployment with its own CLI config, initialised.

    With ``endpoint``, the copy holds the emulator override; with ``variables``, a tfvars file.
    Use it as a context manager (the directory is removed on exit) or call ``remove()``.
    """

    def __init__(
        self,
        sources: DeploymentSources | None = None,
        *,
        tool: TerraformTool | None = None,
        endpoint: str | None = None,
        variables: Mapping[str, Any] | None = None,
    ) -> None:
        tool = tool or TerraformTool.locate()
        self.root = Path(tempfile.mkdtemp(prefix="awsome-tf-"))
        try:
            workdir = prepare_workdir(self.root, sources or DeploymentSources())
            cli_config = self.root / "terraformrc"
            cli_config.write_text(cli_config_text(tool.mirror), encoding="utf-8")
            if endpoint is not None:
                configuration = "\n".join(tf.read_text() for tf in sorted(workdir.glob("*.tf")))
                (workdir / OVERRIDE_FILE).write_text(
                    emulator_override(endpoint, configuration), encoding="utf-8"
                )
            if variables:
                (workdir / VARIABLES_FILE).write_text(json.dumps(dict(variables)), encoding="utf-8")
            self.terraform = Terraform(tool, workdir, cli_config)
            self.terraform.init()
        except BaseException:
            self.remove()
            raise

    def remove(self) -> None:
        """Delete the temporary directory (state included)."""
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.remove()
