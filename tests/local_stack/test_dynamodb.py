"""The connections table schema and the local DynamoDB."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from chat.connections import (
    CONNECTION_ID_ATTRIBUTE,
    ROOM_INDEX,
    ROOM_SHARD_ATTRIBUTE,
    TABLE_SCHEMA,
    TTL_ATTRIBUTE,
)

from local_stack.dynamodb import MotoServer, create_table, dynamodb_client


def test_local_dynamodb_holds_the_table_with_ttl() -> None:
    """moto's server starts on a free port; the created table has the schema and TTL."""
    with MotoServer() as database:
        assert database.endpoint.startswith("http://127.0.0.1:")
        create_table(database.endpoint, "conns", "eu-west-1")
        client = dynamodb_client(database.endpoint, "eu-west-1")
        table = client.describe_table(TableName="conns")["Table"]
        assert table["KeySchema"] == TABLE_SCHEMA["KeySchema"]
        (index,) = table["GlobalSecondaryIndexes"]
        assert index["IndexName"] == ROOM_INDEX
        assert index["Projection"] == TABLE_SCHEMA["GlobalSecondaryIndexes"][0]["Projection"]
        assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
        ttl = client.describe_time_to_live(TableName="conns")["TimeToLiveDescription"]
        assert ttl == {"TimeToLiveStatus": "ENABLED", "AttributeName": TTL_ATTRIBUTE}
        client.put_item(
            TableName="conns",
            Item={CONNECTION_ID_ATTRIBUTE: {"S": "a"}, ROOM_SHARD_ATTRIBUTE: {"S": "r#0"}},
        )
        found = client.query(
            TableName="conns",
            IndexName=ROOM_INDEX,
            KeyConditionExpression=f"{ROOM_SHARD_ATTRIBUTE} = :r",
            ExpressionAttributeValues={":r": {"S": "r#0"}},
        )
        assert [i[CONNECTION_ID_ATTRIBUTE]["S"] for i in found["Items"]] == ["a"]
        endpoint = database.endpoint
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(endpoint, timeout=2)  # noqa: S310 -- the stopped local server


def test_two_local_databases_are_independent() -> None:
    """Each MotoServer is its own process: a table in one is absent from the other."""
    with MotoServer() as first, MotoServer() as second:
        assert first.endpoint != second.endpoint
        create_table(first.endpoint, "only-here", "us-east-1")
        names = dynamodb_client(second.endpoint, "us-east-1").list_tables()["TableNames"]
        assert names == []
