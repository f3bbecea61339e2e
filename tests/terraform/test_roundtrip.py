"""terraform/ applied to a local AWS emulator (moto), in both hosting modes, then destroyed.

Both deployments are applied at once, with different name prefixes, into one emulated account:
that also proves two deployments coexist. boto3 then reads back what was created and checks the
wiring; the rehearsal's steps run on the CloudFront one (`make rehearse`'s default mode: the
chat on what Terraform created, in a browser, `make smoke` included), and on the s3-website one
broken a resource at a time; the last test destroys both and lists what is left. (Each apply
and destroy costs about two minutes of the provider's waits for SQS, KMS and CloudFront on
moto: the rehearsal shares this module's deployments rather than apply its own.)
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from chat.config import DEFAULT_FANOUT_CONCURRENCY, EnvVar
from chat.connections import ROOM_INDEX, TABLE_SCHEMA
from chat.handler import ROUTES
from chat.messages import CHANGES_INDEX
from chat.messages import TABLE_SCHEMA as MESSAGES_TABLE_SCHEMA
from chat.metrics import METRICS, REFUSED, SERVER_ERRORS
from chat.permissions import (
    DELIVERY_RECEIVE_ACTIONS,
    DELIVERY_SEND_ACTIONS,
    MANAGE_CONNECTIONS_ACTION,
    MANAGE_CONNECTIONS_METHODS,
    MESSAGES_INDEX_ACTIONS,
    MESSAGES_TABLE_ACTIONS,
    ROOM_INDEX_ACTIONS,
    TABLE_ACTIONS,
)

from deployment.rehearsal import Problem, RehearsalOptions, Report
from deployment.rehearsal.runner import STEP_SMOKE
from deployment.rehearsal.smoke_run import CSP_HEADER_NOT_REHEARSED
from deployment.terraform.applied import AppliedDeployment, apply_deployment
from deployment.terraform.emulator import emulator_inventory
from deployment.terraform.errors import HarnessError
from deployment.terraform.tools import TerraformTool
from deployment.terraform.workspace import REPO_ROOT, SITE_DIR, DeploymentSources
from local_stack.moto_server import MotoServer
from local_stack.site import content_type, render_template, site_variables
from scripts.build_lambda import code_sha256
from tests.deployment.rehearsal.rehearsing import (
    CODE_ROUTES,
    assert_chat_skipped,
    route_renamed,
    run_applied,
    step_lines,
    variable_renamed,
)
from tests.terraform.emulator_gaps import unexplained_diffs

# An apply and a destroy take minutes on a busy machine, more than pytest's default 300 s allows
# the first test (the apply) and the last (the destroy).
pytestmark = [pytest.mark.terraform, pytest.mark.slow, pytest.mark.timeout(600)]

MODES = ("cloudfront", "s3-website")
PREFIXES = {"cloudfront": "tf-cf", "s3-website": "tf-s3"}
STAGE = "prod"
ROUTE_KEYS = set(ROUTES)  # the code's routes: Terraform must create exactly these


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    """One emulated AWS account for both deployments."""
    with MotoServer(quiet=True) as server:
        yield server


@pytest.fixture(scope="module")
def deployments(
    moto: MotoServer, terraform_tool: TerraformTool, lambda_zip: Path
) -> Iterator[dict[str, AppliedDeployment]]:
    """Both hosting modes applied side by side; closed (destroyed) at the end in any case."""
    sources = DeploymentSources(lambda_zip=lambda_zip)

    def apply(mode: str) -> AppliedDeployment:
        variables = {"name_prefix": PREFIXES[mode], "hosting_mode": mode, "stage_name": STAGE}
        if mode == ALARM_EMAIL_MODE:
            variables["alarm_email"] = ALARM_EMAIL
            # budget_alert_email is not applied here: moto's Budgets does not answer the
            # provider (the apply waits forever), see docs/deploy.md.
            variables["lambda_reserved_concurrency"] = RESERVED_CONCURRENCY
        if mode == EXTRA_TAGS_MODE:
            variables["tags"] = EXTRA_TAGS
        return apply_deployment(
            variables, endpoint=moto.endpoint, sources=sources, tool=terraform_tool
        )

    started = time.monotonic()
    with ThreadPoolExecutor(len(MODES)) as pool:
        futures = {mode: pool.submit(apply, mode) for mode in MODES}
    applied: dict[str, AppliedDeployment] = {}
    failure: BaseException | None = None
    for mode, future in futures.items():
        try:
            applied[mode] = future.result()
        except HarnessError as error:
            failure = failure or error
    try:
        if failure is not None:
            raise failure
        print(f"\napplied both deployments in {time.monotonic() - started:.0f}s")
        yield applied
    finally:
        for deployment in applied.values():
            deployment.close()


@pytest.fixture(params=MODES)
def deployment(
    request: pytest.FixtureRequest, deployments: dict[str, AppliedDeployment]
) -> AppliedDeployment:
    """One applied deployment per hosting mode."""
    applied = deployments[request.param]
    if applied.destroyed:
        pytest.fail("the deployment was destroyed by an earlier test", pytrace=False)
    return applied


ALARM_EMAIL_MODE = "s3-website"  # one mode subscribes an address, the other none
ALARM_EMAIL = "oncall@example.com"
RESERVED_CONCURRENCY = 25
EXTRA_TAGS_MODE = "cloudfront"  # one mode adds tags, one of which tries to replace the stack's
EXTRA_TAGS = {"Team": "chat", "Stack": "not-this-stack"}


def global_name(deployment: AppliedDeployment, suffix: str = "") -> str:
    """The name of an account-global resource: prefix and region, so two regions coexist."""
    name = f"{deployment.variables['name_prefix']}-{deployment.region}"
    return f"{name}-{suffix}" if suffix else name


def only_statement(policy: str | dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of a policy document given as JSON text or already parsed."""
    document = json.loads(policy) if isinstance(policy, str) else policy
    statements = document["Statement"]
    return statements if isinstance(statements, list) else [statements]


