"""The rehearsal's chat checks pass on a working local stack and fail on a miswired one.

These run against ``running_stack`` directly (no Terraform), so they are quick; the full
rehearsal runs the same checks on what Terraform created.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from chat.config import EnvVar

from deployment.rehearsal.e2e_browser import BROWSER_AREA, browser_check
from deployment.rehearsal.e2e_websocket import WEBSOCKET_AREA, websocket_checks
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import CHAT_ROUTES, Stack, StackOptions, running_stack


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    """The chat as `make dev` runs it, with its site, origins open."""
    with running_stack(StackOptions()) as running:
        yield running


def run_websocket_checks(
    stack: Stack, *, origins_restricted: bool = False
) -> tuple[list[str], list[str]]:
    """The checks' notes and problem texts against ``stack``."""
    notes, problems = websocket_checks(
        stack.ws_url,
        dynamodb=stack.dynamodb(),
        table_name=stack.table_name,
        origins_restricted=origins_restricted,
    )
    assert all(p.area == WEBSOCKET_AREA for p in problems)
    return notes, [p.message for p in problems]


def test_websocket_checks_pass_on_a_working_stack(stack: Stack) -> None:
    """Two rooms, delivery, pong, $default and the stored items all check out."""
    notes, problems = run_websocket_checks(stack)
    assert problems == []
    assert notes[1:] == [
        "the three connections are stored in the table Terraform created",
        "sendmessage: alice's message reached alice and bob in their room",
        "ping: carol got a pong and nothing from the other room",
        "rooms are separate: carol's message stayed in her room",
        "$default: an unknown action is answered with unknown_action",
    ]


def test_websocket_checks_fail_when_sendmessage_is_not_routed() -> None:
    """Without a sendmessage route the frame reaches $default: alice gets an error, not chat."""
    routes = CHAT_ROUTES - {"sendmessage"}
    options = StackOptions(site_dir=None, emulator=EmulatorSettings(routes=routes))
    with running_stack(options) as miswired:
        _, problems = run_websocket_checks(miswired)
    (problem,) = problems
    assert problem.startswith("alice expected {'type': 'message'")
    assert "'code': 'unknown_action'" in problem


def test_websocket_checks_fail_when_the_table_is_not_the_functions() -> None:
    """Items stored somewhere else than the table the checks read are noticed."""
    with running_stack(StackOptions(site_dir=None)) as running:
        running.dynamodb().create_table(
            TableName="other",
            AttributeDefinitions=[
                {"AttributeName": "connectionId", "AttributeType": "S"},
                {"AttributeName": "roomShard", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "connectionId", "KeyType": "HASH"}],
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "room-index",
                    "KeySchema": [{"AttributeName": "roomShard", "KeyType": "HASH"}],
                    "Projection": {"ProjectionType": "KEYS_ONLY"},
                }
            ],
        )
        _, problems = websocket_checks(
            running.ws_url,
            dynamodb=running.dynamodb(),
            table_name="other",
            origins_restricted=False,
        )
    (problem,) = problems
    assert problem.message.startswith("the table Terraform created holds {")
    assert ": 0, " in problem.message


def test_the_origin_check_needs_the_allowlist_enforced() -> None:
    """With origins open (an empty allowlist; the local stack admits only its page by
    default), the check that a foreign origin is refused fails, naming it."""
    options = StackOptions(
        site_dir=None, function=FunctionSettings(environment={EnvVar.ALLOWED_ORIGINS: ""})
    )
    with running_stack(options) as open_stack:
        _, problems = run_websocket_checks(open_stack, origins_restricted=True)
    assert problems == [
        "a browser from https://not-the-chat.example was let in although ALLOWED_ORIGINS "
        "restricts origins"
    ]


def test_the_origin_check_passes_when_the_allowlist_is_set() -> None:
    """A restricted stack refuses the foreign origin with 403."""
    options = StackOptions(
        site_dir=None,
        function=FunctionSettings(environment={EnvVar.ALLOWED_ORIGINS: "http://127.0.0.1:1"}),
    )
    with running_stack(options) as restricted:
        notes, problems = run_websocket_checks(restricted, origins_restricted=True)
    assert problems == []
    assert notes[-1] == (
        "a browser from https://not-the-chat.example is refused with 403 (ALLOWED_ORIGINS)"
    )


@pytest.mark.browser
def test_browser_check_passes_on_a_working_site(stack: Stack, chromium: Path) -> None:
    """Two pages of the site exchange a message each way."""
    notes, problems = browser_check(stack.page_url, chromium)
    assert problems == []
    assert notes[1:] == ["bob's page shows alice's message", "alice's page shows bob's message"]


@pytest.mark.browser
def test_browser_check_fails_when_the_csp_blocks_the_socket(chromium: Path) -> None:
    """A page whose CSP names another origin cannot connect; the console says why."""
    variables = {"websocket_origin": "ws://127.0.0.1:1"}
    with running_stack(StackOptions(site_variables=variables)) as blocked:
        _, problems = browser_check(blocked.page_url, chromium, timeout_ms=3000)
    (problem,) = problems
    assert problem.area == BROWSER_AREA
    assert problem.message.startswith("alice's page did not connect within 3 s")
    assert "Content Security Policy" in problem.message
