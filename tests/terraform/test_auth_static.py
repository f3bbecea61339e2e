"""Sign-in settings refused or planned before anything is created, and no token in access logs.

Plans run against moto (the preconditions need a configured provider) and apply nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deployment.terraform.cli import Terraform
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import (
    TERRAFORM_DIR,
    VARIABLES_FILE,
    DeploymentSources,
    Workspace,
)
from local_stack.moto_server import MotoServer

pytestmark = pytest.mark.terraform

ISSUER = "https://login.example.com/tenant/"
AUDIENCE = "page-client-id"


@pytest.fixture(scope="module")
def workspace(
    terraform_tool: TerraformTool, lambda_zip: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Terraform]:
    """A copy of terraform/ on moto with both packages laid out (the authorizer's a stand-in:
    a plan only hashes it)."""
    authorizer_zip = tmp_path_factory.mktemp("authorizer") / "authorizer.zip"
    authorizer_zip.write_bytes(lambda_zip.read_bytes())
    sources = DeploymentSources(lambda_zip=lambda_zip, authorizer_zip=authorizer_zip)
    with (
        MotoServer(quiet=True) as moto,
        Workspace(sources, tool=terraform_tool, endpoint=moto.endpoint) as copy,
    ):
        yield copy.terraform


def plan(tf: Terraform, variables: dict[str, Any], ok_codes: tuple[int, ...]) -> str:
    """``terraform plan`` with ``variables``; its error output, white space collapsed."""
    (tf.workdir / VARIABLES_FILE).write_text(json.dumps(variables), encoding="utf-8")
    result = tf.run("plan", "-no-color", "-input=false", "-out=auth.tfplan", ok_codes=ok_codes)
    return " ".join(result.stderr.split())


def planned_resource(tf: Terraform, address: str) -> dict[str, Any]:
    """The planned values of ``address`` in the last saved plan."""
    shown = json.loads(tf.run("show", "-json", "-no-color", "auth.tfplan").stdout)
    resources = shown["planned_values"]["root_module"]["resources"]
    (found,) = [r for r in resources if r["address"] == address]
    values: dict[str, Any] = found["values"]
    return values


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
}


def test_bad_sign_in_variables_are_refused(workspace: Terraform) -> None:
    """Each sign-in variable rejects a bad value at plan time with its own message."""
    errors = plan(workspace, {k: v for k, (v, _) in BAD_AUTH_VARIABLES.items()}, ok_codes=(1,))
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
    workspace: Terraform, variables: dict[str, Any]
) -> None:
    """auth = "oidc" needs both the issuer and the audience; the plan says so."""
    errors = plan(workspace, variables, ok_codes=(1,))
    assert 'auth = "oidc" needs oidc_issuer (the tokens\' iss) and oidc_audience' in errors


def test_oidc_plans_the_authorizer_for_the_given_issuer(workspace: Terraform) -> None:
    """With an issuer and an audience: no user pool, an API authorizer, and the authorizer
    function told the issuer and audience and no JWKS URL (it uses discovery). (The chat's
    AUTH_MODE is not in the plan's known values: its environment map has unknown entries; the
    cognito round trip reads it after apply.)"""
    plan(workspace, {"auth": "oidc", "oidc_issuer": ISSUER, "oidc_audience": AUDIENCE}, (0, 2))
    authorizer = planned_resource(workspace, "aws_lambda_function.authorizer[0]")
    assert authorizer["environment"] == [
        {
            "variables": {
                "AUTH_ISSUER": ISSUER,
                "AUTH_AUDIENCE": AUDIENCE,
                "AUTH_ALGORITHMS": "RS256",
            }
        }
    ]
    shown = json.loads(workspace.run("show", "-json", "-no-color", "auth.tfplan").stdout)
    addresses = {r["address"] for r in shown["planned_values"]["root_module"]["resources"]}
    assert not any(a.startswith("aws_cognito") for a in addresses)
    assert "aws_apigatewayv2_authorizer.connect[0]" in addresses


def test_an_oidc_jwks_url_is_passed_on(workspace: Terraform) -> None:
    """oidc_jwks_url, when set, becomes the authorizer's AUTH_JWKS_URL."""
    jwks = "https://login.example.com/keys"
    variables = {
        "auth": "oidc",
        "oidc_issuer": ISSUER,
        "oidc_audience": AUDIENCE,
        "oidc_jwks_url": jwks,
    }
    plan(workspace, variables, (0, 2))
    authorizer = planned_resource(workspace, "aws_lambda_function.authorizer[0]")
    assert authorizer["environment"][0]["variables"]["AUTH_JWKS_URL"] == jwks


