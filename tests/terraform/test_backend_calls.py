"""The reading of the backend's AWS calls that the IAM test relies on."""

from __future__ import annotations

import pytest

from tests.terraform.backend_calls import (
    client_method_calls,
    dynamodb_actions,
    http_methods,
    management_api_http_methods,
    operations,
)

SAMPLE = """
class Store:
    def put(self):
        self._client.put_item(TableName="t", Item={})

    def scan_all(self):
        page = self._client.scan(TableName="t")
        other.query(TableName="t")          # not our client
        self.client.delete_item()           # another attribute
        return page
"""


def test_finds_only_calls_on_the_injected_client() -> None:
    """Methods called on ``self._client`` are found; calls on other objects are not."""
    assert client_method_calls(SAMPLE) == {"put_item", "scan"}


def test_maps_methods_to_api_operations() -> None:
    """boto3 method names map to the operations IAM names actions after."""
    assert operations("dynamodb", {"put_item", "query"}) == {
        "put_item": "PutItem",
        "query": "Query",
    }


def test_rejects_a_method_that_is_no_api_call() -> None:
    """A paginator or a typo is reported, never dropped from the policy check."""
    with pytest.raises(ValueError, match="get_paginator"):
        operations("dynamodb", {"get_paginator", "put_item"})


def test_management_api_calls_map_to_http_methods() -> None:
    """PostToConnection is a POST and DeleteConnection a DELETE on ``@connections``."""
    assert http_methods("apigatewaymanagementapi", {"post_to_connection"}) == {"POST"}
    assert http_methods("apigatewaymanagementapi", {"delete_connection"}) == {"DELETE"}


def test_the_backend_makes_calls_the_policy_check_can_see() -> None:
    """The backend's modules do call DynamoDB and ``@connections`` through ``self._client``."""
    assert "dynamodb:PutItem" in dynamodb_actions()
    assert management_api_http_methods()