def as_set(value: str | list[str]) -> set[str]:
    """IAM allows a single string or a list for Action and Resource."""
    return {value} if isinstance(value, str) else set(value)


# --- idempotence ------------------------------------------------------------------------------


def test_second_plan_changes_nothing_but_known_emulator_gaps(deployment: AppliedDeployment) -> None:
    """A plan right after apply differs from the state only in attributes moto cannot store."""
    plan = deployment.plan()
    assert unexplained_diffs(plan) == [], plan.text
    assert plan.output_changes == ()


# --- API Gateway ------------------------------------------------------------------------------


def test_outputs_name_what_was_created(deployment: AppliedDeployment) -> None:
    """The outputs are the URLs and names derived from the API id, region, stage and prefix."""
    out = deployment.outputs
    host = f"{out['api_id']}.execute-api.{deployment.region}.amazonaws.com"
    prefix = deployment.variables["name_prefix"]
    assert out["websocket_url"] == f"wss://{host}/{STAGE}"
    assert out["connections_endpoint"] == f"https://{host}/{STAGE}"
    assert out["table_name"] == f"{prefix}-connections"
    assert out["function_name"] == f"{prefix}-handler"
    assert out["site_bucket"].startswith(f"{prefix}-site-")


def test_every_route_targets_the_one_lambda_integration(deployment: AppliedDeployment) -> None:
    """The five routes select on body.action and all reach one AWS_PROXY integration."""
    api = deployment.client("apigatewayv2")
    api_id = deployment.outputs["api_id"]
    described = api.get_api(ApiId=api_id)
    assert described["ProtocolType"] == "WEBSOCKET"
    assert described["RouteSelectionExpression"] == "$request.body.action"

    integrations = api.get_integrations(ApiId=api_id)["Items"]
    assert len(integrations) == 1
    integration = integrations[0]
    assert integration["IntegrationType"] == "AWS_PROXY"
    function_arn = deployment.client("lambda").get_function(
        FunctionName=deployment.outputs["function_name"]
    )["Configuration"]["FunctionArn"]
    assert integration["IntegrationUri"] == (
        f"arn:aws:apigateway:{deployment.region}:lambda:path/2015-03-31/functions/"
        f"{function_arn}/invocations"
    )

    routes = api.get_routes(ApiId=api_id)["Items"]
    assert {r["RouteKey"] for r in routes} == ROUTE_KEYS
    assert len(routes) == len(ROUTE_KEYS)
    targets = {r["RouteKey"]: r["Target"] for r in routes}
    assert targets == dict.fromkeys(ROUTE_KEYS, f"integrations/{integration['IntegrationId']}")


def test_stage_auto_deploys_with_default_throttling(deployment: AppliedDeployment) -> None:
    """The stage redeploys on every change and throttles every route by default."""
    stage = deployment.client("apigatewayv2").get_stage(
        ApiId=deployment.outputs["api_id"], StageName=STAGE
    )
    assert stage["AutoDeploy"] is True
    assert stage["DefaultRouteSettings"]["ThrottlingBurstLimit"] == 500
    assert stage["DefaultRouteSettings"]["ThrottlingRateLimit"] == 1000
    assert "AccessLogSettings" not in stage  # opt-in, off by default


def test_messages_are_throttled_below_the_stage(deployment: AppliedDeployment) -> None:
    """sendmessage has its own per-route limits, lower than the default every other route gets."""
    stage = deployment.client("apigatewayv2").get_stage(
        ApiId=deployment.outputs["api_id"], StageName=STAGE
    )
    route = stage["RouteSettings"]["sendmessage"]
    assert (route["ThrottlingBurstLimit"], route["ThrottlingRateLimit"]) == (250, 500)


# --- Lambda -----------------------------------------------------------------------------------


def documented_environment() -> set[str]:
    """The variable names of docs/internals.md's "The Lambda's environment" table."""
    text = (REPO_ROOT / "docs" / "internals.md").read_text(encoding="utf-8")
    section = text.split("## The Lambda's environment", 1)[1].split("\n## ", 1)[0]
    names = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", section, flags=re.MULTILINE))
    # boto3's own AWS_* variables are for the local stack only.
    return {name for name in names if not name.startswith("AWS_")}


