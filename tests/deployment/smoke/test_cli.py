"""`python -m deployment.smoke` end to end, without Terraform: on the local stack with sign-in
through its OpenID Connect issuer (the mode the rehearsal cannot apply and chat on), and on
endpoints where nothing answers. The rehearsal runs it on what Terraform created, open and with
Cognito (tests/deployment/rehearsal/test_rehearse.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import jwt
import pytest
from authorizer.config import DEFAULT_NAME_CLAIM
from authorizer.names import tag

from deployment.product import token_name
from deployment.smoke import main
from deployment.smoke.sign_in import ID_TOKEN_ENV
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.oidc_issuer import OidcAuth
from local_stack.stack import LIFTED_RATE_LIMITS, Stack, StackOptions, running_stack

BUCKET = "smoke-site"
# The local stack's site server sends no headers, as the rehearsal's does not.
NO_HEADERS = "CSP header=the local stack serves the page without headers"


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat with sign-in at the local OpenID Connect issuer (`make dev AUTH=oidc`), and a
    private bucket standing for the site's in the same moto."""
    options = StackOptions(
        auth=OidcAuth(), function=FunctionSettings(environment=LIFTED_RATE_LIMITS)
    )
    with running_stack(options) as running:
        s3 = boto3.client(
            "s3",
            endpoint_url=running.dynamodb_endpoint,
            region_name=running.region,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        where = (
            {}
            if running.region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": running.region}}
        )
        s3.create_bucket(Bucket=BUCKET, **where)
        s3.put_public_access_block(
            Bucket=BUCKET,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )
        yield running


@pytest.fixture
def outputs(stack: Stack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A file of outputs as Terraform gives them with auth = "oidc", naming the local stack;
    boto3 pointed at its moto (AWS_ENDPOINT_URL), as the rehearsal points it."""
    values = {
        "website_url": stack.page_url,
        "websocket_url": stack.ws_url,
        "connections_endpoint": stack.management_endpoint,
        "table_name": stack.table_name,
        "messages_table_name": stack.messages_table_name,
        "site_bucket": BUCKET,
        "region": stack.region,
        "user_pool_id": None,
        "user_pool_client_id": None,
        "authorizer_function_name": "awsome-chat-authorizer",
        # The local stack's OIDC authorizer names users as Terraform's defaults do.
        "auth_name_claim": DEFAULT_NAME_CLAIM,
        "auth_name_unique": False,
    }
    file = tmp_path / "outputs.json"
    file.write_text(json.dumps({k: {"value": v} for k, v in values.items()}))
    for name in ("AWS_PROFILE", ID_TOKEN_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", stack.dynamodb_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    return file


def statuses(printed: str) -> list[tuple[str, str]]:
    """(status, check) of each check line (between the title and the summary)."""
    return [
        (line.split(None, 1)[0], line.split(None, 1)[1].split(":", 1)[0])
        for line in printed.splitlines()[1:-1]
    ]


@pytest.mark.slow
def test_with_an_oidc_token_every_signed_in_check_passes(
    stack: Stack, outputs: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """A token of the issuer (given in $AWSOME_SMOKE_ID_TOKEN): a tokenless connect is refused,
    the chat names the user as the token does, and every check passes; exit 0, no socket
    left open."""
    assert stack.oidc_issuer is not None
    token = stack.oidc_issuer.sign_in("Ada Lovelace")["id_token"]
    monkeypatch.setenv(ID_TOKEN_ENV, token)
    ada = token_name(token, DEFAULT_NAME_CLAIM, unique=False)
    assert ada.startswith("Ada Lovelace #")  # tagged: OIDC names are not unique
    status = main(["--outputs", str(outputs), "--page-wait", "5", "--skip", NO_HEADERS])
    printed = capsys.readouterr().out
    print(printed)
    assert statuses(printed) == [
        ("ok", "page"),
        ("ok", "config.js"),
        ("ok", "site bucket"),
        ("skip", "CSP header"),
        ("ok", "sign-in"),
        ("ok", "tokenless connect"),
        ("ok", "connect"),
        ("ok", "room delivery"),
        ("ok", "signed-in name"),
        ("ok", "join/history"),
        ("ok", "error frame"),
        ("ok", "@connections GetConnection"),
        ("ok", "@connections DeleteConnection"),
        ("ok", "@connections 410"),
    ]
    assert f"ok    signed-in name: the message came from {ada!r}, the token's name" in printed
    assert "skip  CSP header: the local stack serves the page without headers (skipped" in printed
    assert printed.splitlines()[-1] == "13 of 14 checks passed, 1 skipped"
    assert status == 0
    assert stack.open_connection_ids() == []


@pytest.mark.slow
def test_without_an_oidc_token_the_signed_in_checks_are_skipped(outputs: Path, capsys: Any) -> None:
    """No token: the sign-in line says why, the tokenless connect is still checked, the chat
    checks are skipped (not failed), and the exit status is 0."""
    status = main(["--outputs", str(outputs), "--page-wait", "5", "--skip", NO_HEADERS])
    printed = capsys.readouterr().out
    lines = statuses(printed)
    assert lines[4:6] == [("skip", "sign-in"), ("ok", "tokenless connect")]
    assert {s for s, _ in lines[6:]} == {"skip"}
    assert "skip  connect: no ID token to connect with (see sign-in)" in printed
    assert printed.splitlines()[-1] == "4 of 14 checks passed, 10 skipped"
    assert status == 0


def test_endpoints_where_nothing_answers_fail_and_the_exit_status_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """Nothing listens anywhere: every check that can run fails, those that need them are
    skipped saying so, exit 1."""
    dead = "http://127.0.0.1:9"
    values = {
        "website_url": f"{dead}/",
        "websocket_url": "ws://127.0.0.1:9/prod",
        "connections_endpoint": f"{dead}/prod",
        "table_name": "t",
        "messages_table_name": "m",
        "site_bucket": "b",
        "region": "eu-west-1",
    }
    file = tmp_path / "outputs.json"
    file.write_text(json.dumps(values))
    monkeypatch.setenv("AWS_ENDPOINT_URL", dead)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    assert main(["--outputs", str(file), "--page-wait", "0"]) == 1
    printed = capsys.readouterr().out
    assert statuses(printed) == [
        ("FAIL", "page"),
        ("FAIL", "config.js"),
        ("FAIL", "site bucket"),
        ("skip", "CSP header"),
        ("FAIL", "connect"),
        *[
            ("skip", name)
            for name in (
                "room delivery",
                "join/history",
                "error frame",
                "@connections GetConnection",
                "@connections DeleteConnection",
                "@connections 410",
            )
        ],
    ]
    assert printed.splitlines()[-1] == "0 of 11 checks passed, 7 skipped, 4 FAILED"


@pytest.mark.slow
def test_an_open_chat_posing_as_signed_in_fails_the_sign_in_checks(
    outputs: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The outputs say oidc but the API lets anyone in: the tokenless connect is let in and
    the chat shows ?name= instead of the token's name; both fail, exit 1."""
    values = json.loads(outputs.read_text())
    with running_stack(
        StackOptions(function=FunctionSettings(environment=LIFTED_RATE_LIMITS))
    ) as open_chat:
        values |= {
            "website_url": {"value": open_chat.page_url},
            "websocket_url": {"value": open_chat.ws_url},
            "connections_endpoint": {"value": open_chat.management_endpoint},
            "table_name": {"value": open_chat.table_name},
            "messages_table_name": {"value": open_chat.messages_table_name},
        }
        (tmp_path / "open.json").write_text(json.dumps(values))
        monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", open_chat.dynamodb_endpoint)
        token = jwt.encode({"sub": "u1", "name": "Ada"}, "k" * 32, algorithm="HS256")
        args = ["--outputs", str(tmp_path / "open.json"), "--page-wait", "5"]
        status = main([*args, "--skip", NO_HEADERS, "--id-token", token])
    printed = capsys.readouterr().out
    print(printed)
    assert status == 1
    assert (
        "FAIL  tokenless connect: a connect without a token was let in: sign-in is not enforced"
        in printed
    )
    assert (
        f"FAIL  signed-in name: alice's message came from 'alice', not 'Ada #{tag('u1')}', the "
        "token's name" in printed
    )


@pytest.mark.slow
def test_a_page_without_the_header_fails_when_cloudfront_should_send_it(
    outputs: Path, capsys: Any
) -> None:
    """The bucket has no website configuration (CloudFront mode), so a page served without a
    Content-Security-Policy header is a failure, never a silent pass."""
    assert main(["--outputs", str(outputs), "--page-wait", "5"]) == 1
    printed = capsys.readouterr().out
    assert (
        "FAIL  CSP header: the page is served without a Content-Security-Policy header: "
        "CloudFront's response headers policy is missing (terraform/website_cloudfront.tf)"
    ) in printed.splitlines()
