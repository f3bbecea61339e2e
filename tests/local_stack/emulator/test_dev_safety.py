"""`make dev` is no door into the developer's machine: the emulator answers its own address
only, posts must carry a well-formed SigV4 signature for its region, and browsers may join from
its own page only."""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import Iterator

import boto3
import pytest
from websockets.exceptions import InvalidStatus

from local_stack.emulator.core.access import BAD_SIGNATURE, check_signature, host_allowed
from local_stack.emulator.core.management import FORBIDDEN
from local_stack.stack import Stack, StackOptions, running_stack
from tests.local_stack.support import management_client, ws_connect

SIGNED = (
    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/eu-west-1/execute-api/aws4_request, "
    "SignedHeaders=host;x-amz-date, Signature=" + "a" * 64
)


@pytest.mark.parametrize(
    ("authorization", "error"),
    [
        (None, FORBIDDEN),
        (SIGNED, None),
        (SIGNED.replace("eu-west-1", "us-east-1"), BAD_SIGNATURE),  # another region
        (SIGNED.replace("execute-api", "s3"), BAD_SIGNATURE),  # another service
        (SIGNED.replace("host;", ""), BAD_SIGNATURE),  # the host not signed
        ("Bearer anything", BAD_SIGNATURE),
        (SIGNED[:-1], BAD_SIGNATURE),  # a signature of 63 hex digits
    ],
)
def test_only_a_well_formed_sigv4_signature_passes(
    authorization: str | None, error: object
) -> None:
    """The format, region, service and signed host are checked (the signature's value cannot
    be: the emulator holds no secret)."""
    assert check_signature(authorization, "eu-west-1") == error


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("127.0.0.1:8080", True),
        ("localhost:8080", True),
        ("[::1]:8080", True),
        ("evil.example:8080", False),  # a rebinding page's own name
        ("127.0.0.1:9090", False),
        ("127.0.0.1", False),
        (None, False),
    ],
)
def test_the_host_must_name_this_server_on_the_loopback(host: str | None, allowed: bool) -> None:
    """DNS rebinding sends the attacker's name as Host: refused."""
    assert host_allowed(host, 8080) is allowed


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat with its site, as `make dev` runs it."""
    with running_stack(StackOptions()) as running:
        yield running


def status_for_host(stack: Stack, host: str, path: str = "/") -> int:
    """The status of a GET with the given Host header."""
    connection = http.client.HTTPConnection("127.0.0.1", stack.port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host})
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_rebinding_page_cannot_reach_the_site_or_the_api(stack: Stack) -> None:
    """The page and @connections answer 403 to a foreign Host and normally to their own."""
    assert status_for_host(stack, f"127.0.0.1:{stack.port}") == 200
    assert status_for_host(stack, f"localhost:{stack.port}") == 200
    assert status_for_host(stack, f"evil.example:{stack.port}") == 403
    assert status_for_host(stack, "evil.example", "/local/@connections/x") == 403


def test_a_web_page_cannot_reach_the_stacks_moto_or_reset_it(stack: Stack) -> None:
    """make dev's moto refuses a rebinding page's Host and a cross-site POST to
    /moto-api/reset (403), and the stack's tables survive both."""
    port = int(stack.dynamodb_endpoint.rsplit(":", 1)[1])

    def status(headers: dict[str, str]) -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            connection.request("POST", "/moto-api/reset", headers=headers)
            answer = connection.getresponse()
            answer.read()
            return answer.status
        finally:
            connection.close()

    assert status({"Host": f"evil.example:{port}"}) == 403
    assert status({"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"}) == 403
    tables = stack.dynamodb().list_tables()["TableNames"]
    assert {stack.table_name, stack.messages_table_name} <= set(tables)


def test_a_post_signed_for_another_region_is_refused(stack: Stack) -> None:
    """A client configured for another region gets 403 ForbiddenException."""
    with pytest.raises(management_client(stack).exceptions.GoneException):
        management_client(stack).post_to_connection(ConnectionId="nobody", Data=b"{}")
    elsewhere = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=stack.management_endpoint,
        region_name="ap-south-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with pytest.raises(elsewhere.exceptions.ForbiddenException):
        elsewhere.post_to_connection(ConnectionId="nobody", Data=b"{}")


def test_browsers_join_from_the_stacks_own_page_only(stack: Stack) -> None:
    """By default the function admits the page's own origin (under either loopback name);
    another site's page is refused with 403; a client without Origin is not a browser."""

    # A name each: a name is held until the last connection's $disconnect has run, which
    # may come after the next $connect (the test is about origins, not names).
    async def status(origin: str | None, name: str) -> int:
        headers = {} if origin is None else {"Origin": origin}
        try:
            async with ws_connect(
                f"{stack.ws_url}?name={name}&room=origins", origin=None, additional_headers=headers
            ):
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code

    async def all_statuses() -> list[int]:
        return [
            await status(f"http://127.0.0.1:{stack.port}", "o1"),
            await status(f"http://localhost:{stack.port}", "o2"),
            await status("https://evil.example", "o3"),
            await status(None, "o4"),
        ]

    assert asyncio.run(all_statuses()) == [101, 101, 403, 101]
