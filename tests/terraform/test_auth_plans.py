"""What each sign-in mode plans (the authorizer and what it is told, the user pool, nothing when
off), and no token in access logs.

Plans run against moto (planned values need a configured provider) and apply nothing.
"""

from __future__ import annotations

import re

import pytest
from authorizer.config import DEFAULT_NAME_CLAIM

from deployment.terraform.cli import Terraform
from deployment.terraform.workspace import TERRAFORM_DIR
from tests.terraform.plans import plan, planned_resource, shown_plan
from tests.terraform.sign_in import AUDIENCE, COGNITO_ISSUER, ISSUER, page_sign_in

pytestmark = pytest.mark.terraform


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
