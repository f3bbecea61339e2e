"""Sign-in settings refused or planned before anything is created, and no token in access logs.

Plans run against moto (the preconditions need a configured provider) and apply nothing.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from authorizer.config import DEFAULT_NAME_CLAIM

from deployment.terraform.cli import Terraform
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import (
    TERRAFORM_DIR,
    VARIABLES_FILE,
    DeploymentSources,
    Workspace,
)
from local_stack.moto_server import MotoServer
from tests.terraform.plans import plan, planned_resource, shown_plan

pytestmark = pytest.mark.terraform

ISSUER = "https://login.example.com/tenant/"
AUDIENCE = "page-client-id"


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


def test_oidc_plans_the_authorizer_for_the_given_issuer(plan_workspace: Terraform) -> None:
    """With an issuer and an audience: no user pool, an API authorizer, and the authorizer
    function told the issuer and audience and no JWKS URL (it uses discovery). (The chat's
    AUTH_MODE is not in the plan's known values: its environment map has unknown entries; the
    cognito round trip reads it after apply.)"""
    plan(plan_workspace, {"auth": "oidc", "oidc_issuer": ISSUER, "oidc_audience": AUDIENCE}, (0, 2))
    authorizer = planned_resource(plan_workspace, "aws_lambda_function.authorizer[0]")
    assert authorizer["environment"] == [
        {
            "variables": {
                "AUTH_ISSUER": ISSUER,
                "AUTH_AUDIENCE": AUDIENCE,
                "AUTH_ALGORITHMS": "RS256",
                # The issuer's names are not unique: shown with a tag (issue 25).
                "AUTH_NAME_CLAIM": DEFAULT_NAME_CLAIM,
                "AUTH_NAME_UNIQUE": "false",
            }
        }
    ]
    shown = shown_plan(plan_workspace)
    addresses = {r["address"] for r in shown["planned_values"]["root_module"]["resources"]}
    assert not any(a.startswith("aws_cognito") for a in addresses)
    assert "aws_apigatewayv2_authorizer.connect[0]" in addresses


JWKS_URL = "https://login.example.com/keys"
# Every optional OIDC setting the authorizer is told, given at once: one plan serves the test
# of each (they are independent variables).
OIDC_SETTINGS = {
    "auth": "oidc",
    "oidc_issuer": ISSUER,
    "oidc_audience": AUDIENCE,
    "oidc_jwks_url": JWKS_URL,
    "oidc_name_claim": "preferred_username",
    "oidc_name_unique": True,
}


@pytest.fixture(scope="module")
def oidc_settings_environment(plan_workspace: Terraform) -> dict[str, str]:
    """The authorizer's planned environment with ``OIDC_SETTINGS``."""
    plan(plan_workspace, OIDC_SETTINGS, (0, 2))
    env = planned_resource(plan_workspace, "aws_lambda_function.authorizer[0]")["environment"]
    variables: dict[str, str] = env[0]["variables"]
    return variables


def test_an_oidc_jwks_url_is_passed_on(oidc_settings_environment: dict[str, str]) -> None:
    """oidc_jwks_url, when set, becomes the authorizer's AUTH_JWKS_URL."""
    assert oidc_settings_environment["AUTH_JWKS_URL"] == JWKS_URL


def test_the_oidc_name_claim_and_its_uniqueness_are_passed_on(
    oidc_settings_environment: dict[str, str],
) -> None:
    """oidc_name_claim and oidc_name_unique become AUTH_NAME_CLAIM and AUTH_NAME_UNIQUE."""
    found = oidc_settings_environment
    assert (found["AUTH_NAME_CLAIM"], found["AUTH_NAME_UNIQUE"]) == ("preferred_username", "true")


def test_cognito_users_cannot_write_what_their_name_is_built_from(
    plan_workspace: Terraform,
) -> None:
    """Issue 25: the page's client lets users write their e-mail address only (unset, every
    standard attribute, name and preferred_username included, would be theirs to write); the
    pool is on the Lite tier. (The authorizer's environment, naming users by their unique user
    name, is unknown until the pool exists: the cognito round trip reads it.)"""
    plan(plan_workspace, {"auth": "cognito", "cognito_self_sign_up": True}, (0, 2))
    client = planned_resource(plan_workspace, "aws_cognito_user_pool_client.page[0]")
    assert client["write_attributes"] == ["email"]
    assert not {"name", "preferred_username", "nickname"} & set(client["write_attributes"])
    pool = planned_resource(plan_workspace, "aws_cognito_user_pool.users[0]")
    assert pool["user_pool_tier"] == "LITE"
    assert pool["username_configuration"] == [{"case_sensitive": False}]


