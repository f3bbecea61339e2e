"""Sign-in settings the plan tests of the sign-in modes share, and what Terraform tells the page
(``terraform console`` on its template variables, known before any apply)."""

from __future__ import annotations

import json
import subprocess
from typing import Any

from deployment.terraform.cli import Terraform
from deployment.terraform.workspace import VARIABLES_FILE

ISSUER = "https://login.example.com/tenant/"
AUDIENCE = "page-client-id"
COGNITO_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"


def console(tf: Terraform, variables: dict[str, Any], expression: str) -> Any:
    """``expression`` evaluated by ``terraform console`` with ``variables``, as JSON."""
    (tf.workdir / VARIABLES_FILE).write_text(json.dumps(variables), encoding="utf-8")
    result = subprocess.run(
        [str(tf.tool.binary), "console", "-no-color"],
        input=f"jsonencode({expression})\n",
        cwd=tf.workdir,
        env=tf.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(json.loads(result.stdout))


PAGE_SIGN_IN_VARIABLES = (
    "auth_mode",
    "auth_client_id",
    "auth_issuer",
    "auth_authorization_endpoint",
    "auth_token_endpoint",
    "auth_offline_access",
    "auth_origin",
)


def page_sign_in(tf: Terraform, variables: dict[str, Any]) -> dict[str, str]:
    """The sign-in template variables Terraform gives the page (known before any apply)."""
    names = ", ".join(f'"{name}"' for name in PAGE_SIGN_IN_VARIABLES)
    found: dict[str, str] = console(
        tf, variables, f"{{ for k in [{names}] : k => local.template_vars[k] }}"
    )
    return found