def test_function_is_built_as_documented(deployment: AppliedDeployment, lambda_zip: Path) -> None:
    """python3.13 on arm64, the documented handler, sized for fan-out, running today's zip."""
    config = deployment.client("lambda").get_function_configuration(
        FunctionName=deployment.outputs["function_name"]
    )
    assert config["Runtime"] == "python3.13"
    assert config["Architectures"] == ["arm64"]
    assert config["Handler"] == "chat.handler.handler"
    assert config["MemorySize"] == 512
    assert config["Timeout"] == 29
    assert config["CodeSha256"] == code_sha256(lambda_zip)
    role = deployment.client("iam").get_role(RoleName=global_name(deployment, "lambda"))
    assert config["Role"] == role["Role"]["Arn"]


def test_function_environment_names_the_table_and_the_endpoint(
    deployment: AppliedDeployment,
) -> None:
    """Exactly the documented variables, naming this deployment's table, endpoint and site."""
    config = deployment.client("lambda").get_function_configuration(
        FunctionName=deployment.outputs["function_name"]
    )
    env = config["Environment"]["Variables"]
    assert set(env) == documented_environment()
    assert env["TABLE_NAME"] == deployment.outputs["table_name"]
    assert env["CONNECTIONS_ENDPOINT"] == deployment.outputs["connections_endpoint"]
    # By default only the deployment's own site may open a socket.
    assert env["ALLOWED_ORIGINS"] == deployment.outputs["website_url"].rstrip("/")
    assert env["MAX_MESSAGE_CHARS"] == "2000"
    assert env["FANOUT_CONCURRENCY"] == str(DEFAULT_FANOUT_CONCURRENCY)
    assert env["CONNECTION_TTL_SECONDS"] == "10800"


def test_only_this_api_stage_may_invoke_the_function(deployment: AppliedDeployment) -> None:
    """The resource policy lets API Gateway invoke, from this API's stage only."""
    policy = deployment.client("lambda").get_policy(
        FunctionName=deployment.outputs["function_name"]
    )
    (statement,) = only_statement(policy["Policy"])
    assert statement["Effect"] == "Allow"
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Principal"] == {"Service": "apigateway.amazonaws.com"}
    account = deployment.client("sts").get_caller_identity()["Account"]
    assert statement["Condition"] == {
        "ArnLike": {
            "AWS:SourceArn": (
                f"arn:aws:execute-api:{deployment.region}:{account}:{deployment.outputs['api_id']}/{STAGE}/*"
            )
        }
    }


def test_log_group_exists_with_retention(deployment: AppliedDeployment) -> None:
    """The function's log group is managed, with a finite retention."""
    name = f"/aws/lambda/{deployment.outputs['function_name']}"
    groups = deployment.client("logs").describe_log_groups(logGroupNamePrefix=name)["logGroups"]
    assert [(g["logGroupName"], g.get("retentionInDays")) for g in groups] == [(name, 14)]


def test_default_tags_reach_the_resources(deployment: AppliedDeployment) -> None:
    """The provider's default_tags mark every taggable resource with the project and deployment."""
    function_arn = deployment.client("lambda").get_function(
        FunctionName=deployment.outputs["function_name"]
    )["Configuration"]["FunctionArn"]
    tags = deployment.client("lambda").list_tags(Resource=function_arn)["Tags"]
    extra = {"Team": "chat"} if deployment.variables.get("tags") else {}
    # The stack's own tags win over var.tags (EXTRA_TAGS tries to replace Stack).
    assert tags == {
        "Project": "awsome-chat",
        "Stack": deployment.variables["name_prefix"],
        "ManagedBy": "terraform",
        **extra,
    }


# --- DynamoDB ---------------------------------------------------------------------------------