def test_auth_none_creates_no_sign_in_resource(workspace: Terraform) -> None:
    """The default plans no user pool, no authorizer and nothing else of sign-in."""
    plan(workspace, {}, (0, 2))
    shown = json.loads(workspace.run("show", "-json", "-no-color", "auth.tfplan").stdout)
    addresses = {r["address"] for r in shown["planned_values"]["root_module"]["resources"]}
    assert {a for a in addresses if "cognito" in a or "authorizer" in a} == set()


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


def test_access_logs_capture_no_header_and_no_token() -> None:
    """The stage's access-log format names only $context variables that hold no request
    header, query string or authorizer output: the token travels in Sec-WebSocket-Protocol."""
    text = (TERRAFORM_DIR / "apigateway.tf").read_text(encoding="utf-8")
    block = re.search(r"format = jsonencode\(\{(.*?)\}\)", text, re.S)
    assert block is not None
    values = re.findall(r'=\s*"([^"]*)"', block.group(1))
    assert values
    assert all(v.startswith("$context.") for v in values), values
    forbidden = ("header", "querystring", "authorizer", "token", "protocol")
    assert [v for v in values if any(word in v.lower() for word in forbidden)] == []


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


def test_oidc_page_variables_default_to_discovery(workspace: Terraform) -> None:
    """Without endpoints the page is told to use discovery (empty endpoints); connect-src
    admits the issuer's origin; no offline_access unless asked."""
    variables = {"auth": "oidc", "oidc_issuer": ISSUER, "oidc_audience": AUDIENCE}
    assert page_sign_in(workspace, variables) == {
        "auth_mode": "oidc",
        "auth_client_id": AUDIENCE,
        "auth_issuer": ISSUER,
        "auth_authorization_endpoint": "",
        "auth_token_endpoint": "",
        "auth_offline_access": "false",
        "auth_origin": "https://login.example.com",
    }


def test_oidc_endpoints_reach_the_page_and_its_csp(workspace: Terraform) -> None:
    """Given endpoints go to the page; the token endpoint's origin joins connect-src (the
    authorization endpoint is navigated to, not fetched); offline_access is passed on."""
    variables = {
        "auth": "oidc",
        "oidc_issuer": ISSUER,
        "oidc_audience": AUDIENCE,
        "oidc_authorization_endpoint": "https://login.example.com/authorize",
        "oidc_token_endpoint": "https://tokens.example.net/oauth/token",
        "oidc_offline_access": True,
    }
    found = page_sign_in(workspace, variables)
    assert found["auth_authorization_endpoint"] == "https://login.example.com/authorize"
    assert found["auth_token_endpoint"] == "https://tokens.example.net/oauth/token"
    assert found["auth_offline_access"] == "true"
    assert found["auth_origin"] == "https://login.example.com https://tokens.example.net"


def test_oidc_settings_do_not_reach_a_cognito_or_open_page(workspace: Terraform) -> None:
    """oidc_* settings left over in another mode give the page nothing of them."""
    leftovers = {
        "oidc_token_endpoint": "https://tokens.example.net/oauth/token",
        "oidc_offline_access": True,
    }
    found = page_sign_in(workspace, {"auth": "none", **leftovers})
    assert (found["auth_token_endpoint"], found["auth_offline_access"], found["auth_origin"]) == (
        "",
        "false",
        "",
    )
