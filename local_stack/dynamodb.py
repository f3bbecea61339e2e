"""The connections table and a local DynamoDB to hold it.

``TABLE_SCHEMA`` is the table of docs/internals.md as ``create_table`` arguments (all but
``TableName``); a Terraform test proves ``terraform/`` creates the same keys, index and
projection, so the local stack and AWS cannot drift apart.

``LocalDynamoDB`` runs moto's server in a child process on a free port of 127.0.0.1. A child,
not a thread: moto keeps its state in module globals, which ``moto.mock_aws`` in unit tests
resets, and a stack running beside those tests must not lose its table.
"""

from __future__ import annotations

import copy
import subprocess
import sys
import threading
from types import TracebackType
from typing import Any, Final

from local_stack.emulator.lambda_runtime import DUMMY_CREDENTIALS

INDEX_NAME: Final = "room-index"
TTL_ATTRIBUTE: Final = "expiresAt"

TABLE_SCHEMA: Final[dict[str, Any]] = {
    "AttributeDefinitions": [
        {"AttributeName": "connectionId", "AttributeType": "S"},
        {"AttributeName": "room", "AttributeType": "S"},
    ],
    "KeySchema": [{"AttributeName": "connectionId", "KeyType": "HASH"}],
    "BillingMode": "PAY_PER_REQUEST",
    "GlobalSecondaryIndexes": [
        {
            "IndexName": INDEX_NAME,
            "KeySchema": [{"AttributeName": "room", "KeyType": "HASH"}],
            # The fan-out reads only ids and expiry: project nothing else.
            "Projection": {"ProjectionType": "INCLUDE", "NonKeyAttributes": [TTL_ATTRIBUTE]},
        }
    ],
}
"""``create_table`` keyword arguments for the connections table, except ``TableName``."""

_START_TIMEOUT_S: Final = 30.0

# Runs in the child: serve until the parent closes our stdin (or dies), then stop.
_CHILD: Final = """
import logging, sys
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
server = ThreadedMotoServer(ip_address=sys.argv[1], port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


def dynamodb_client(endpoint: str, region: str) -> Any:
    """A boto3 DynamoDB client for a local endpoint, with dummy credentials."""
    import boto3  # noqa: PLC0415 -- heavy, and only needed when a table is created

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=DUMMY_CREDENTIALS["AWS_SESSION_TOKEN"],
    )


def create_table(endpoint: str, table_name: str, region: str) -> None:
    """Create the connections table (``TABLE_SCHEMA``) with TTL on ``expiresAt``."""
    client = dynamodb_client(endpoint, region)
    client.create_table(TableName=table_name, **copy.deepcopy(TABLE_SCHEMA))
    client.get_waiter("table_exists").wait(
        TableName=table_name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 100}
    )
    client.update_time_to_live(
        TableName=table_name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


class LocalDynamoDB:
    """moto's server in a child process; use as a context manager or call start/stop."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._process: subprocess.Popen[str] | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        """The endpoint URL (``AWS_ENDPOINT_URL_DYNAMODB``)."""
        if self._process is None:
            raise RuntimeError("LocalDynamoDB is not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> str:
        """Start the server; returns its endpoint URL."""
        self._process = subprocess.Popen(  # noqa: S603 -- our own interpreter and script
            [sys.executable, "-c", _CHILD, self.host],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            start_new_session=True,  # Ctrl-C in `make dev` is the parent's to handle
        )
        stdout = self._process.stdout
        line: list[str] = []
        if stdout is not None:
            reader = threading.Thread(target=lambda: line.append(stdout.readline()), daemon=True)
            reader.start()
            reader.join(_START_TIMEOUT_S)
        if not line or not line[0].strip().isdigit():
            self.stop()
            raise RuntimeError(f"moto's DynamoDB server did not start within {_START_TIMEOUT_S} s")
        self.port = int(line[0])
        return self.endpoint

    def stop(self) -> None:
        """Stop the server (idempotent)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        # Its state is in memory only, so there is nothing to flush: no need to wait for
        # werkzeug's graceful shutdown (half a second of polling).
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()

    def __enter__(self) -> LocalDynamoDB:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
