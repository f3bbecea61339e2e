"""Plans of terraform/ on moto that refuse a configuration or check a planned value
(preconditions and planned values need a configured provider; nothing is applied)."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployment.terraform.cli import Terraform
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import DeploymentSources, Workspace
from local_stack.moto_server import MotoServer
from tests.terraform.plans import plan, planned_resource

pytestmark = pytest.mark.terraform


def test_sendmessage_limits_above_the_stages_are_refused(plan_workspace: Terraform) -> None:
    """sendmessage's per-route limits must be below the default route limits of the stage."""
    variables = {"throttling_burst_limit": 100, "sendmessage_throttling_burst_limit": 100}
    errors = plan(plan_workspace, variables, ok_codes=(1,))
    assert "must be below throttling_burst_limit and throttling_rate_limit" in errors


def test_a_missing_zip_or_page_is_reported_with_the_fix(
    terraform_tool: TerraformTool, tmp_path: Path
) -> None:
    """Planning without the zip or without index.html fails saying what to do."""
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "style.css").write_text("p {}")
    sources = DeploymentSources(site_dir=tmp_path / "site", lambda_zip=None)
    with (
        MotoServer(quiet=True) as moto,
        Workspace(sources, tool=terraform_tool, endpoint=moto.endpoint) as copy,
    ):
        tf = copy.terraform
        no_page = tf.run("plan", "-no-color", "-input=false", ok_codes=(1,))
        (tf.workdir.parent / "frontend" / "index.html").write_text("<title>chat</title>")
        no_zip = tf.run("plan", "-no-color", "-input=false", ok_codes=(1,))
    assert "has no index.html or index.html.tpl; point site_dir at the frontend/ folder" in (
        " ".join(no_page.stderr.split())
    )
    assert "does not exist: run `make build` first" in " ".join(no_zip.stderr.split())


SIGN_IN = {
    "cognito": {"auth": "cognito"},
    "oidc": {
        "auth": "oidc",
        "oidc_issuer": "https://login.example.com/",
        "oidc_audience": "page-client-id",
    },
}


@pytest.mark.parametrize("mode", sorted(SIGN_IN))
def test_sign_in_on_a_plain_http_site_is_refused(plan_workspace: Terraform, mode: str) -> None:
    """auth other than "none" with hosting_mode = "s3-website" is refused at plan time: a
    password form and a 30-day refresh token do not belong on a plain-http page. (The same
    sign-in on cloudfront, the default, plans: test_auth_plans.py; s3-website without sign-in
    is applied by test_roundtrip.py.)"""
    errors = plan(plan_workspace, {**SIGN_IN[mode], "hosting_mode": "s3-website"}, ok_codes=(1,))
    assert f'auth = "{mode}" needs hosting_mode = "cloudfront"' in errors
    assert "a password form and a 30-day refresh token do not belong" in errors


def test_the_budget_counts_spend_before_credits(plan_workspace: Terraform) -> None:
    """The budget excludes promotional credits (include_credit = false), which would hide real
    spend. (moto's Budgets never answers the provider, so the budget is planned, not applied.)"""
    plan(plan_workspace, {"budget_alert_email": "billing@example.com"}, ok_codes=(0,))
    (cost_types,) = planned_resource(plan_workspace, "aws_budgets_budget.stack[0]")["cost_types"]
    assert cost_types["include_credit"] is False
