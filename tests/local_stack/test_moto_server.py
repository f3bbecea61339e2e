"""moto's server in a child process: port, environment, errors, stop."""

from __future__ import annotations

import http.client
import json
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from chat.connections import TABLE_SCHEMA
from chat.messages import TABLE_SCHEMA as MESSAGES_SCHEMA

from local_stack.dynamodb import create_table, dynamodb_client
from local_stack.moto_server import MotoServer, MotoServerError, refusal
from soak.scenarios import rss_mb


def test_stop_closes_the_port_and_is_idempotent() -> None:
    """After stop the endpoint refuses connections, a second stop is a no-op, endpoint raises."""
    server = MotoServer()
    endpoint = server.start()
    assert endpoint == server.endpoint
    assert endpoint.startswith("http://127.0.0.1:")
    assert server.port > 0
    server.stop()
    server.stop()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(endpoint, timeout=2)  # noqa: S310 -- the stopped local server
    with pytest.raises(MotoServerError, match="not running"):
        _ = server.endpoint


def test_child_gets_no_aws_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_* variables of the parent never reach the child; others do."""
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "must-not-leak")
    monkeypatch.setenv("AWSOME_MARKER", "kept")
    seen = tmp_path / "env.txt"
    wrapper = tmp_path / "python"
    wrapper.write_text(f'#!/bin/sh\nenv > "{seen}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    with MotoServer(python=str(wrapper)):
        names = {line.split("=", 1)[0] for line in seen.read_text().splitlines()}
    assert "AWSOME_MARKER" in names
    assert not {name for name in names if name.startswith("AWS_")}


@pytest.mark.parametrize("quiet", [False, True])
def test_a_child_that_cannot_serve_raises_an_error_naming_the_interpreter(
    quiet: bool, tmp_path: Path
) -> None:
    """A child that exits without a port raises ``MotoServerError`` naming the interpreter."""
    broken = tmp_path / "python"
    broken.write_text("#!/bin/sh\nexit 1\n")
    broken.chmod(0o755)
    server = MotoServer(python=str(broken), quiet=quiet)
    with pytest.raises(MotoServerError, match=r"did not start.*make \.venv/\.installed"):
        server.start()
    with pytest.raises(MotoServerError):
        _ = server.endpoint


def test_it_refuses_to_listen_beyond_the_loopback() -> None:
    """moto answers anything, unauthenticated: it never listens on another interface."""
    with pytest.raises(MotoServerError, match="loopback only"):
        MotoServer("0.0.0.0")  # noqa: S104 -- the address being refused


def test_browsers_on_other_origins_get_no_cors_grant() -> None:
    """A page the developer visits cannot read moto's answers: no Access-Control-Allow-*."""
    with MotoServer(quiet=True) as server:
        preflight = urllib.request.Request(  # noqa: S310 -- the local test server
            server.endpoint + "/",
            method="OPTIONS",
            headers={
                "Origin": "https://evil.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "x-amz-target,content-type",
            },
        )
        try:
            with urllib.request.urlopen(preflight, timeout=5) as answer:  # noqa: S310
                headers = answer.headers
        except urllib.error.HTTPError as refused:
            headers = refused.headers
        assert "Access-Control-Allow-Origin" not in headers


