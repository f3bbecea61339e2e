"""Sign-in settings refused at plan time, before anything is created.

Plans run against moto (the preconditions need a configured provider) and apply nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deployment.terraform.cli import Terraform
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import DeploymentSources, Workspace
from local_stack.moto_server import MotoServer
from tests.terraform.plans import plan
from tests.terraform.sign_in import AUDIENCE, COGNITO_ISSUER, ISSUER

pytestmark = pytest.mark.terraform

BAD_AUTH_VARIABLES = {
    "auth": ("okta", 'auth must be "none", "cognito" or "oidc"'),
    "oidc_issuer": ("http://login.example.com", "oidc_issuer must be an https:// URL"),
    "oidc_audience": (" ", "oidc_audience must be the page's client id"),
    "oidc_jwks_url": ("ftp://keys", "oidc_jwks_url must be an https:// URL or null"),
    "oidc_authorization_endpoint": (
        "http://login.example.com/authorize",
        "oidc_authorization_endpoint must be an https:// URL",
    ),
    "oidc_token_endpoint": (
        "https://login.example.com/token#x",
        "oidc_token_endpoint must be an https:// URL",
    ),
    "authorizer_zip_path": ("build/authorizer.tar", "authorizer_zip_path must name a .zip file"),
    "oidc_name_claim": ("given name", "oidc_name_claim must be the name of an ID token claim"),
    "cognito_user_pool_tier": ("FREE", 'cognito_user_pool_tier must be "LITE"'),
}


def test_bad_sign_in_variables_are_refused(plan_workspace: Terraform) -> None:
    """Each sign-in variable rejects a bad value at plan time with its own message."""
    errors = plan(plan_workspace, {k: v for k, (v, _) in BAD_AUTH_VARIABLES.items()}, ok_codes=(1,))
    missing = [name for name, (_, msg) in BAD_AUTH_VARIABLES.items() if msg not in errors]
    assert missing == [], f"no validation error for {missing}:\n{errors}"
    assert errors.count("Invalid value for variable") == len(BAD_AUTH_VARIABLES)


@pytest.mark.parametrize(
    "variables",
    [
        {"auth": "oidc"},
        {"auth": "oidc", "oidc_issuer": ISSUER},
        {"auth": "oidc", "oidc_audience": AUDIENCE},
    ],
)
def test_oidc_without_issuer_or_audience_is_refused(
    plan_workspace: Terraform, variables: dict[str, Any]
) -> None:
    """auth = "oidc" needs both the issuer and the audience; the plan says so."""
    errors = plan(plan_workspace, variables, ok_codes=(1,))
    assert 'auth = "oidc" needs oidc_issuer (the tokens\' iss) and oidc_audience' in errors


@pytest.mark.parametrize(
    "issuer", [COGNITO_ISSUER, "https://issuer-cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"]
)
def test_a_cognito_pool_as_oidc_issuer_needs_its_token_endpoint(
    plan_workspace: Terraform, issuer: str
) -> None:
    """Issue 26: a pool's token endpoint is on its domain, not the issuer's host, so the CSP
    would block the page's discovered one: the plan asks for oidc_token_endpoint."""
    variables = {"auth": "oidc", "oidc_issuer": issuer, "oidc_audience": AUDIENCE}
    errors = plan(plan_workspace, variables, ok_codes=(1,))
    assert "oidc_issuer is a Cognito user pool" in errors
    assert "set oidc_token_endpoint" in errors


def test_a_missing_authorizer_zip_is_reported_with_the_fix(
    terraform_tool: TerraformTool, lambda_zip: Path
) -> None:
    """With sign-in on and no build/authorizer.zip, the plan says to run `make build`."""
    with (
        MotoServer(quiet=True) as moto,
        Workspace(
            DeploymentSources(lambda_zip=lambda_zip),
            tool=terraform_tool,
            endpoint=moto.endpoint,
            variables={"auth": "cognito"},
        ) as copy,
    ):
        result = copy.terraform.run("plan", "-no-color", "-input=false", ok_codes=(1,))
    assert "authorizer.zip does not exist: run `make build` first" in " ".join(
        result.stderr.split()
    )
