"""moto's transactions, rolled back from a copy of only what they can change
(local_stack/moto_rollback.py): a cancelled one still leaves every table as it was."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.dynamodb.models.dynamo_type import Item

from tests.fast_aws import rollback_copies

REGION = "eu-west-1"
TABLES = ("first", "second")
KEPT = {"pk": {"S": "kept"}, "n": {"N": "1"}}
OTHERS = 20


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Two moto tables keyed on ``pk``, each holding ``kept``, ``gone`` and 20 others."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    with rollback_copies(), mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        for table in TABLES:
            client.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            for item in (KEPT, {"pk": {"S": "gone"}}):
                client.put_item(TableName=table, Item=item)
            for n in range(OTHERS):
                client.put_item(TableName=table, Item={"pk": {"S": f"other{n}"}})
        yield client


def every_write_then_a_failed_check(table: str) -> list[dict[str, Any]]:
    """A put, an update of ``kept``, a delete of ``gone``, then a condition that fails."""
    return [
        {"Put": {"TableName": table, "Item": {"pk": {"S": "new"}}}},
        {
            "Update": {
                "TableName": table,
                "Key": {"pk": {"S": "kept"}},
                "UpdateExpression": "SET n = :two",
                "ExpressionAttributeValues": {":two": {"N": "2"}},
            }
        },
        {"Delete": {"TableName": table, "Key": {"pk": {"S": "gone"}}}},
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": {"pk": {"S": "other0"}},
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        },
    ]


def contents(client: Any, table: str) -> list[dict[str, Any]]:
    """Every item of ``table``, in key order."""
    return sorted(client.scan(TableName=table)["Items"], key=lambda item: item["pk"]["S"])


def test_a_cancelled_transaction_leaves_every_table_as_it_was(dynamodb: Any) -> None:
    """A put, an update and a delete on each of two tables, then a failed condition: cancelled,
    and both tables hold exactly what they held before."""
    before = {table: contents(dynamodb, table) for table in TABLES}
    items = [*every_write_then_a_failed_check("first"), *every_write_then_a_failed_check("second")]
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(TransactItems=items)
    assert {table: contents(dynamodb, table) for table in TABLES} == before
    assert KEPT in before["first"]


def test_a_committed_transaction_writes_all_and_copies_only_the_items_it_names(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A put, an update and a delete on each table commit, and the rollback copies are of the
    two items per table that the transaction names, not of the tables' 22 items."""
    copied: list[str] = []
    item_deepcopy = Item.__deepcopy__

    def counting(item: Item, memo: dict[int, Any]) -> Any:
        copied.append(item.hash_key.value)
        return item_deepcopy(item, memo)

    monkeypatch.setattr(Item, "__deepcopy__", counting)
    items = [op for table in TABLES for op in every_write_then_a_failed_check(table)[:3]]
    dynamodb.transact_write_items(TransactItems=items)
    assert set(copied) <= {"kept", "gone"}
    for table in TABLES:
        keys = [item["pk"]["S"] for item in contents(dynamodb, table)]
        assert "new" in keys and "gone" not in keys
        assert {"pk": {"S": "kept"}, "n": {"N": "2"}} in contents(dynamodb, table)
