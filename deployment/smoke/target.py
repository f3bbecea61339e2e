"""What the smoke checks: the deployment as its Terraform outputs name it (terraform/outputs.tf)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from deployment.product import AuthMode
from deployment.terraform.workspace import TERRAFORM_DIR

# The outputs every deployment has, and the smoke needs.
OUTPUTS: Final = (
    "website_url",
    "websocket_url",
    "connections_endpoint",
    "table_name",
    "messages_table_name",
    "site_bucket",
    "region",
)
# Null unless sign-in is on: the pool with auth = "cognito"; the authorizer with either mode.
USER_POOL_OUTPUT: Final = "user_pool_id"
CLIENT_OUTPUT: Final = "user_pool_client_id"
AUTHORIZER_OUTPUT: Final = "authorizer_function_name"
# With sign-in on: how the authorizer names users (the smoke predicts the chat's names).
NAME_CLAIM_OUTPUT: Final = "auth_name_claim"
NAME_UNIQUE_OUTPUT: Final = "auth_name_unique"


class SmokeError(Exception):
    """The smoke cannot start: the outputs are missing or incomplete; the message says why."""


@dataclass(frozen=True)
class SmokeTarget:
    """Where the deployment is, as its Terraform outputs say."""

    website_url: str
    websocket_url: str
    connections_endpoint: str
    table_name: str
    messages_table_name: str
    site_bucket: str
    region: str
    auth: AuthMode = AuthMode.NONE
    user_pool_id: str | None = None
    user_pool_client_id: str | None = None
    name_claim: str = ""
    name_unique: bool = False

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> SmokeTarget:
        """The target named by ``outputs`` (name -> value, as ``terraform output -json`` has
        them, with or without its ``{"value": ...}`` wrapping)."""
        values = {
            name: value.get("value") if isinstance(value, dict) else value
            for name, value in outputs.items()
        }
        missing = [name for name in OUTPUTS if not values.get(name)]
        if missing:
            raise SmokeError(
                f"the Terraform outputs have no {', '.join(missing)}: run `make deploy` first "
                "(with this version of terraform/), or pass --outputs"
            )
        pool, client = values.get(USER_POOL_OUTPUT), values.get(CLIENT_OUTPUT)
        if pool and not client:
            raise SmokeError(
                f"the Terraform outputs name user pool {pool} but no {CLIENT_OUTPUT}: run "
                "`make deploy` with this version of terraform/"
            )
        auth = (
            AuthMode.COGNITO
            if pool
            else AuthMode.OIDC
            if values.get(AUTHORIZER_OUTPUT)
            else AuthMode.NONE
        )
        name_claim = values.get(NAME_CLAIM_OUTPUT)
        if auth is not AuthMode.NONE and not name_claim:
            raise SmokeError(
                f"the Terraform outputs have sign-in on but no {NAME_CLAIM_OUTPUT}: run "
                "`make deploy` with this version of terraform/"
            )
        return cls(
            **{name: str(values[name]) for name in OUTPUTS},
            name_claim=str(name_claim or ""),
            name_unique=values.get(NAME_UNIQUE_OUTPUT) in (True, "true"),
            auth=auth,
            user_pool_id=str(pool) if pool else None,
            user_pool_client_id=str(client) if client else None,
        )


def terraform_outputs(terraform_dir: Path = TERRAFORM_DIR, terraform: str = "terraform") -> Any:
    """``terraform output -json`` of the deployment in ``terraform_dir``."""
    try:
        result = subprocess.run(  # noqa: S603 - a fixed command line
            [terraform, f"-chdir={terraform_dir}", "output", "-json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except OSError as error:
        raise SmokeError(f"cannot run {terraform}: {error}") from error
    if result.returncode != 0:
        raise SmokeError(f"`terraform output` failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "{}")
