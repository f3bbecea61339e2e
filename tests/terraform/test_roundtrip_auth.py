"""terraform/ with auth = "cognito" applied to moto, read back with boto3, rehearsed end to
end, then destroyed.

Proves the sign-in wiring: the user pool and the page's public client, the authorizer function
with its own least-privilege role, the REQUEST authorizer on `$connect` and on no other route,
the chat told its auth mode, and the site templates given the sign-in variables. Then the
rehearsal's steps run on the same deployment (CloudFront mode, the only one that takes
sign-in): the real authorizer (`make build`'s package) guards `$connect` on the local gateway,
users of the pool sign in and chat under their names in a browser, and `make smoke` signs its
throwaway user in. One deployment serves both: each apply and destroy of it costs about two
minutes of provider waits (SQS, KMS, CloudFront) on moto.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from authorizer.config import COGNITO_NAME_CLAIM

from deployment.rehearsal import RehearsalOptions
from deployment.rehearsal.readback_steps import STEP_AUTHORIZER
from deployment.rehearsal.runner import STEP_SMOKE
from deployment.rehearsal.smoke_run import CSP_HEADER_NOT_REHEARSED
from deployment.terraform.applied import AppliedDeployment, apply_deployment
from deployment.terraform.emulator import emulator_inventory
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import AUTHORIZER_ZIP, SITE_DIR, DeploymentSources
from local_stack.moto_server import MotoServer
from scripts.build_lambda import code_sha256
from tests.conftest import skip_or_fail
from tests.deployment.rehearsal.rehearsing import run_applied, step_lines
from tests.terraform.emulator_gaps import unexplained_diffs

# An apply and a destroy take minutes on a busy machine, more than pytest's default 300 s allows
# the first test (the apply) and the last (the destroy).
pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.timeout(600)]

PREFIX = "tf-auth"
IDENTITY_SOURCE = "route.request.header.Sec-WebSocket-Protocol"
# A template of every sign-in variable, published next to the page (docs/internals.md, "Site
# templates"), so the test reads what Terraform rendered whatever the page uses of them.
PROBE = "auth-probe.json"
PROBE_VARIABLES = (
    "auth_mode",
    "auth_endpoint",
    "auth_client_id",
    "auth_sign_up",
    "auth_origin",
    "auth_issuer",
    "auth_name_claim",
    "auth_name_unique",
)


@pytest.fixture(scope="module")
def authorizer_zip() -> Path:
    """The authorizer's package as `make build` leaves it (built for Lambda's arm64): the
    rehearsal runs it."""
    if not AUTHORIZER_ZIP.is_file():
        skip_or_fail(f"{AUTHORIZER_ZIP} does not exist: run `make build`")
    return AUTHORIZER_ZIP


@pytest.fixture(scope="module")
def site_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """frontend/ plus the probe template."""
    site = tmp_path_factory.mktemp("site") / "frontend"
    shutil.copytree(SITE_DIR, site)
    body = ", ".join(f'"{name}": "${{{name}}}"' for name in PROBE_VARIABLES)
    (site / f"{PROBE}.tpl").write_text("{" + body + "}\n", encoding="utf-8")
    return site


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    """An emulated AWS account of this module's own."""
    with MotoServer(quiet=True) as server:
        yield server


@pytest.fixture(scope="module")
def deployment(
    moto: MotoServer,
    terraform_tool: TerraformTool,
    lambda_zip: Path,
    authorizer_zip: Path,
    site_dir: Path,
) -> Iterator[AppliedDeployment]:
    """auth = "cognito" with self sign-up, applied; closed (destroyed) at the end in any case."""
    sources = DeploymentSources(
        site_dir=site_dir, lambda_zip=lambda_zip, authorizer_zip=authorizer_zip
    )
    # cloudfront: sign-in is refused on the plain-http s3-website mode (a plan-time
    # precondition), although moto's CloudFront makes the destroy a minute slower.
    variables = {
        "name_prefix": PREFIX,
        "hosting_mode": "cloudfront",
        "auth": "cognito",
        "cognito_self_sign_up": True,
    }
    applied = apply_deployment(
        variables, endpoint=moto.endpoint, sources=sources, tool=terraform_tool
    )
    try:
        yield applied
    finally:
        applied.close()


