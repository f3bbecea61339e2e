"""The reading of the backend's AWS calls that the IAM test relies on."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.terraform.backend_calls import (
    GATEWAY_MODULE,
    client_method_calls,
    dynamodb_actions,
    http_methods,
    management_api_http_methods,
    operations,
    raw_http_methods,
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


RAW_SAMPLE = """
SEND: Final = "POST"
OTHER = "GET"

def post(connection):
    connection.request(SEND, "/prod/@connections/x", b"{}", {})
    connection.putrequest(method="DELETE", url="/prod/@connections/y")
    unrelated.requests.get("x")             # not a request(...) call
"""


def test_reads_raw_http_methods_from_literals_and_constants() -> None:
    """``request``/``putrequest`` methods come from module constants, literals and keywords."""
    assert raw_http_methods(RAW_SAMPLE) == {"POST", "DELETE"}


@pytest.mark.parametrize(
    "call",
    ["connection.request(method, path)", "connection.request(SEND.lower(), path)", "c.request()"],
)
def test_rejects_a_request_whose_method_cannot_be_read(call: str) -> None:
    """A method the check cannot see is an error, never a method left out of the policy."""
    with pytest.raises(ValueError, match="cannot tell the HTTP method"):
        raw_http_methods(f'SEND = "POST"\n{call}\n')


def test_a_new_raw_method_in_the_gateway_is_derived(tmp_path: Path) -> None:
    """Sending another method from gateway.py changes the derivation (and so fails the IAM
    check until the policy grants it); a method @connections does not have is refused."""
    source = GATEWAY_MODULE.read_text(encoding="utf-8")
    with_delete = tmp_path / "with_delete.py"
    with_delete.write_text(source + '\nconnection.request("DELETE", "/x")\n', encoding="utf-8")
    assert management_api_http_methods(with_delete) == management_api_http_methods() | {"DELETE"}
    with_put = tmp_path / "with_put.py"
    with_put.write_text(source + '\nconnection.request("PUT", "/x")\n', encoding="utf-8")
    with pytest.raises(ValueError, match="PUT"):
        management_api_http_methods(with_put)


def test_the_backend_makes_calls_the_policy_check_can_see() -> None:
    """The backend calls DynamoDB through ``self._client`` and POSTs to ``@connections``."""
    assert "dynamodb:PutItem" in dynamodb_actions()
    assert "POST" in management_api_http_methods()
    assert "POST" in raw_http_methods(GATEWAY_MODULE.read_text(encoding="utf-8"))
