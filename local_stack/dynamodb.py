"""The chat's tables in a local DynamoDB.

The schemas are the product's, defined beside the code that reads and writes each table:
``chat.connections.TABLE_SCHEMA`` (the connections table of docs/internals.md; a Terraform test
proves ``terraform/`` creates the same keys, index and projection) and
``chat.messages.TABLE_SCHEMA``.

``MotoServer`` (``local_stack.moto_server``: moto's server in a child process on a free port of
127.0.0.1) holds the table locally: ``with MotoServer() as db: db.endpoint``.
"""

from __future__ import annotations

import copy
from typing import Any

from chat.connections import TABLE_SCHEMA, TTL_ATTRIBUTE

from local_stack.emulator.lambda_runtime import DUMMY_CREDENTIALS
from local_stack.moto_server import MotoServer

__all__ = [
    "TTL_ATTRIBUTE",
    "MotoServer",
    "create_table",
    "dynamodb_client",
]


def dynamodb_client(endpoint: str, region: str) -> Any:
    """A boto3 DynamoDB client for a local endpoint, with dummy credentials."""
    import boto3  # noqa: PLC0415 -- heavy, and only needed when a table is created

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
    )


def create_table(
    endpoint: str, table_name: str, region: str, schema: dict[str, Any] = TABLE_SCHEMA
) -> None:
    """Create a table from ``schema`` (default: the connections table) with TTL on
    ``TTL_ATTRIBUTE``; the messages table passes ``chat.messages.TABLE_SCHEMA``."""
    client = dynamodb_client(endpoint, region)
    client.create_table(TableName=table_name, **copy.deepcopy(schema))
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )
