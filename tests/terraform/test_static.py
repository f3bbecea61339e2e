"""terraform/ without an emulator: format, provider-schema validation, variable checks, the
configuration's text (checkov: test_checkov.py; plans on moto: test_static_plans.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from deployment.terraform.cli import Terraform
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import SITE_DIR, TERRAFORM_DIR, DeploymentSources, Workspace

pytestmark = pytest.mark.terraform


@pytest.fixture(scope="module")
def workspace(terraform_tool: TerraformTool) -> Iterator[Terraform]:
    """An initialised copy of terraform/ (provider from the mirror, no emulator)."""
    with Workspace(DeploymentSources(lambda_zip=None), tool=terraform_tool) as copy:
        yield copy.terraform


def test_configuration_is_formatted(workspace: Terraform) -> None:
    """`terraform fmt -check` finds nothing to rewrite."""
    assert workspace.fmt_check() == []


def test_configuration_is_valid_for_the_provider_schema(workspace: Terraform) -> None:
    """`terraform validate` against the mirrored provider reports no error and no warning."""
    result = workspace.validate()
    assert result["valid"], result["diagnostics"]
    assert result["warning_count"] == 0, result["diagnostics"]


def test_only_the_aws_provider_is_required(workspace: Terraform) -> None:
    """The configuration needs hashicorp/aws and no other provider to install (Terraform's
    built-in one, of terraform_data, ships with Terraform)."""
    providers = workspace.run("providers", "-no-color").stdout
    assert set(re.findall(r"provider\[([^\]]+)\]", providers)) == {
        "registry.terraform.io/hashicorp/aws",
        "terraform.io/builtin/terraform",
    }


BAD_VARIABLES = {
    "region": ("Europe", "region must be an AWS region code"),
    "name_prefix": ("Chat_Prod", "name_prefix must be 3 to 24 characters"),
    "stage_name": ("prod/v1", "stage_name must be 1 to 128 characters"),
    "log_retention_days": (10, "log_retention_days must be one of"),
    "lambda_memory_mb": (64, "lambda_memory_mb must be a whole number"),
    "lambda_timeout_seconds": (1000, "lambda_timeout_seconds must be a whole number"),
    "throttling_burst_limit": (-1, "throttling_burst_limit must be a whole number"),
    "throttling_rate_limit": (-5, "throttling_rate_limit must be more than 0"),
    "hosting_mode": ("ftp", 'hosting_mode must be "cloudfront" or "s3-website"'),
    "allowed_origins": (["https://chat.example.com/"], "Each allowed origin must be"),
    "max_message_chars": (0, "max_message_chars must be a whole number"),
    "fanout_concurrency": (1000, "fanout_concurrency must be a whole number"),
    "connection_ttl_seconds": (3600, "connection_ttl_seconds must be a whole number above 7200"),
    "lambda_zip_path": ("build/lambda.tar", "lambda_zip_path must name a .zip file"),
    "alarm_server_errors_threshold": (
        0.5,
        "alarm_server_errors_threshold must be a whole number of at least 1",
    ),
    # Moderation.
    "moderator_group": ("two words", "moderator_group must be a Cognito group name"),
    "oidc_moderator_claim": ("my claim", "oidc_moderator_claim must be a claim name"),
    "oidc_moderator_value": ("x" * 257, "oidc_moderator_value must be at most 256"),
    "moderator_secret_sha256": ("hunter2", "moderator_secret_sha256 must be empty or"),
    "blocked_words": (["two words"], "blocked_words must hold at most 1000 words"),
    "blocked_words_action": ("drop", 'blocked_words_action must be "refuse" or "mask"'),
}


def test_bad_variables_are_refused_before_anything_is_created(workspace: Terraform) -> None:
    """Every validated variable rejects a bad value at plan time with its own message."""
    varfile = workspace.workdir / "bad.tfvars.json"
    varfile.write_text(json.dumps({k: v for k, (v, _) in BAD_VARIABLES.items()}))
    result = workspace.run(
        "plan", "-no-color", "-input=false", f"-var-file={varfile}", ok_codes=(1,)
    )
    # Terraform wraps long messages; compare with white space collapsed.
    errors = " ".join(result.stderr.split())
    missing = [name for name, (_, msg) in BAD_VARIABLES.items() if msg not in errors]
    assert missing == [], f"no validation error for {missing}:\n{result.stderr}"
    assert errors.count("Invalid value for variable") == len(BAD_VARIABLES)


# Values that pass the type and format checks above but must still be refused; run apart from
# BAD_VARIABLES because each variable there has one bad value.
MORE_BAD_VARIABLES = {
    "region": ("cn-north-1", "the China (cn-*) and GovCloud (us-gov-*) regions are not supported"),
    "name_prefix": ("xn--chat", "S3 reserves those bucket name prefixes"),
    "throttling_burst_limit": (0, "throttling_burst_limit must be a whole number, 1 or more"),
    "throttling_rate_limit": (0, "throttling_rate_limit must be more than 0"),
    "sendmessage_throttling_burst_limit": (
        0,
        "sendmessage_throttling_burst_limit must be a whole number, 1 or more",
    ),
    "sendmessage_throttling_rate_limit": (0, "sendmessage_throttling_rate_limit must be more"),
}


def test_reserved_prefixes_other_partitions_and_zero_limits_are_refused(
    workspace: Terraform,
) -> None:
    """GovCloud/China regions, S3's reserved prefixes and throttling limits of 0 are refused."""
    varfile = workspace.workdir / "more-bad.tfvars.json"
    varfile.write_text(json.dumps({k: v for k, (v, _) in MORE_BAD_VARIABLES.items()}))
    result = workspace.run(
        "plan", "-no-color", "-input=false", f"-var-file={varfile}", ok_codes=(1,)
    )
    errors = " ".join(result.stderr.split())
    missing = [name for name, (_, msg) in MORE_BAD_VARIABLES.items() if msg not in errors]
    assert missing == [], f"no validation error for {missing}:\n{result.stderr}"
    for prefix in ("sthree-chat", "amzn-s3-demo-chat"):
        varfile.write_text(json.dumps({"name_prefix": prefix}))
        refused = workspace.run(
            "plan", "-no-color", "-input=false", f"-var-file={varfile}", ok_codes=(1,)
        )
        assert "S3 reserves those bucket name prefixes" in " ".join(refused.stderr.split())