def test_a_cognito_user_pool_tier_can_be_asked_for(plan_workspace: Terraform) -> None:
    """cognito_user_pool_tier sets the pool's feature plan."""
    plan(plan_workspace, {"auth": "cognito", "cognito_user_pool_tier": "ESSENTIALS"}, (0, 2))
    pool = planned_resource(plan_workspace, "aws_cognito_user_pool.users[0]")
    assert pool["user_pool_tier"] == "ESSENTIALS"


COGNITO_ISSUER = "https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_abc"


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


def test_a_cognito_pool_as_oidc_issuer_plans_with_its_token_endpoint(
    plan_workspace: Terraform,
) -> None:
    """Issue 26: once oidc_token_endpoint is given for a pool's issuer, the plan takes the
    configuration, and the endpoint's origin joins connect-src."""
    domain = "https://chat.auth.eu-west-1.amazoncognito.com"
    variables = {
        "auth": "oidc",
        "oidc_issuer": COGNITO_ISSUER,
        "oidc_audience": AUDIENCE,
        "oidc_token_endpoint": f"{domain}/oauth2/token",
        "oidc_authorization_endpoint": f"{domain}/oauth2/authorize",
    }
    plan(plan_workspace, variables, (0, 2))
    assert domain in page_sign_in(plan_workspace, variables)["auth_origin"].split()


def test_auth_none_creates_no_sign_in_resource(plan_workspace: Terraform) -> None:
    """The default plans no user pool, no authorizer and nothing else of sign-in."""
    plan(plan_workspace, {}, (0, 2))
    shown = shown_plan(plan_workspace)
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


def test_oidc_page_variables_default_to_discovery(plan_workspace: Terraform) -> None:
    """Without endpoints the page is told to use discovery (empty endpoints); connect-src
    admits the issuer's origin; no offline_access unless asked."""
    variables = {"auth": "oidc", "oidc_issuer": ISSUER, "oidc_audience": AUDIENCE}
    assert page_sign_in(plan_workspace, variables) == {
        "auth_mode": "oidc",
        "auth_client_id": AUDIENCE,
        "auth_issuer": ISSUER,
        "auth_authorization_endpoint": "",
        "auth_token_endpoint": "",
        "auth_offline_access": "false",
        "auth_origin": "https://login.example.com",
    }


def test_oidc_endpoints_reach_the_page_and_its_csp(plan_workspace: Terraform) -> None:
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
    found = page_sign_in(plan_workspace, variables)
    assert found["auth_authorization_endpoint"] == "https://login.example.com/authorize"
    assert found["auth_token_endpoint"] == "https://tokens.example.net/oauth/token"
    assert found["auth_offline_access"] == "true"
    assert found["auth_origin"] == "https://login.example.com https://tokens.example.net"


def test_oidc_settings_do_not_reach_a_cognito_or_open_page(plan_workspace: Terraform) -> None:
    """oidc_* settings left over in another mode give the page nothing of them."""
    leftovers = {
        "oidc_token_endpoint": "https://tokens.example.net/oauth/token",
        "oidc_offline_access": True,
    }
    found = page_sign_in(plan_workspace, {"auth": "none", **leftovers})
    assert (found["auth_token_endpoint"], found["auth_offline_access"], found["auth_origin"]) == (
        "",
        "false",
        "",
    )


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        ({"auth": "none"}, {"auth_name_claim": "", "auth_name_unique": "false"}),
        (
            {"auth": "cognito"},
            {"auth_name_claim": "cognito:username", "auth_name_unique": "true"},
        ),
        (
            {"auth": "oidc", "oidc_issuer": ISSUER, "oidc_audience": AUDIENCE},
            {"auth_name_claim": DEFAULT_NAME_CLAIM, "auth_name_unique": "false"},
        ),
        (
            {
                "auth": "oidc",
                "oidc_issuer": ISSUER,
                "oidc_audience": AUDIENCE,
                "oidc_name_claim": "nickname",
                "oidc_name_unique": True,
            },
            {"auth_name_claim": "nickname", "auth_name_unique": "true"},
        ),
    ],
    ids=["none", "cognito", "oidc", "oidc-unique"],
)
def test_the_page_is_told_the_authorizers_name_rule(
    plan_workspace: Terraform, variables: dict[str, Any], expected: dict[str, str]
) -> None:
    """The page names its account as the authorizer does (frontend/js/accountname.js): the
    same claim and uniqueness as AUTH_NAME_CLAIM and AUTH_NAME_UNIQUE."""
    found = console(
        plan_workspace,
        variables,
        '{ for k in ["auth_name_claim", "auth_name_unique"] : k => local.template_vars[k] }',
    )
    assert found == expected
