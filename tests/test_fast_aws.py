"""The test processes' two AWS shortcuts (tests/fast_aws.py, on for every test by
tests/conftest.py) save their time and change no answer."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.session
import moto.dynamodb.models as moto_dynamodb
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

REGION = "eu-west-1"
TABLES = ("first", "second")


def test_botocore_sessions_share_one_loader() -> None:
    """Two sessions read the SDK's files through one loader, so the second parses nothing."""
    one, two = botocore.session.Session(), botocore.session.Session()
    assert one.get_component("data_loader") is two.get_component("data_loader")
    assert one.get_service_model("dynamodb").operation_names == (
        two.get_service_model("dynamodb").operation_names
    )


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Two moto tables keyed on ``pk``, each holding the item ``kept``."""
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing")):
        monkeypatch.setenv(name, value)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        for table in TABLES:
            client.create_table(
                TableName=table,
                KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
            client.put_item(TableName=table, Item={"pk": {"S": "kept"}, "n": {"N": "1"}})
        yield client


def puts_then_a_failed_check(table: str) -> list[dict[str, Any]]:
    """Two writes to ``table`` and a condition on its ``kept`` item that does not hold."""
    return [{"Put": {"TableName": table, "Item": {"pk": {"S": f"new{n}"}}}} for n in (1, 2)] + [
        {
            "ConditionCheck": {
                "TableName": table,
                "Key": {"pk": {"S": "kept"}},
                "ConditionExpression": "n = :two",
                "ExpressionAttributeValues": {":two": {"N": "2"}},
            }
        }
    ]


def test_a_cancelled_transaction_leaves_every_table_as_it_was(dynamodb: Any) -> None:
    """Writes to two tables, three operations each, then a failed condition: cancelled, and
    both tables hold only what they held before, their earlier writes undone."""
    items = [*puts_then_a_failed_check("first"), *puts_then_a_failed_check("second")]
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(TransactItems=items)
    for table in TABLES:
        assert dynamodb.scan(TableName=table)["Items"] == [{"pk": {"S": "kept"}, "n": {"N": "1"}}]


def test_a_transaction_copies_each_table_once(
    dynamodb: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Six operations on two tables take two copies of a table, not six, and a committed
    transaction writes all it was given."""
    copied: list[str] = []
    deepcopy = copy.deepcopy

    def counting(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, moto_dynamodb.Table):
            copied.append(value.name)
        return deepcopy(value, memo)

    monkeypatch.setattr(copy, "deepcopy", counting)
    items = [
        {"Put": {"TableName": table, "Item": {"pk": {"S": f"new{n}"}}}}
        for table in TABLES
        for n in (1, 2, 3)
    ]
    dynamodb.transact_write_items(TransactItems=items)
    assert sorted(copied) == sorted(TABLES)
    for table in TABLES:
        assert len(dynamodb.scan(TableName=table)["Items"]) == 4