def statements(policy: str | dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a policy document given as JSON text or already parsed."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    found = document["Statement"]
    return found if isinstance(found, list) else [found]


def account(deployment: AppliedDeployment) -> str:
    """The emulated account's id."""
    return str(deployment.client("sts").get_caller_identity()["Account"])


def connect_authorizer(deployment: AppliedDeployment) -> dict[str, Any]:
    """The authorizer the $connect route names (moto has no GetAuthorizers: it answers 500,
    so the authorizer is found through the route, and GetAuthorizer reads it)."""
    api = deployment.client("apigatewayv2")
    api_id = deployment.outputs["api_id"]
    routes = api.get_routes(ApiId=api_id)["Items"]
    (connect,) = [r for r in routes if r["RouteKey"] == "$connect"]
    found: dict[str, Any] = api.get_authorizer(ApiId=api_id, AuthorizerId=connect["AuthorizerId"])
    return found


def issuer(deployment: AppliedDeployment) -> str:
    """The tokens' issuer: the user pool's URL at Cognito's regional IdP endpoint."""
    pool = deployment.outputs["user_pool_id"]
    return f"https://cognito-idp.{deployment.region}.amazonaws.com/{pool}"


def test_second_plan_changes_nothing_but_known_emulator_gaps(
    deployment: AppliedDeployment,
) -> None:
    """A plan right after apply differs only in attributes moto cannot store."""
    plan = deployment.plan()
    assert unexplained_diffs(plan) == [], plan.text
    assert plan.output_changes == ()


def test_the_user_pool_signs_in_by_user_name_with_a_real_password_policy(
    deployment: AppliedDeployment,
) -> None:
    """Case-insensitive user names, self sign-up as asked, verified e-mail, 12-character
    passwords, no deletion protection (destroy removes it), the Lite tier."""
    pool = deployment.client("cognito-idp").describe_user_pool(
        UserPoolId=deployment.outputs["user_pool_id"]
    )["UserPool"]
    assert pool["Name"] == f"{PREFIX}-users"
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    # Absent is false (AWS's default): the provider leaves a false flag out of the request.
    assert pool["AdminCreateUserConfig"].get("AllowAdminCreateUserOnly", False) is False
    assert pool["AutoVerifiedAttributes"] == ["email"]
    assert pool["AccountRecoverySetting"]["RecoveryMechanisms"] == [
        {"Priority": 1, "Name": "verified_email"}
    ]
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == 12
    assert policy["TemporaryPasswordValidityDays"] == 3
    assert (policy["RequireLowercase"], policy["RequireUppercase"], policy["RequireNumbers"]) == (
        True,
        True,
        True,
    )
    assert pool.get("DeletionProtection", "INACTIVE") == "INACTIVE"
    # The cheapest feature plan (AWS's default for a new pool is Essentials): docs/deploy.md,
    # "What it costs".
    assert pool["UserPoolTier"] == "LITE"


def test_the_pages_client_is_public_with_password_and_refresh_flows(
    deployment: AppliedDeployment,
) -> None:
    """No client secret (a browser cannot keep one), exactly the two flows, hour-long tokens."""
    client = deployment.client("cognito-idp").describe_user_pool_client(
        UserPoolId=deployment.outputs["user_pool_id"],
        ClientId=deployment.outputs["user_pool_client_id"],
    )["UserPoolClient"]
    assert "ClientSecret" not in client
    assert sorted(client["ExplicitAuthFlows"]) == [
        "ALLOW_REFRESH_TOKEN_AUTH",
        "ALLOW_USER_PASSWORD_AUTH",
    ]
    assert (client["IdTokenValidity"], client["AccessTokenValidity"]) == (60, 60)
    assert client["RefreshTokenValidity"] == 30
    assert client["TokenValidityUnits"] == {
        "AccessToken": "minutes",
        "IdToken": "minutes",
        "RefreshToken": "days",
    }
    assert client["PreventUserExistenceErrors"] == "ENABLED"
    # Issue 25: users write their e-mail address and nothing a name is built from.
    assert client["WriteAttributes"] == ["email"]


def test_the_authorizer_function_is_built_and_configured_per_the_contract(
    deployment: AppliedDeployment, authorizer_zip: Path
) -> None:
    """python3.13 on arm64, handler authorizer.handler.handler, today's zip, and the issuer,
    audience, JWKS URL and pinned algorithm of this pool and client; users named by their
    user name, unique in the pool; moderators by the pool's group, which exists."""
    config = deployment.client("lambda").get_function_configuration(
        FunctionName=deployment.outputs["authorizer_function_name"]
    )
    assert config["FunctionName"] == f"{PREFIX}-authorizer"
    assert config["Runtime"] == "python3.13"
    assert config["Architectures"] == ["arm64"]
    assert config["Handler"] == "authorizer.handler.handler"
    assert config["CodeSha256"] == code_sha256(authorizer_zip)
    assert config["Environment"]["Variables"] == {
        "AUTH_ISSUER": issuer(deployment),
        "AUTH_AUDIENCE": deployment.outputs["user_pool_client_id"],
        "AUTH_JWKS_URL": f"{issuer(deployment)}/.well-known/jwks.json",
        "AUTH_ALGORITHMS": "RS256",
        "AUTH_NAME_CLAIM": COGNITO_NAME_CLAIM,
        "AUTH_NAME_UNIQUE": "true",
        # Moderators: the pool's group, listed in the ID token.
        "AUTH_MODERATOR_CLAIM": "cognito:groups",
        "AUTH_MODERATOR_VALUE": "moderators",
    }
    groups = deployment.client("cognito-idp").list_groups(
        UserPoolId=deployment.outputs["user_pool_id"]
    )
    assert [g["GroupName"] for g in groups["Groups"]] == ["moderators"]
    role = deployment.client("iam").get_role(RoleName=f"{PREFIX}-{deployment.region}-authorizer")
    assert config["Role"] == role["Role"]["Arn"]


def test_the_authorizers_role_may_write_its_own_logs_and_nothing_else(
    deployment: AppliedDeployment,
) -> None:
    """Its own role, trusted by Lambda only, with one statement: log writes to its own group
    (which keeps 14 days); nothing attached."""
    iam = deployment.client("iam")
    role = f"{PREFIX}-{deployment.region}-authorizer"
    (trust,) = statements(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])
    assert (trust["Principal"], trust["Action"]) == (
        {"Service": "lambda.amazonaws.com"},
        "sts:AssumeRole",
    )
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    (statement,) = statements(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
    group = f"/aws/lambda/{PREFIX}-authorizer"
    assert statement["Effect"] == "Allow"
    assert sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == (
        f"arn:aws:logs:{deployment.region}:{account(deployment)}:log-group:{group}:*"
    )
    groups = deployment.client("logs").describe_log_groups(logGroupNamePrefix=group)["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(group, 14)]


def test_a_request_authorizer_guards_connect_and_no_other_route(
    deployment: AppliedDeployment,
) -> None:
    """One REQUEST authorizer reading Sec-WebSocket-Protocol, invoking the authorizer
    function, attached (CUSTOM) to $connect only."""
    api = deployment.client("apigatewayv2")
    api_id = deployment.outputs["api_id"]
    authorizer = connect_authorizer(deployment)
    assert authorizer["Name"] == f"{PREFIX}-id-token"
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["IdentitySource"] == [IDENTITY_SOURCE]
    function_arn = deployment.client("lambda").get_function(
        FunctionName=deployment.outputs["authorizer_function_name"]
    )["Configuration"]["FunctionArn"]
    assert authorizer["AuthorizerUri"] == (
        f"arn:aws:apigateway:{deployment.region}:lambda:path/2015-03-31/functions/"
        f"{function_arn}/invocations"
    )
    routes = {r["RouteKey"]: r for r in api.get_routes(ApiId=api_id)["Items"]}
    connect = routes.pop("$connect")
    assert (connect["AuthorizationType"], connect["AuthorizerId"]) == (
        "CUSTOM",
        authorizer["AuthorizerId"],
    )
    assert routes
    assert {
        k: (r.get("AuthorizationType", "NONE"), r.get("AuthorizerId")) for k, r in routes.items()
    } == (dict.fromkeys(routes, ("NONE", None)))


def test_only_this_apis_authorizer_may_invoke_the_authorizer(
    deployment: AppliedDeployment,
) -> None:
    """The authorizer function's resource policy names this API's authorizer, nothing wider."""
    api_id = deployment.outputs["api_id"]
    authorizer = connect_authorizer(deployment)
    policy = deployment.client("lambda").get_policy(
        FunctionName=deployment.outputs["authorizer_function_name"]
    )
    (statement,) = statements(policy["Policy"])
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    execution_arn = f"arn:aws:execute-api:{deployment.region}:{account(deployment)}:{api_id}"
    assert statement["Condition"] == {
        "ArnLike": {"AWS:SourceArn": f"{execution_arn}/authorizers/{authorizer['AuthorizerId']}"}
    }


def test_the_chat_knows_its_auth_mode(deployment: AppliedDeployment) -> None:
    """The chat function's AUTH_MODE is the deployment's auth."""
    config = deployment.client("lambda").get_function_configuration(
        FunctionName=deployment.outputs["function_name"]
    )
    assert config["Environment"]["Variables"]["AUTH_MODE"] == "cognito"


def test_the_site_templates_get_the_sign_in_variables(deployment: AppliedDeployment) -> None:
    """The page is told the mode, Cognito's IdP endpoint and origin, the client id, that
    sign-up is on, and the authorizer's name rule (users named by their user name)."""
    obj = deployment.client("s3").get_object(Bucket=deployment.outputs["site_bucket"], Key=PROBE)
    rendered = json.loads(obj["Body"].read())
    idp = f"https://cognito-idp.{deployment.region}.amazonaws.com"
    assert rendered == {
        "auth_mode": "cognito",
        "auth_endpoint": f"{idp}/",
        "auth_client_id": deployment.outputs["user_pool_client_id"],
        "auth_sign_up": "true",
        "auth_origin": idp,
        "auth_issuer": issuer(deployment),
        "auth_name_claim": COGNITO_NAME_CLAIM,
        "auth_name_unique": "true",
    }


# --- the rehearsal on this deployment ---------------------------------------------------------


@pytest.mark.browser
def test_the_signed_in_deployment_chats_end_to_end(
    deployment: AppliedDeployment,
    site_dir: Path,
    lambda_zip: Path,
    authorizer_zip: Path,
    chromium: Path,
) -> None:
    """The rehearsal's steps: the authorizer Terraform created guards $connect on the local
    gateway, users of the pool it created sign in and chat under their names, `make smoke`
    signs its throwaway user in, is refused without a token and deletes the user."""
    options = RehearsalOptions(
        site_dir=site_dir, lambda_zip=lambda_zip, authorizer_zip=authorizer_zip
    )
    report, printed = run_applied(deployment, options, chromium)
    assert report.problems == []
    assert [s.status for s in report.steps] == ["ok"] * 10
    authorizer_step = report.find(STEP_AUTHORIZER)
    assert authorizer_step is not None
    assert authorizer_step.status == "ok"
    lines = "\n".join(printed)
    assert "$connect is guarded by REQUEST authorizer " in lines
    assert f"identity source {IDENTITY_SOURCE}" in lines
    assert "AUTH_MODE is cognito" in lines
    assert "is the code the authorizer runs (CodeSha256 " in lines
    assert re.search(
        r"mapped the authorizer's AUTH_JWKS_URL: \S+ -> http://127\.0\.0\.1:\d+/"
        rf"{deployment.region}_\w+/\.well-known/jwks\.json",
        lines,
    )
    assert (
        f"mapped config.js sign-in endpoint https://cognito-idp.{deployment.region}.amazonaws.com/ "
        "-> http://127.0.0.1:"
    ) in lines
    assert "signed in, everyone chats under their token's name" in lines
    assert "refused with 401: a connect with no Sec-WebSocket-Protocol header" in lines
    assert "alice's page shows bob's message" in lines
    smoke = step_lines(report, STEP_SMOKE)
    created = re.search(r"^ok    sign-in: created user (smoke\w+) in pool ", smoke, re.M)
    assert created is not None
    user = created.group(1)
    for line in (
        "ok    tokenless connect: a connect without a token (no Sec-WebSocket-Protocol) is "
        "refused with 401",
        f"ok    signed-in name: the message came from {user!r}, the token's name",
        f"ok    delete user: {user} deleted from pool ",
        f"skip  CSP header: {CSP_HEADER_NOT_REHEARSED} (skipped with --skip)",
        f"ok    site bucket: bucket {PREFIX}-site-",
    ):
        assert line in smoke
    assert smoke.splitlines()[-1] == "14 of 15 checks passed, 1 skipped"


# --- destroy ----------------------------------------------------------------------------------


def test_destroy_leaves_nothing(deployment: AppliedDeployment, moto: MotoServer) -> None:
    """Destroy removes the pool, the client, the authorizer and everything else."""
    before = emulator_inventory(moto.endpoint, deployment.region)
    assert before["cognito user pools"] == [f"{PREFIX}-users"]
    assert f"{PREFIX}-authorizer" in before["lambda functions"]
    deployment.destroy()
    assert deployment.terraform.state_addresses() == []
    after = emulator_inventory(moto.endpoint, deployment.region)
    assert after == {kind: [] for kind in before}
