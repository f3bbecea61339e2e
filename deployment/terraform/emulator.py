"""The local AWS emulator as Terraform and boto3 see it: the provider override that points
every service at it, boto3 clients on it, and an inventory of what it holds.

The emulator itself is ``local_stack.moto_server.MotoServer`` (moto's server in a child).
"""

from __future__ import annotations

import json
from typing import Any, Final

import boto3

# Provider endpoint keys (the aws provider's `endpoints` block) for every service the
# configuration uses; all point at the one emulator.
EMULATED_SERVICES: Final = (
    "apigateway",
    "apigatewayv2",
    "budgets",
    "cloudfront",
    "cloudwatch",
    "cognitoidp",
    "dynamodb",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "sns",
    "sqs",
    "sts",
)

# The one resource of terraform/ the emulator cannot create; the override leaves it out, so
# only the offline tests check it (validate; checkov, tests/terraform/test_checkov.py;
# tests/terraform/test_static.py).
UNEMULATED_RESOURCE: Final = "aws_cloudfront_response_headers_policy"


def boto3_client(service: str, endpoint: str, region: str) -> Any:
    """A boto3 client for ``service`` talking to the emulator with its dummy credentials."""
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id="test",
        aws_secret_access_key="test",  # noqa: S106 - moto's dummy key
    )


UNEMULATED_OVERRIDE: Final = (
    "\n"
    "# moto has no CloudFront response headers policies (CreateResponseHeadersPolicy is\n"
    "# unknown to it): the distribution is created without one (an emulator gap).\n"
    f'resource "{UNEMULATED_RESOURCE}" "site" {{\n'
    "  count = 0\n"
    "}\n"
)


def emulator_override(endpoint: str, configuration: str = "") -> str:
    """The test-only ``provider "aws"`` override pointing every used service at ``endpoint``;
    and, when ``configuration`` (the text of the copied .tf files) declares it, the resource
    the emulator cannot create left out (an override may only name a declared resource)."""
    endpoints = "\n".join(
        f"    {service} = {json.dumps(endpoint)}" for service in EMULATED_SERVICES
    )
    return (
        "# Written by deployment/terraform into a temporary copy of terraform/: points the\n"
        "# provider at the local AWS emulator. Never part of the shipped configuration.\n"
        'provider "aws" {\n'
        '  access_key                  = "test"\n'
        '  secret_key                  = "test"\n'
        "  skip_credentials_validation = true\n"
        "  skip_metadata_api_check     = true\n"
        "  skip_region_validation      = true\n"
        "  s3_use_path_style           = true\n"
        "  endpoints {\n"
        f"{endpoints}\n"
        "  }\n"
        "}\n"
    ) + (UNEMULATED_OVERRIDE if f'resource "{UNEMULATED_RESOURCE}" "site"' in configuration else "")


def emulator_inventory(endpoint: str, region: str) -> dict[str, list[str]]:
    """Everything of a kind this configuration creates, as the emulator lists it.

    For checking that a destroy left nothing behind; one page per listing is enough for the
    handful of resources a test creates.
    """

    def client(service: str) -> Any:
        return boto3_client(service, endpoint, region)

    cloudfront = client("cloudfront")
    iam = client("iam")
    cloudwatch = client("cloudwatch")
    kms = client("kms")
    aliases = kms.list_aliases()["Aliases"]
    aws_managed_keys = {
        a["TargetKeyId"]
        for a in aliases
        if a["AliasName"].startswith("alias/aws/") and "TargetKeyId" in a
    }
    return {
        "cloudwatch dashboards": [
            d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]
        ],
        "cloudwatch alarms": [a["AlarmName"] for a in cloudwatch.describe_alarms()["MetricAlarms"]],
        "sns topics": [t["TopicArn"] for t in client("sns").list_topics()["Topics"]],
        "sqs queues": client("sqs").list_queues().get("QueueUrls", []),
        "lambda event source mappings": [
            m["UUID"] for m in client("lambda").list_event_source_mappings()["EventSourceMappings"]
        ],
        "dynamodb tables": client("dynamodb").list_tables()["TableNames"],
        "lambda functions": [
            f["FunctionName"] for f in client("lambda").list_functions()["Functions"]
        ],
        "iam roles": [r["RoleName"] for r in iam.list_roles()["Roles"]],
        "iam policies": [p["PolicyName"] for p in iam.list_policies(Scope="Local")["Policies"]],
        "websocket apis": [a["Name"] for a in client("apigatewayv2").get_apis()["Items"]],
        "s3 buckets": [b["Name"] for b in client("s3").list_buckets()["Buckets"]],
        "cloudfront distributions": [
            d["Id"] for d in cloudfront.list_distributions()["DistributionList"].get("Items", [])
        ],
        "cloudfront origin access controls": [
            c["Name"]
            for c in cloudfront.list_origin_access_controls()["OriginAccessControlList"].get(
                "Items", []
            )
        ],
        "log groups": [
            g["logGroupName"] for g in client("logs").describe_log_groups()["logGroups"]
        ],
        # A destroyed key is only scheduled for deletion (7 days at least): it stays
        # listed, PendingDeletion, as in AWS; what must be gone is every usable key of
        # ours. AWS managed keys (alias/aws/*: moto makes aws/dynamodb for encrypted
        # tables, and calls it a customer key) belong to the account, not to a stack.
        "kms keys (not pending deletion)": [
            key["KeyId"]
            for key in kms.list_keys()["Keys"]
            if key["KeyId"] not in aws_managed_keys
            and kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["KeyState"] != "PendingDeletion"
        ],
        "kms aliases": [
            a["AliasName"] for a in aliases if not a["AliasName"].startswith("alias/aws/")
        ],
        "cognito user pools": [
            p["Name"] for p in client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]
        ],
    }
