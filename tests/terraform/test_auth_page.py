"""What Terraform tells the page of sign-in: its endpoints, its CSP origins, its name rule
(``terraform console`` on moto; nothing is applied).
"""

from __future__ import annotations

from typing import Any

import pytest
from authorizer.config import DEFAULT_NAME_CLAIM

from deployment.terraform.cli import Terraform
from tests.terraform.sign_in import AUDIENCE, ISSUER, console, page_sign_in

pytestmark = pytest.mark.terraform


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