def test_the_provider_range_admits_only_the_validated_major() -> None:
    """versions.tf admits hashicorp/aws 5.100 and later 5.x releases, not 6.x."""
    text = (TERRAFORM_DIR / "versions.tf").read_text(encoding="utf-8")
    assert re.findall(r'^\s+version\s*=\s*"([^"]+)"', text, re.M) == [">= 5.100, < 6.0"]


def test_the_platform_keeps_start_and_report_lines() -> None:
    """The function's system log level is INFO: WARN would drop START and REPORT."""
    text = (TERRAFORM_DIR / "lambda.tf").read_text(encoding="utf-8")
    assert re.findall(r'system_log_level\s*=\s*"(\w+)"', text) == ["INFO"]


def test_no_url_names_a_partition_domain() -> None:
    """URLs come from the endpoint the API reports, never from a written amazonaws.com."""
    for tf in TERRAFORM_DIR.glob("*.tf"):
        code = [line for line in tf.read_text().splitlines() if not line.strip().startswith("#")]
        hosts = re.findall(r"[\w.-]*\.amazonaws\.com[\w./-]*", "\n".join(code))
        # Service principals are names, not URLs.
        assert {h for h in hosts if not re.fullmatch(r"\w+\.amazonaws\.com", h)} == set(), tf


# Account-global resource types (one namespace for all regions) and their name argument.
ACCOUNT_GLOBAL_NAMES = {
    "aws_iam_role": "name",
    "aws_cloudfront_origin_access_control": "name",
    "aws_cloudfront_response_headers_policy": "name",
    "aws_cloudwatch_dashboard": "dashboard_name",
}


def test_account_global_names_carry_the_region() -> None:
    """IAM roles, CloudFront policies and dashboards are named with the region (global_name),
    so the same name_prefix deploys to two regions of one account."""
    text = "\n".join(tf.read_text() for tf in sorted(TERRAFORM_DIR.glob("*.tf")))
    assert re.search(r'global_name\s+= "\$\{var.name_prefix\}-\$\{var.region\}"', text)
    assert re.search(r'role_name\s+= "\$\{local.global_name\}-lambda"', text)
    for kind, argument in ACCOUNT_GLOBAL_NAMES.items():
        blocks = re.findall(rf'^resource "{kind}" "\w+" \{{\n(.*?)^\}}', text, re.M | re.S)
        assert blocks, kind
        for block in blocks:
            (name,) = re.findall(rf"^\s*{argument}\s*=\s*(.+)$", block, re.M)
            assert "local.global_name" in name or name.strip() == "local.role_name", (kind, name)


def meta_csp(template: str) -> list[str]:
    """The directives of the Content-Security-Policy meta tag of a site template."""
    match = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', template)
    assert match is not None
    return [d.strip() for d in match.group(1).split(";") if d.strip()]


def test_the_csp_header_is_the_pages_meta_tag_plus_frame_ancestors() -> None:
    """CloudFront's CSP header allows what the page's own meta tag allows, and no framing."""
    website = (TERRAFORM_DIR / "website.tf").read_text(encoding="utf-8")
    block = re.search(r"content_security_policy = join\(\"; \", \[(.*?)\]\)", website, re.S)
    assert block is not None
    header = re.findall(r'"([^"]+)"', block.group(1))
    page = meta_csp((SITE_DIR / "index.html.tpl").read_text(encoding="utf-8"))
    # The header's locals are the page's template variables of the same name.
    as_template = [
        d.replace("${local.websocket_origin}", "${websocket_origin}").replace(
            "${local.auth_origin}", "${auth_origin}"
        )
        for d in header
    ]
    assert as_template == [*page, "frame-ancestors 'none'"]
    for template in SITE_DIR.glob("**/*.html.tpl"):
        assert meta_csp(template.read_text(encoding="utf-8")) == page, template


def test_every_variable_and_output_is_documented_for_users() -> None:
    """docs/deploy.md lists each variable of variables.tf and each output of outputs.tf."""
    docs = (TERRAFORM_DIR.parent / "docs" / "deploy.md").read_text(encoding="utf-8")

    def declared(kind: str, filename: str) -> set[str]:
        text = (TERRAFORM_DIR / filename).read_text(encoding="utf-8")
        return set(re.findall(rf'^{kind} "([a-z0-9_]+)"', text, flags=re.MULTILINE))

    variables = declared("variable", "variables.tf")
    outputs = declared("output", "outputs.tf")
    assert "region" in variables
    assert "website_url" in outputs
    assert sorted(v for v in variables if f"`{v}`" not in docs) == []
    assert sorted(o for o in outputs if f"`{o}`" not in docs) == []