def _status(server: MotoServer, method: str, path: str, headers: dict[str, str]) -> int:
    """The status of one raw request to ``server`` with exactly these extra headers."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        connection.request(method, path, headers=headers)
        answer = connection.getresponse()
        answer.read()
        return answer.status
    finally:
        connection.close()


@pytest.mark.parametrize(
    ("host", "headers", "refused"),
    [
        ("127.0.0.1:4566", [], False),
        ("localhost:4566", ["Content-Type", "X-Amz-Target", "Authorization"], False),
        ("evil.example:4566", [], True),  # a DNS-rebinding page's own name
        ("127.0.0.1:9999", [], True),
        (None, [], True),
        ("127.0.0.1:4566", ["Origin"], True),
        ("127.0.0.1:4566", ["sec-fetch-site"], True),
        ("127.0.0.1:4566", ["Sec-Fetch-Mode"], True),
    ],
)
def test_moto_answers_its_own_address_and_programs_only(
    host: str | None, headers: list[str], refused: bool
) -> None:
    """The emulator's Host rule, and no request that carries a browser's headers."""
    assert (refusal(host, 4566, headers) is not None) is refused


def test_a_foreign_host_is_refused_and_sdk_calls_still_work() -> None:
    """A request naming another host (DNS rebinding) gets 403; boto3 is served as before."""
    with MotoServer(quiet=True) as server:
        assert _status(server, "GET", "/", {"Host": f"evil.example:{server.port}"}) == 403
        assert _status(server, "POST", "/moto-api/reset", {"Host": "evil.example"}) == 403
        create_table(server.endpoint, "kept", "us-east-1", TABLE_SCHEMA)
        tables = dynamodb_client(server.endpoint, "us-east-1").list_tables()["TableNames"]
    assert tables == ["kept"]


@pytest.mark.parametrize(
    "browser",
    [
        {"Origin": "https://evil.example"},  # a cross-site form POST
        {"Origin": "null"},  # the same from a sandboxed frame
        {"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"},
        {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"},  # a typed URL
    ],
)
def test_a_browser_cannot_reset_the_stack(browser: dict[str, str]) -> None:
    """A browser's POST to /moto-api/reset is refused with 403 and the table survives; the
    same POST from a program (a test's reset) still resets moto."""
    with MotoServer(quiet=True) as server:
        create_table(server.endpoint, "kept", "us-east-1", TABLE_SCHEMA)
        client = dynamodb_client(server.endpoint, "us-east-1")
        assert _status(server, "POST", "/moto-api/reset", browser) == 403
        assert client.list_tables()["TableNames"] == ["kept"]
        assert _status(server, "POST", "/moto-api/reset", {}) == 200
        assert client.list_tables()["TableNames"] == []


def test_lambda_invocations_never_start_docker() -> None:
    """A function created in moto is invoked by moto's stand-in, never run in a container."""
    import boto3  # noqa: PLC0415 -- only this test needs a client

    with MotoServer(quiet=True) as server:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        iam = session.client("iam", endpoint_url=server.endpoint)
        role = iam.create_role(
            RoleName="r",
            AssumeRolePolicyDocument='{"Version":"2012-10-17","Statement":[]}',
        )["Role"]["Arn"]
        functions = session.client("lambda", endpoint_url=server.endpoint)
        functions.create_function(
            FunctionName="f",
            Runtime="python3.13",
            Role=role,
            Handler="x.handler",
            Code={"ZipFile": b"PK\x05\x06" + b"\x00" * 18},
        )
        answer = functions.invoke(FunctionName="f", Payload=b"{}")
        assert answer["StatusCode"] == 200
        assert "FunctionError" not in answer


def test_concurrent_transactions_on_one_key_succeed_once() -> None:
    """DynamoDB applies a transaction atomically: of concurrent transactions that each claim
    one key on condition that it does not exist (the chat's clientId claim plus the message),
    exactly one succeeds. moto's threaded server interleaved them: the soak saw one clientId
    stored as two messages, and moto logged "dictionary changed size during iteration" from
    transact_write_items. The server now applies one request at a time."""
    with MotoServer() as server:
        create_table(server.endpoint, "messages", "us-east-1", MESSAGES_SCHEMA)
        clients = [dynamodb_client(server.endpoint, "us-east-1") for _ in range(8)]
        for client in clients:
            client.list_tables()  # connected before the race starts
        winners = []
        for round_ in range(60):
            barrier, won = threading.Barrier(len(clients)), []

            def claim(
                n: int,
                round_: int = round_,
                barrier: threading.Barrier = barrier,
                won: list[int] = won,
            ) -> None:
                client = clients[n]
                barrier.wait()
                claim_item = {"room": {"S": "r#client"}, "id": {"S": f"c{round_}"}}
                message = {"room": {"S": "r"}, "id": {"S": f"m{round_}-{n}"}}
                try:
                    client.transact_write_items(
                        TransactItems=[
                            {
                                "Put": {
                                    "TableName": "messages",
                                    "Item": claim_item,
                                    "ConditionExpression": "attribute_not_exists(#id)",
                                    "ExpressionAttributeNames": {"#id": "id"},
                                }
                            },
                            {"Put": {"TableName": "messages", "Item": message}},
                        ]
                    )
                except client.exceptions.TransactionCanceledException:
                    return
                won.append(n)

            threads = [threading.Thread(target=claim, args=(n,)) for n in range(len(clients))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            winners.append(len(won))
        assert winners == [1] * 60


# What moto's process may gain over SENDS sends: the stored items take about 5 KB a send
# (1.5 MB); the copies moto used to keep took 50 MB and more (quadratic in SENDS).
SENDS = 150
MOTO_GROWTH_BOUND_MB = 12.0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc for the RSS")
def test_memory_grows_by_what_is_stored_not_by_each_requests_copies() -> None:
    """Each send (the chat's TransactWriteItems of a message and its clientId claim, then a
    Query of the room's latest messages) grows moto's memory by the items it stores only.
    moto kept every model instance it ever made, so every item a Query returned and every
    table a transaction deep-copied for its rollback stayed: the soak's steady scenario saw
    117 MB grow to 1.2 GB in 3 minutes."""
    with MotoServer() as server:
        assert server.pid is not None
        create_table(server.endpoint, "messages", "us-east-1", MESSAGES_SCHEMA)
        client = dynamodb_client(server.endpoint, "us-east-1")

        def send(n: int) -> None:
            message_id = f"m{n:08d}"
            client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": "messages",
                            "Item": {
                                "room": {"S": "r#client"},
                                "id": {"S": f"c{n}"},
                                "messageId": {"S": message_id},
                            },
                            "ConditionExpression": "attribute_not_exists(#id)",
                            "ExpressionAttributeNames": {"#id": "id"},
                        }
                    },
                    {
                        "Put": {
                            "TableName": "messages",
                            "Item": {
                                "room": {"S": "r"},
                                "id": {"S": message_id},
                                "text": {"S": f"message {n}"},
                            },
                        }
                    },
                ]
            )
            client.query(
                TableName="messages",
                KeyConditionExpression="#room = :room",
                ExpressionAttributeNames={"#room": "room"},
                ExpressionAttributeValues={":room": {"S": "r"}},
                ScanIndexForward=False,
                Limit=10,
            )

        for n in range(10):  # moto's lazy imports and first-call caches
            send(n)
        before = rss_mb(server.pid)
        for n in range(10, 10 + SENDS):
            send(n)
        growth = rss_mb(server.pid) - before
    assert growth < MOTO_GROWTH_BOUND_MB, f"moto grew by {growth:.1f} MB over {SENDS} sends"