def test_table_matches_the_local_stack_schema(deployment: AppliedDeployment) -> None:
    """Keys, attributes, room index and projection equal chat.connections.TABLE_SCHEMA."""
    table = deployment.client("dynamodb").describe_table(
        TableName=deployment.outputs["table_name"]
    )["Table"]

    def by_name(items: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
        return sorted(items, key=lambda item: str(item[key]))

    assert by_name(table["AttributeDefinitions"], "AttributeName") == by_name(
        TABLE_SCHEMA["AttributeDefinitions"], "AttributeName"
    )
    assert table["KeySchema"] == TABLE_SCHEMA["KeySchema"]
    assert table["BillingModeSummary"]["BillingMode"] == TABLE_SCHEMA["BillingMode"]
    indexes = [
        {
            "IndexName": gsi["IndexName"],
            "KeySchema": gsi["KeySchema"],
            "Projection": {
                "ProjectionType": gsi["Projection"]["ProjectionType"],
                "NonKeyAttributes": sorted(gsi["Projection"].get("NonKeyAttributes", [])),
            },
        }
        for gsi in table["GlobalSecondaryIndexes"]
    ]
    assert indexes == [
        {
            **gsi,
            "Projection": {
                **gsi["Projection"],
                "NonKeyAttributes": sorted(gsi["Projection"]["NonKeyAttributes"]),
            },
        }
        for gsi in TABLE_SCHEMA["GlobalSecondaryIndexes"]
    ]


def test_messages_table_matches_the_backends_schema(deployment: AppliedDeployment) -> None:
    """Keys, attributes and the changes index equal chat.messages.TABLE_SCHEMA."""
    table = deployment.client("dynamodb").describe_table(
        TableName=deployment.outputs["messages_table_name"]
    )["Table"]
    assert sorted(table["AttributeDefinitions"], key=str) == sorted(
        MESSAGES_TABLE_SCHEMA["AttributeDefinitions"], key=str
    )
    assert table["KeySchema"] == MESSAGES_TABLE_SCHEMA["KeySchema"]
    indexes = [
        {key: gsi[key] for key in ("IndexName", "KeySchema", "Projection")}
        for gsi in table["GlobalSecondaryIndexes"]
    ]
    assert indexes == MESSAGES_TABLE_SCHEMA["GlobalSecondaryIndexes"]
    assert [gsi["IndexName"] for gsi in indexes] == [CHANGES_INDEX]


def test_table_expires_items_and_is_protected(deployment: AppliedDeployment) -> None:
    """TTL on expiresAt, encryption at rest, deletion protection off, and no point-in-time
    recovery by default: connections hold names for hours, not worth 35 days of backups."""
    dynamodb = deployment.client("dynamodb")
    name = deployment.outputs["table_name"]
    ttl = dynamodb.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": "expiresAt"}
    table = dynamodb.describe_table(TableName=name)["Table"]
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["DeletionProtectionEnabled"] is False
    backups = dynamodb.describe_continuous_backups(TableName=name)["ContinuousBackupsDescription"]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "DISABLED"
    messages = deployment.outputs["messages_table_name"]
    backups = dynamodb.describe_continuous_backups(TableName=messages)[
        "ContinuousBackupsDescription"
    ]
    assert backups["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"] == "ENABLED"


def test_concurrency_and_budget_are_opt_in(deployment: AppliedDeployment) -> None:
    """Without the variables no concurrency is reserved and no budget exists; with
    lambda_reserved_concurrency the function is capped."""
    function = deployment.outputs["function_name"]
    reserved = deployment.client("lambda").get_function_concurrency(FunctionName=function)
    account = deployment.client("sts").get_caller_identity()["Account"]
    budgets = deployment.client("budgets").describe_budgets(AccountId=account).get("Budgets", [])
    prefix = deployment.variables["name_prefix"]
    assert [b for b in budgets if b["BudgetName"].startswith(f"{prefix}-")] == []
    expected = deployment.variables.get("lambda_reserved_concurrency")
    assert reserved.get("ReservedConcurrentExecutions") == expected


# --- IAM --------------------------------------------------------------------------------------


def test_iam_policy_grants_exactly_what_the_code_calls(deployment: AppliedDeployment) -> None:
    """Log writes to its group, and exactly what chat.permissions declares the code does."""
    iam = deployment.client("iam")
    role = global_name(deployment, "lambda")
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    (policy_name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    document = iam.get_role_policy(RoleName=role, PolicyName=policy_name)["PolicyDocument"]
    granted = {
        frozenset(as_set(s["Action"])): as_set(s["Resource"]) for s in only_statement(document)
    }
    assert all(s["Effect"] == "Allow" for s in only_statement(document))

    table_arn = deployment.client("dynamodb").describe_table(
        TableName=deployment.outputs["table_name"]
    )["Table"]["TableArn"]
    messages_arn = deployment.client("dynamodb").describe_table(
        TableName=deployment.outputs["messages_table_name"]
    )["Table"]["TableArn"]
    account = deployment.client("sts").get_caller_identity()["Account"]
    execution_arn = (
        f"arn:aws:execute-api:{deployment.region}:{account}:{deployment.outputs['api_id']}"
    )
    log_group = f"/aws/lambda/{deployment.outputs['function_name']}"

    # chat.permissions declares what the code calls (tests/backend/test_permissions.py).
    expected = {
        frozenset({"logs:CreateLogStream", "logs:PutLogEvents"}): {
            f"arn:aws:logs:{deployment.region}:{account}:log-group:{log_group}:*"
        },
        TABLE_ACTIONS: {table_arn},
        ROOM_INDEX_ACTIONS: {f"{table_arn}/index/{ROOM_INDEX}"},
        MESSAGES_TABLE_ACTIONS: {messages_arn},
        MESSAGES_INDEX_ACTIONS: {f"{messages_arn}/index/{CHANGES_INDEX}"},
        frozenset({MANAGE_CONNECTIONS_ACTION}): {
            f"{execution_arn}/{STAGE}/{method}/@connections/*"
            for method in MANAGE_CONNECTIONS_METHODS
        },
        DELIVERY_SEND_ACTIONS: {delivery_queue_arn(deployment)},
        DELIVERY_RECEIVE_ACTIONS: {delivery_queue_arn(deployment)},
    }
    assert granted == expected


def delivery_queue_arn(deployment: AppliedDeployment, suffix: str = "") -> str:
    """The ARN of the delivery queue (``-dead-letters``: of its dead-letter queue)."""
    sqs = deployment.client("sqs")
    name = f"{deployment.variables['name_prefix']}-delivery{suffix}"
    url = sqs.get_queue_url(QueueName=name)["QueueUrl"]
    arn: str = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    return arn


def test_big_rooms_deliver_through_a_queue_with_dead_letters(
    deployment: AppliedDeployment,
) -> None:
    """The delivery queue is encrypted and redrives to its dead-letter queue; the function
    reads it one job at a time with partial batch failures and at most the configured
    concurrency, and knows its URL."""
    sqs = deployment.client("sqs")
    prefix = deployment.variables["name_prefix"]
    url = sqs.get_queue_url(QueueName=f"{prefix}-delivery")["QueueUrl"]
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["SqsManagedSseEnabled"] == "true"
    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == delivery_queue_arn(deployment, "-dead-letters")
    assert int(redrive["maxReceiveCount"]) == 3
    # Listed unfiltered: moto's FunctionName filter matches ARNs only.
    (mapping,) = [
        m
        for m in deployment.client("lambda").list_event_source_mappings()["EventSourceMappings"]
        if m["EventSourceArn"] == delivery_queue_arn(deployment)
    ]
    assert mapping["FunctionArn"].endswith(f":function:{deployment.outputs['function_name']}")
    assert mapping["BatchSize"] == 1
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["ScalingConfig"] == {"MaximumConcurrency": 8}
    env = deployment.client("lambda").get_function_configuration(
        FunctionName=deployment.outputs["function_name"]
    )["Environment"]["Variables"]
    assert env["DELIVERY_QUEUE_URL"] == url


def test_only_lambda_may_assume_the_role(deployment: AppliedDeployment) -> None:
    """The role trusts the Lambda service and nobody else."""
    role = deployment.client("iam").get_role(RoleName=global_name(deployment, "lambda"))
    (statement,) = only_statement(role["Role"]["AssumeRolePolicyDocument"])
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Action"] == "sts:AssumeRole"


# --- monitoring -------------------------------------------------------------------------------


def test_the_dashboard_shows_what_the_person_on_call_opens_first(
    deployment: AppliedDeployment,
) -> None:
    """The function's EMF metrics, Lambda's and API Gateway's own, for this stack only."""
    dashboard = global_name(deployment)
    function = deployment.outputs["function_name"]
    body = json.loads(
        deployment.client("cloudwatch").get_dashboard(DashboardName=dashboard)["DashboardBody"]
    )
    series = [
        [part for part in metric if isinstance(part, str)]
        for widget in body["widgets"]
        for metric in widget["properties"]["metrics"]
    ]
    names = {(s[0], s[1]) for s in series if len(s) > 1}
    for name in METRICS:  # every metric the function writes
        assert ("awsome-chat", name) in names
    for name in (
        "ConnectCount",
        "MessageCount",
        "IntegrationError",
        "ClientError",
        "ExecutionError",
    ):
        assert ("AWS/ApiGateway", name) in names
    for name in ("Errors", "Throttles", "Duration"):
        assert ("AWS/Lambda", name) in names
    emf = [s for s in series if s and s[0] == "awsome-chat"]
    assert all(s[2:] == ["Function", function] for s in emf)
    # SEARCH needs a namespace with / # : . - in double quotes: it is always quoted.
    searches = [
        part["expression"]
        for widget in body["widgets"]
        for metric in widget["properties"]["metrics"]
        for part in metric
        if isinstance(part, dict) and "SEARCH(" in part.get("expression", "")
    ]
    assert searches == [
        f'SEARCH(\'{{"awsome-chat",Function,ErrorCode}} MetricName="{REFUSED}" '
        f"Function=\"{function}\"', 'Sum', 60)"
    ]
    titles = " ".join(w["properties"]["title"] for w in body["widgets"]).lower()
    assert "live connections" in titles
    assert "p99" in json.dumps(body)
    assert deployment.outputs["dashboard_url"].endswith(f"#dashboards:name={dashboard}")


def test_alarms_page_a_human_through_one_topic(deployment: AppliedDeployment) -> None:
    """Lambda's errors and throttles, the function's server errors and failed deliveries alarm
    to the stack's SNS topic; API Gateway's IntegrationError, which counts $connect's refusals
    by design, does not. An e-mail subscription exists only when alarm_email is set."""
    prefix = deployment.variables["name_prefix"]
    topic = deployment.outputs["alarm_topic_arn"]
    alarms = deployment.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{prefix}-")[
        "MetricAlarms"
    ]
    by_metric = {(a["Namespace"], a["MetricName"]): a for a in alarms}
    assert set(by_metric) == {
        ("AWS/Lambda", "Errors"),
        ("AWS/Lambda", "Throttles"),
        ("awsome-chat", SERVER_ERRORS),
        ("awsome-chat", "failed"),
        ("AWS/SQS", "ApproximateAgeOfOldestMessage"),
        ("AWS/SQS", "ApproximateNumberOfMessagesVisible"),
    }
    for alarm in alarms:
        assert alarm["AlarmActions"] == [topic]
        assert alarm["OKActions"] == [topic]
        assert alarm["TreatMissingData"] == "notBreaching"
    function = [{"Name": "Function", "Value": deployment.outputs["function_name"]}]
    failed = by_metric[("awsome-chat", "failed")]
    assert (failed["Dimensions"], failed["Threshold"]) == (function, 10)
    server = by_metric[("awsome-chat", SERVER_ERRORS)]
    assert (server["Dimensions"], server["Threshold"], server["Statistic"]) == (function, 1, "Sum")
    sns = deployment.client("sns")
    subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    expected = [("email", ALARM_EMAIL)] if deployment.variables.get("alarm_email") else []
    assert [(s["Protocol"], s["Endpoint"]) for s in subscriptions] == expected


def alarm_arns(deployment: AppliedDeployment) -> list[str]:
    """The ARNs of this stack's alarms, as CloudWatch reports them."""
    prefix = deployment.variables["name_prefix"]
    alarms = deployment.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{prefix}-")
    return sorted(a["AlarmArn"] for a in alarms["MetricAlarms"])


def source_conditions(deployment: AppliedDeployment) -> dict[str, Any]:
    """What a statement for CloudWatch must require: this account, and this stack's alarms."""
    account = deployment.client("sts").get_caller_identity()["Account"]
    return {
        "StringEquals": {"aws:SourceAccount": account},
        "ArnLike": {"aws:SourceArn": alarm_arns(deployment)},
    }


def normalised(condition: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """A policy condition with each value list sorted (IAM allows a string for one value)."""
    return {
        test: {key: sorted(value) if isinstance(value, list) else value for key, value in c.items()}
        for test, c in condition.items()
    }


def test_the_alarm_topic_has_a_key_cloudwatch_may_use(deployment: AppliedDeployment) -> None:
    """The topic is encrypted with the stack's own key (CloudWatch cannot use alias/aws/sns, so
    alarms could never publish), rotated yearly; its policy keeps the account as administrator
    and lets CloudWatch encrypt only for this account's alarms of this stack, on this topic."""
    topic = deployment.outputs["alarm_topic_arn"]
    attributes = deployment.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    kms = deployment.client("kms")
    key = kms.describe_key(KeyId=attributes["KmsMasterKeyId"])["KeyMetadata"]
    assert attributes["KmsMasterKeyId"] == key["Arn"] != "alias/aws/sns"
    assert (key["KeyManager"], key["KeyState"], key["KeySpec"]) == (
        "CUSTOMER",
        "Enabled",
        "SYMMETRIC_DEFAULT",
    )
    assert kms.get_key_rotation_status(KeyId=key["KeyId"])["KeyRotationEnabled"] is True
    aliases = kms.list_aliases(KeyId=key["KeyId"])["Aliases"]
    assert [a["AliasName"] for a in aliases] == [
        f"alias/{deployment.variables['name_prefix']}-alarms"
    ]

    account = deployment.client("sts").get_caller_identity()["Account"]
    policy = kms.get_key_policy(KeyId=key["KeyId"], PolicyName="default")["Policy"]
    admin, cloudwatch = only_statement(policy)
    assert admin == {
        "Sid": "AccountAdministersKey",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "kms:*",
        "Resource": "*",
    }
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert as_set(cloudwatch["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
    expected = source_conditions(deployment)
    expected["StringEquals"]["kms:EncryptionContext:aws:sns:topicArn"] = topic  # this topic only
    assert normalised(cloudwatch["Condition"]) == expected


def test_only_this_stacks_alarms_may_publish_to_the_topic(deployment: AppliedDeployment) -> None:
    """The topic policy lets CloudWatch publish for this account's alarms of this stack only
    (aws:SourceAccount, aws:SourceArn), and grants nothing else."""
    topic = deployment.outputs["alarm_topic_arn"]
    attributes = deployment.client("sns").get_topic_attributes(TopicArn=topic)["Attributes"]
    (statement,) = only_statement(attributes["Policy"])
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert as_set(statement["Action"]) == {"sns:Publish"}
    assert statement["Resource"] == topic
    assert normalised(statement["Condition"]) == source_conditions(deployment)


# --- website ----------------------------------------------------------------------------------


def expected_site(deployment: AppliedDeployment) -> dict[str, bytes]:
    """What the bucket should hold: frontend/ with templates rendered as the local stack does."""
    variables = site_variables(deployment.outputs["websocket_url"], 2000)
    site: dict[str, bytes] = {}
    for path in sorted(p for p in SITE_DIR.rglob("*") if p.is_file()):
        key = path.relative_to(SITE_DIR).as_posix()
        if key.endswith(".tpl"):
            text = render_template(path.read_text(encoding="utf-8"), variables, name=key)
            site[key.removesuffix(".tpl")] = text.encode("utf-8")
        else:
            site[key] = path.read_bytes()
    return site


def test_site_files_are_published_with_types_and_etags(deployment: AppliedDeployment) -> None:
    """Each site file is in the bucket, rendered, typed and etagged as the local stack serves it."""
    s3 = deployment.client("s3")
    bucket = deployment.outputs["site_bucket"]
    site = expected_site(deployment)
    assert "index.html" in site
    listed = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    assert {o["Key"] for o in listed} == set(site)
    for key, body in site.items():
        obj = s3.get_object(Bucket=bucket, Key=key)
        assert obj["Body"].read() == body, key
        assert obj["ContentType"] == content_type(PurePosixPath(key)), key
        assert obj["ETag"].strip('"') == hashlib.md5(body).hexdigest(), key  # noqa: S324
        # Every file revalidated, so a page never mixes modules of two deploys.
        assert obj["CacheControl"] == "no-cache", key


def test_config_js_holds_the_websocket_url(deployment: AppliedDeployment) -> None:
    """config.js in the bucket points the page at this deployment's WebSocket URL, uncached."""
    obj = deployment.client("s3").get_object(
        Bucket=deployment.outputs["site_bucket"], Key="config.js"
    )
    text = obj["Body"].read().decode("utf-8")
    assert f'"{deployment.outputs["websocket_url"]}"' in text
    assert "${" not in text
    assert obj["CacheControl"] == "no-cache"


def test_cloudfront_mode_keeps_the_bucket_private(
    deployments: dict[str, AppliedDeployment],
) -> None:
    """Block Public Access fully on, no ACLs, and only this distribution may read, via OAC."""
    deployment = deployments["cloudfront"]
    s3 = deployment.client("s3")
    cloudfront = deployment.client("cloudfront")
    bucket = deployment.outputs["site_bucket"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == dict.fromkeys(
        ["BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"], True
    )
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]

    domain = deployment.outputs["website_url"].removeprefix("https://").rstrip("/")
    (summary,) = [
        d
        for d in cloudfront.list_distributions()["DistributionList"]["Items"]
        if d["DomainName"] == domain
    ]
    distribution = cloudfront.get_distribution(Id=summary["Id"])["Distribution"]
    config = distribution["DistributionConfig"]
    (origin,) = config["Origins"]["Items"]
    assert origin["DomainName"] == f"{bucket}.s3.{deployment.region}.amazonaws.com"
    assert config["DefaultCacheBehavior"]["ViewerProtocolPolicy"] == "redirect-to-https"
    assert config["DefaultRootObject"] == "index.html"

    (statement,) = only_statement(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == f"arn:aws:s3:::{bucket}/*"
    assert statement["Condition"] == {"StringEquals": {"AWS:SourceArn": distribution["ARN"]}}

    controls = cloudfront.list_origin_access_controls()["OriginAccessControlList"]["Items"]
    (control,) = [c for c in controls if c["Name"] == global_name(deployment, "site")]
    assert (
        control["OriginAccessControlOriginType"],
        control["SigningBehavior"],
        control["SigningProtocol"],
    ) == ("s3", "always", "sigv4")


def test_s3_website_mode_is_public_by_policy_only(
    deployments: dict[str, AppliedDeployment],
) -> None:
    """ACLs disabled and blocked; a bucket policy lets anyone read objects; the website is on."""
    deployment = deployments["s3-website"]
    s3 = deployment.client("s3")
    bucket = deployment.outputs["site_bucket"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "IgnorePublicAcls": True,
        "BlockPublicPolicy": False,
        "RestrictPublicBuckets": False,
    }
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    (statement,) = only_statement(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert statement["Principal"] == "*"
    assert statement["Action"] == "s3:GetObject"
    assert statement["Resource"] == f"arn:aws:s3:::{bucket}/*"
    assert s3.get_bucket_website(Bucket=bucket)["IndexDocument"] == {"Suffix": "index.html"}
    assert deployment.outputs["website_url"] == (
        f"http://{bucket}.s3-website-{deployment.region}.amazonaws.com/"
    )


# --- the rehearsal on the CloudFront deployment ----------------------------------------------


@pytest.mark.browser
def test_the_cloudfront_deployment_chats_end_to_end(
    deployments: dict[str, AppliedDeployment], lambda_zip: Path, chromium: Path
) -> None:
    """As `make rehearse` after its apply: every step passes on what Terraform created, `make
    smoke` included (the bucket private, the CSP header skipped saying why), the page
    configured from the deployment, not from local defaults."""
    deployment = deployments["cloudfront"]
    report, printed = run_applied(deployment, RehearsalOptions(lambda_zip=lambda_zip), chromium)
    assert report.problems == []
    assert [s.status for s in report.steps] == ["ok"] * 9
    lines = "\n".join(printed)
    api_id = deployment.outputs["api_id"]
    assert (
        f"mapped config.js wss://{api_id}.execute-api.{deployment.region}.amazonaws.com/{STAGE} "
        "-> ws://127.0.0.1:"
    ) in lines
    assert f"routes {CODE_ROUTES}" in lines
    prefix = PREFIXES["cloudfront"]
    assert (
        f"tables {prefix}-connections and {prefix}-messages in the emulator Terraform applied to"
    ) in lines
    assert "mapped ALLOWED_ORIGINS: https://" in lines
    assert "alice's page shows bob's message" in lines
    smoke = step_lines(report, STEP_SMOKE)
    assert re.search(
        rf"^ok    site bucket: bucket {prefix}-site-\w+ is not public: Block Public Access is "
        "fully on and S3 judges its policy not public$",
        smoke,
        re.M,
    )
    assert f"skip  CSP header: {CSP_HEADER_NOT_REHEARSED} (skipped with --skip)" in smoke
    assert "ok    join/history: join answered members (alice, bob) and history holding " in smoke
    assert smoke.splitlines()[-1] == "10 of 11 checks passed, 1 skipped"


# --- the rehearsal on a broken s3-website deployment ------------------------------------------
# Broken configurations are reported with the exact problem, and the chat is not started on
# them: each test breaks one resource of the s3-website deployment in the emulator as the
# broken Terraform would have created it, and mends it after.

# The API's routes once Terraform's `sendmessage` is renamed `send_message` (the code's routes).
RENAMED_ROUTES = ", ".join(sorted(ROUTE_KEYS - {"sendmessage"} | {"send_message"}))


def rehearse_broken_website(deployment: AppliedDeployment, lambda_zip: Path) -> Report:
    """The rehearsal's steps between apply and destroy on ``deployment`` (no browser)."""
    options = RehearsalOptions(hosting_mode="s3-website", lambda_zip=lambda_zip, browser=False)
    report, _ = run_applied(deployment, options, chromium=None)
    return report


def test_a_route_renamed_in_terraform_is_reported(
    deployments: dict[str, AppliedDeployment], lambda_zip: Path
) -> None:
    """`sendmessage` created as `send_message` (a route renamed in Terraform only): both sides
    of the mismatch are named, and the chat is not started."""
    website = deployments["s3-website"]
    with route_renamed(website, "sendmessage", "send_message"):
        report = rehearse_broken_website(website, lambda_zip)
    assert report.problems == [
        Problem(
            "routes",
            "route 'send_message' exists in the API but the code has no route for it "
            f"(chat.handler.ROUTES has {CODE_ROUTES}): the code would handle its events as "
            "$default",
        ),
        Problem(
            "routes",
            "the code handles route 'sendmessage' but the API has no such route (the API has "
            f"{RENAMED_ROUTES}): frames whose "
            "$request.body.action is 'sendmessage' would reach $default instead",
        ),
    ]
    assert_chat_skipped(report)


def test_a_renamed_table_variable_is_reported(
    deployments: dict[str, AppliedDeployment], lambda_zip: Path
) -> None:
    """TABLE_NAME set as CHAT_TABLE (spelled so in Terraform): reported as missing, as unread
    and as refused by the code, and the chat is not started."""
    website = deployments["s3-website"]
    with variable_renamed(website, "TABLE_NAME", "CHAT_TABLE"):
        report = rehearse_broken_website(website, lambda_zip)
    assert [p.area for p in report.problems] == ["function environment"] * 3
    missing, unread, refused = (p.message for p in report.problems)
    # Terraform sets every variable the code reads (tests/terraform/test_defaults.py), and
    # CHAT_TABLE in place of TABLE_NAME here.
    has = sorted({name.value for name in EnvVar} - {"TABLE_NAME"} | {"CHAT_TABLE"})
    assert missing == (
        "the function's environment has no TABLE_NAME, the variable the code reads the "
        f"connections table's name from (docs/internals.md); it has {', '.join(has)}"
    )
    assert unread.startswith(
        "the function's environment sets CHAT_TABLE, which the code never reads "
        "(chat.runtime.RUNTIME_ENV: "
    )
    assert unread.endswith(
        f"it holds '{website.outputs['table_name']}', the name of a table, so it is probably "
        "meant to be TABLE_NAME"
    )
    assert refused == (
        "the code refuses the function's environment: TABLE_NAME is required: set it to the "
        "connections table's name"
    )
    assert_chat_skipped(report)


# --- destroy ----------------------------------------------------------------------------------


def test_destroy_leaves_nothing(
    deployments: dict[str, AppliedDeployment], moto: MotoServer
) -> None:
    """Both deployments coexist in one account, and destroying them empties it."""
    region = next(iter(deployments.values())).region
    before = emulator_inventory(moto.endpoint, region)
    for mode, deployment in deployments.items():
        assert deployment.outputs["table_name"] in before["dynamodb tables"], mode
        assert deployment.outputs["function_name"] in before["lambda functions"], mode
        assert deployment.outputs["site_bucket"] in before["s3 buckets"], mode
    assert len(before["websocket apis"]) == len(MODES)

    started = time.monotonic()
    with ThreadPoolExecutor(len(deployments)) as pool:
        list(pool.map(AppliedDeployment.destroy, deployments.values()))
    print(f"\ndestroyed both deployments in {time.monotonic() - started:.0f}s")

    for deployment in deployments.values():
        assert deployment.terraform.state_addresses() == []
    after = emulator_inventory(moto.endpoint, region)
    assert after == {kind: [] for kind in before}
