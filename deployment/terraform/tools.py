"""Finding Terraform and the aws provider, and the CLI config and environment they run with.

Nothing is downloaded: the provider comes from a filesystem mirror only, and every ``AWS_*``
and ``TF_*`` variable of the caller is dropped, so no run can reach a real account.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from deployment.terraform.errors import HarnessError

PROVIDER_ADDRESS: Final = "registry.terraform.io/hashicorp/aws"
# Overrides, checked first: the terraform binary and the provider mirror directory.
TERRAFORM_ENV: Final = "AWSOME_TERRAFORM"
MIRROR_ENV: Final = "AWSOME_TF_PLUGIN_MIRROR"
# Where provider mirrors usually live (Terraform's own implied local mirror directories, then
# the system-wide ones used by images that bake providers in).
MIRROR_CANDIDATES: Final = (
    Path("/opt/tf-plugins"),
    Path.home() / ".terraform.d" / "plugins",
    Path.home() / ".local" / "share" / "terraform" / "plugins",
    Path("/usr/local/share/terraform/plugins"),
    Path("/usr/share/terraform/plugins"),
)


def find_terraform() -> Path | None:
    """The terraform binary: ``$AWSOME_TERRAFORM``, else ``terraform`` on ``PATH``."""
    override = os.environ.get(TERRAFORM_ENV)
    if override:
        return Path(override) if Path(override).is_file() else None
    found = shutil.which("terraform")
    return None if found is None else Path(found)


def _mirror_has_aws(directory: Path) -> bool:
    return (directory / PROVIDER_ADDRESS).is_dir() and any((directory / PROVIDER_ADDRESS).iterdir())


def find_provider_mirror() -> Path | None:
    """A filesystem mirror with ``hashicorp/aws``: ``$AWSOME_TF_PLUGIN_MIRROR`` or a usual place."""
    override = os.environ.get(MIRROR_ENV)
    if override:
        return Path(override) if _mirror_has_aws(Path(override)) else None
    return next((path for path in MIRROR_CANDIDATES if _mirror_has_aws(path)), None)


@dataclass(frozen=True)
class TerraformTool:
    """A terraform binary and the provider mirror it installs from."""

    binary: Path
    mirror: Path

    @classmethod
    def locate(cls) -> TerraformTool:
        """Find both, or raise ``HarnessError`` saying which is missing and how to provide it."""
        binary = find_terraform()
        if binary is None:
            raise HarnessError(
                f"terraform not found: install Terraform >= 1.5 or set {TERRAFORM_ENV} to its path"
            )
        mirror = find_provider_mirror()
        if mirror is None:
            places = ", ".join(str(p) for p in MIRROR_CANDIDATES)
            raise HarnessError(
                f"no provider mirror with {PROVIDER_ADDRESS} found (looked in {places}); "
                f"set {MIRROR_ENV} to a directory made by `terraform providers mirror`"
            )
        return cls(binary=binary, mirror=mirror)


def cli_config_text(mirror: Path) -> str:
    """A Terraform CLI config that installs the aws provider from ``mirror`` and nothing else."""
    return (
        "provider_installation {\n"
        "  filesystem_mirror {\n"
        f"    path    = {json.dumps(str(mirror))}\n"
        f"    include = [{json.dumps(PROVIDER_ADDRESS)}]\n"
        "  }\n"
        "}\n"
    )


def terraform_environment(cli_config: Path) -> dict[str, str]:
    """The environment for every terraform command: isolated config, no AWS credentials."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AWS_", "TF_")) and key != "CHECKPOINT_DISABLE"
    }
    env.update(
        TF_CLI_CONFIG_FILE=str(cli_config),
        TF_IN_AUTOMATION="1",
        TF_INPUT="0",
        CHECKPOINT_DISABLE="1",
        # The provider must not look for an instance role or a shared profile.
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
    )
    return env