def test_moto_keeps_no_dynamodb_model_it_made_even_after_a_reset() -> None:
    """moto's dashboard data (``/moto-api/data.json``: every model instance moto remembers)
    lists no DynamoDB item or table, after writes, a query and a transaction, and still none
    after a reset of moto's state (which gives every model class a new list to fill)."""
    with MotoServer() as server:
        _post(server.endpoint + "/moto-api/reset")
        create_table(server.endpoint, "messages", "us-east-1", MESSAGES_SCHEMA)
        client = dynamodb_client(server.endpoint, "us-east-1")
        client.put_item(TableName="messages", Item={"room": {"S": "r"}, "id": {"S": "a"}})
        client.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": "messages", "Item": {"room": {"S": "r"}, "id": {"S": "b"}}}}
            ]
        )
        client.query(
            TableName="messages",
            KeyConditionExpression="#room = :room",
            ExpressionAttributeNames={"#room": "room"},
            ExpressionAttributeValues={":room": {"S": "r"}},
        )
        with urllib.request.urlopen(server.endpoint + "/moto-api/data.json", timeout=5) as answer:  # noqa: S310
            remembered = json.load(answer)
    assert {name: len(kept) for name, kept in remembered["dynamodb"].items() if kept} == {}


def _post(url: str) -> None:
    with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=5):  # noqa: S310
        pass


Key = Callable[[str], dict[str, dict[str, str]]]


