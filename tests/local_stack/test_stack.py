"""``running_stack``: the public API other tests build on."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import urllib.request
from pathlib import Path

import pytest
from chat.config import EnvVar
from chat.messages import TABLE_SCHEMA as MESSAGES_SCHEMA

from local_stack.dynamodb import MotoServer, create_table, dynamodb_client
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.emulator.settings import EmulatorSettings
from local_stack.stack import DEFAULT_TABLE_NAME, Stack, StackOptions, running_stack
from tests.local_stack.support import TEST_ROUTES, handler_options, wait_until, whoami, ws_connect


async def env_of(stack: Stack, name: str) -> str | None:
    """The value the function sees for environment variable ``name``."""
    async with ws_connect(stack.ws_url) as ws:
        await ws.send(json.dumps({"action": "env", "name": name}))
        value: str | None = json.loads(await ws.recv())["value"]
        return value


def test_urls_and_function_environment(tmp_path: Path) -> None:
    """The URLs share one port; the function gets the table, endpoints and overrides."""
    options = handler_options(tmp_path / "log", environment={EnvVar.MAX_MESSAGE_CHARS: "50"})
    with running_stack(options) as stack:
        port = stack.port
        assert stack.page_url == f"http://127.0.0.1:{port}/"
        assert stack.ws_url == f"ws://127.0.0.1:{port}/local"
        assert stack.management_endpoint == f"http://127.0.0.1:{port}/local"
        assert stack.table_name == DEFAULT_TABLE_NAME
        seen = {
            name: asyncio.run(env_of(stack, name))
            for name in (
                EnvVar.TABLE_NAME,
                EnvVar.MESSAGES_TABLE_NAME,
                EnvVar.CONNECTIONS_ENDPOINT,
                "AWS_ENDPOINT_URL_DYNAMODB",
                "AWS_REGION",
                EnvVar.MAX_MESSAGE_CHARS,
                "EVENT_LOG",
            )
        }
        assert seen == {
            EnvVar.TABLE_NAME: stack.table_name,
            EnvVar.MESSAGES_TABLE_NAME: stack.messages_table_name,
            EnvVar.CONNECTIONS_ENDPOINT: stack.management_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": stack.dynamodb_endpoint,
            "AWS_REGION": "us-east-1",
            EnvVar.MAX_MESSAGE_CHARS: "50",
            "EVENT_LOG": None,  # the override replaced the whole mapping given here
        }
        assert stack.environment[EnvVar.MAX_MESSAGE_CHARS] == "50"
        tables = stack.dynamodb().list_tables()["TableNames"]
        assert sorted(tables) == sorted([stack.table_name, stack.messages_table_name])
    assert EnvVar.TABLE_NAME not in os.environ  # nothing leaked into this process


def test_site_gets_max_message_chars_from_the_function_environment() -> None:
    """config.js carries the MAX_MESSAGE_CHARS the function is given."""
    options = StackOptions(
        function=FunctionSettings(environment={EnvVar.MAX_MESSAGE_CHARS: "321"}), warm=False
    )
    with running_stack(options) as stack:
        config = urllib.request.urlopen(stack.page_url + "config.js", timeout=5)  # noqa: S310
        with config as answer:
            assert b'Number("321")' in answer.read()


def test_existing_dynamodb_is_used_as_it_is(tmp_path: Path) -> None:
    """With dynamodb_endpoint and the table names, the stack starts no moto and creates no
    table."""
    with MotoServer() as database:
        create_table(database.endpoint, "made-by-terraform", "us-east-1")
        create_table(database.endpoint, "messages-by-terraform", "us-east-1", MESSAGES_SCHEMA)
        options = StackOptions(
            dynamodb_endpoint=database.endpoint,
            table_name="made-by-terraform",
            messages_table_name="messages-by-terraform",
            site_dir=None,
        )
        with running_stack(options) as stack:
            assert stack.dynamodb_endpoint == database.endpoint
            assert stack.dynamodb_pid is None  # not the stack's to pause

            async def chat() -> None:
                async with ws_connect(stack.ws_url + "?name=zoe&room=here") as ws:
                    await ws.send(json.dumps({"action": "ping"}))
                    assert json.loads(await ws.recv()) == {"type": "pong"}
                    client = dynamodb_client(database.endpoint, "us-east-1")
                    items = client.scan(TableName="made-by-terraform")["Items"]
                    # Besides the connection, only the per-address connect counter.
                    assert [i["name"]["S"] for i in items if "room" in i] == ["zoe"]

            asyncio.run(chat())
        names = dynamodb_client(database.endpoint, "us-east-1").list_tables()["TableNames"]
        assert sorted(names) == ["made-by-terraform", "messages-by-terraform"]


@pytest.mark.parametrize("tables", [{"table_name": "t"}, {"messages_table_name": "m"}])
def test_an_existing_dynamodb_needs_both_table_names(tables: dict[str, str]) -> None:
    """Pointing the stack at a DynamoDB without naming both tables is refused up front."""
    with pytest.raises(EmulatorConfigError, match="table_name and messages_table_name"):
        StackOptions(dynamodb_endpoint="http://127.0.0.1:9", **tables)


def test_two_stacks_run_side_by_side(tmp_path: Path) -> None:
    """Two stacks in one process have their own ports, databases and connections."""
    with (
        running_stack(handler_options(tmp_path / "a")) as first,
        running_stack(handler_options(tmp_path / "b")) as second,
    ):
        assert first.port != second.port
        assert first.dynamodb_endpoint != second.dynamodb_endpoint

        async def chat() -> tuple[str, str]:
            async with ws_connect(first.ws_url) as a, ws_connect(second.ws_url) as b:
                return await whoami(a), await whoami(b)

        a_id, b_id = asyncio.run(chat())
        assert a_id != b_id


def test_everything_stops_on_exit(tmp_path: Path) -> None:
    """After the block, nothing listens on the stack's or moto's port, and no worker lives."""
    with running_stack(handler_options(tmp_path / "log")) as stack:
        asyncio.run(env_of(stack, EnvVar.TABLE_NAME))
        moto_port = int(stack.dynamodb_endpoint.rsplit(":", 1)[1])
        workers = stack.runtime.worker_pids()
        assert workers
        # Once the $disconnect has run, no worker is busy.
        wait_until(lambda: stack.busy_worker_pids() == [], what="idle workers")
        moto_pid = stack.dynamodb_pid
        assert moto_pid is not None
        os.kill(moto_pid, 0)  # moto's own process, alive
    for port in (stack.port, moto_port):
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", port)) != 0
    for pid in [*workers, moto_pid]:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_bad_options_fail_clearly(tmp_path: Path) -> None:
    """Impossible options raise EmulatorConfigError naming the problem."""
    with pytest.raises(EmulatorConfigError, match="table_name"):
        StackOptions(dynamodb_endpoint="http://127.0.0.1:1")
    bad_expression = handler_options(
        tmp_path / "x",
        emulator=EmulatorSettings(routes=TEST_ROUTES, route_selection_expression="action"),
    )
    with (
        pytest.raises(EmulatorConfigError, match="route selection expression"),
        running_stack(bad_expression),
    ):
        pass
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = StackOptions(port=taken.getsockname()[1])
        with pytest.raises(EmulatorConfigError, match="cannot listen"), running_stack(busy):
            pass