@pytest.mark.parametrize(
    ("schema", "key"),
    [
        (MESSAGES_SCHEMA, lambda name: {"room": {"S": "r"}, "id": {"S": name}}),
        (TABLE_SCHEMA, lambda name: {"connectionId": {"S": name}}),
    ],
    ids=["hash and range key", "hash key"],
)
def test_a_cancelled_transaction_changes_nothing(schema: dict[str, object], key: Key) -> None:
    """A transaction whose last condition fails leaves every item as it was: the update, the
    put and the delete before it are rolled back (a transaction's rollback copies only the
    items it names, not the whole table)."""
    with MotoServer() as server:
        create_table(server.endpoint, "t", "us-east-1", schema)
        client = dynamodb_client(server.endpoint, "us-east-1")
        for name in ("updated", "deleted", "other"):
            client.put_item(TableName="t", Item={**key(name), "n": {"N": "1"}})
        before = sorted(map(str, client.scan(TableName="t")["Items"]))
        with pytest.raises(client.exceptions.TransactionCanceledException):
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": "t",
                            "Key": key("updated"),
                            "UpdateExpression": "SET n = :two",
                            "ExpressionAttributeValues": {":two": {"N": "2"}},
                        }
                    },
                    {"Put": {"TableName": "t", "Item": {**key("new"), "n": {"N": "1"}}}},
                    {"Delete": {"TableName": "t", "Key": key("deleted")}},
                    {
                        "ConditionCheck": {
                            "TableName": "t",
                            "Key": key("missing"),
                            "ConditionExpression": "attribute_exists(n)",
                        }
                    },
                ]
            )
        assert sorted(map(str, client.scan(TableName="t")["Items"])) == before
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": "t",
                        "Key": key("updated"),
                        "UpdateExpression": "SET n = :two",
                        "ExpressionAttributeValues": {":two": {"N": "2"}},
                    }
                },
                {"Delete": {"TableName": "t", "Key": key("deleted")}},
            ]
        )
        answer = client.get_item(TableName="t", Key=key("updated"))["Item"]
        assert answer["n"] == {"N": "2"}
        assert "Item" not in client.get_item(TableName="t", Key=key("deleted"))


# Items in the table for the timing below; a transaction used to take 0.12 ms per item, then
# (a copy of the table's index) about 2 µs per partition (22 ms against 3 ms at 10,000).
FULL_TABLE_ITEMS = 10_000


@pytest.mark.parametrize(
    ("schema", "key"),
    [
        (MESSAGES_SCHEMA, lambda name: {"room": {"S": "r"}, "id": {"S": name}}),
        (TABLE_SCHEMA, lambda name: {"connectionId": {"S": name}}),
    ],
    ids=["one partition", "a partition per item"],
)
def test_a_transactions_time_does_not_grow_with_its_table(
    schema: dict[str, object], key: Key
) -> None:
    """A TransactWriteItems takes about as long on a table of 10,000 items as on an empty one,
    whether the items share a partition (a room's messages) or each has its own (connections).
    moto deep-copied every table a transaction writes (for its rollback): 17 times as long at
    4,000 items, so each send slowed as the messages table grew; then the rollback's copy of the
    table's index of partitions made each $connect slower as the room filled."""
    with MotoServer() as server:
        create_table(server.endpoint, "t", "us-east-1", schema)
        client = dynamodb_client(server.endpoint, "us-east-1")
        sent = iter(range(1_000_000))

        def median_transaction_s() -> float:
            times = []
            for _ in range(7):
                n = next(sent)
                started = time.perf_counter()
                client.transact_write_items(
                    TransactItems=[
                        {
                            "Put": {
                                "TableName": "t",
                                "Item": key(f"c{n}"),
                                "ConditionExpression": "attribute_not_exists(#n)",
                                "ExpressionAttributeNames": {"#n": "n"},
                            }
                        },
                        {"Put": {"TableName": "t", "Item": {**key(f"m{n}"), "n": {"N": "1"}}}},
                    ]
                )
                times.append(time.perf_counter() - started)
            return statistics.median(times)

        median_transaction_s()  # moto's lazy imports
        empty = median_transaction_s()
        for batch in range(FULL_TABLE_ITEMS // 25):
            client.batch_write_item(
                RequestItems={
                    "t": [
                        {"PutRequest": {"Item": {**key(f"p{batch}-{n}"), "text": {"S": "stored"}}}}
                        for n in range(25)
                    ]
                }
            )
        full = median_transaction_s()
    # Before: 300 ms against 22 ms (14 times); medians of 7 absorb a loaded machine's spikes.
    assert full < 4 * empty, (
        f"{full * 1000:.0f} ms at {FULL_TABLE_ITEMS} items, {empty * 1000:.0f} ms empty"
    )
