"""`make smoke`: after `make deploy`, prove that the real deployment works.

Everything it talks to comes from ``terraform output`` (or a file of it, ``--outputs``): the
page and its config.js at ``website_url``, real WebSocket clients on ``websocket_url``, the
``@connections`` management API at ``connections_endpoint``, the connections table
``table_name`` (to learn a connection's id, which no frame carries), all in ``region`` and
with your AWS credentials (boto3's usual chain: ``AWS_PROFILE``, SSO, environment...). Pointed
at other endpoints (the rehearsal's local gateway, in tests/deployment/test_smoke.py) it checks
those instead: nothing here knows an AWS host name.

One line per check, ``ok`` or ``FAIL`` (or ``skip`` when a check it needs failed); the exit
status is 1 when any check did not pass. It sends a few frames in two rooms of its own (named
``smoke-...``) and deletes one of its own connections; it never touches other rooms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.typing import Origin

from deployment.product import ROOM_INDEX
from deployment.rehearsal.csp import page_allows, url_origin
from deployment.rehearsal.site_checks import CONFIG_JS
from deployment.terraform.workspace import TERRAFORM_DIR

# The outputs the smoke reads (terraform/outputs.tf).
OUTPUTS: Final = ("website_url", "websocket_url", "connections_endpoint", "table_name", "region")
FRAME_TIMEOUT_S: Final = 10.0
QUIET_S: Final = 2.0
# The room index is eventually consistent (docs/protocol.md, "Catching up"): a new connection
# may miss live messages for about a second, so the smoke waits until the index lists it.
INDEX_WAIT_S: Final = 15.0
# CloudFront serves a new distribution only once it has reached the edges (minutes: Terraform
# does not wait for it, terraform/website_cloudfront.tf).
DEFAULT_PAGE_WAIT_S: Final = 900.0
HTTP_TIMEOUT_S: Final = 10.0

Printer = Callable[[str], None]


class SmokeError(Exception):
    """The smoke cannot start: the outputs are missing or incomplete; the message says why."""


class CheckFailed(Exception):
    """One check's expectation was not met; the message says what happened instead."""


@dataclass(frozen=True)
class SmokeTarget:
    """Where the deployment is, as its Terraform outputs say."""

    website_url: str
    websocket_url: str
    connections_endpoint: str
    table_name: str
    region: str

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> SmokeTarget:
        """The target named by ``outputs`` (name -> value, as ``terraform output -json`` has
        them, with or without its ``{"value": ...}`` wrapping)."""
        values = {
            name: value.get("value") if isinstance(value, dict) else value
            for name, value in outputs.items()
        }
        missing = [name for name in OUTPUTS if not values.get(name)]
        if missing:
            raise SmokeError(
                f"the Terraform outputs have no {', '.join(missing)}: run `make deploy` first "
                "(with this version of terraform/), or pass --outputs"
            )
        return cls(**{name: str(values[name]) for name in OUTPUTS})


@dataclass(frozen=True)
class Check:
    """One line of the smoke's answer."""

    name: str
    status: str  # "ok", "FAIL" or "skip"
    detail: str

    def line(self) -> str:
        """``ok    name: detail``."""
        return f"{self.status:<5} {self.name}: {self.detail}"


def terraform_outputs(terraform_dir: Path = TERRAFORM_DIR, terraform: str = "terraform") -> Any:
    """``terraform output -json`` of the deployment in ``terraform_dir``."""
    try:
        result = subprocess.run(  # noqa: S603 - a fixed command line
            [terraform, f"-chdir={terraform_dir}", "output", "-json"],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    except OSError as error:
        raise SmokeError(f"cannot run {terraform}: {error}") from error
    if result.returncode != 0:
        raise SmokeError(f"`terraform output` failed: {result.stderr.strip()}")
    return json.loads(result.stdout or "{}")


# --- the page ---------------------------------------------------------------------------------


def _get(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cache-Control": "no-cache"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT_S) as answer:  # noqa: S310
            body: bytes = answer.read()
            return int(answer.status), body.decode("utf-8", errors="replace")
    except urllib.error.HTTPError as error:
        return int(error.code), ""


def check_page(target: SmokeTarget, wait_s: float) -> str:
    """The page is served, and its Content-Security-Policy lets it reach the WebSocket API."""
    deadline = time.monotonic() + wait_s
    while True:
        try:
            status, body = _get(target.website_url)
        except (OSError, urllib.error.URLError) as error:
            status, body = 0, str(error)
        if status == 200 or time.monotonic() >= deadline:
            break
        time.sleep(min(15.0, max(0.0, deadline - time.monotonic())))
    if status != 200:
        raise CheckFailed(f"{target.website_url} answered {status or body}")
    origin = url_origin(target.websocket_url)
    allowed, sources = page_allows(body, origin)
    if not allowed:
        raise CheckFailed(f"the page's connect-src ({' '.join(sources)}) does not allow {origin}")
    return f"{target.website_url} is served and its CSP allows {origin}"


def check_config_js(target: SmokeTarget) -> str:
    """config.js, next to the page, names the deployment's WebSocket URL."""
    url = target.website_url.rstrip("/") + "/" + CONFIG_JS
    status, body = _get(url)
    if status != 200:
        raise CheckFailed(f"{url} answered {status}")
    if f'"{target.websocket_url}"' not in body:
        raise CheckFailed(f"{url} does not name {target.websocket_url}")
    return f"{url} points the page at {target.websocket_url}"


# --- WebSocket clients ------------------------------------------------------------------------


class Client:
    """One WebSocket client of the chat, in one room."""

    def __init__(self, name: str, room: str, socket: ClientConnection) -> None:
        self.name, self.room, self.socket = name, room, socket

    async def send(self, frame: Mapping[str, Any] | str) -> None:
        """Send a frame (a mapping is sent as JSON, a string as it is)."""
        await self.socket.send(frame if isinstance(frame, str) else json.dumps(frame))

    async def wait_for(
        self, wanted: Callable[[dict[str, Any]], bool], what: str, timeout_s: float
    ) -> dict[str, Any]:
        """The first frame ``wanted`` accepts; other frames (presence, history...) are skipped."""
        deadline = time.monotonic() + timeout_s
        while (left := deadline - time.monotonic()) > 0:
            try:
                raw = await asyncio.wait_for(self.socket.recv(), left)
            except TimeoutError:
                break
            except ConnectionClosed as closed:
                raise CheckFailed(f"{self.name}'s socket closed waiting for {what}") from closed
            frame = json.loads(raw)
            if isinstance(frame, dict) and wanted(frame):
                return frame
        raise CheckFailed(f"{self.name} received no {what} within {timeout_s:.0f} s")


async def _join(target: SmokeTarget, name: str, room: str) -> Client:
    # As the page connects: with the site's origin, which the function's allowlist admits.
    url = f"{target.websocket_url}?name={name}&room={room}"
    try:
        socket = await connect(
            url,
            origin=Origin(url_origin(target.website_url)),
            open_timeout=FRAME_TIMEOUT_S,
            proxy=None,
        )
    except InvalidStatus as refused:
        raise CheckFailed(
            f"{name} could not connect: HTTP {refused.response.status_code}"
        ) from refused
    return Client(name, room, socket)


def _is_message(text: str) -> Callable[[dict[str, Any]], bool]:
    return lambda frame: frame.get("type") == "message" and frame.get("text") == text


async def _listed(client: Client, others: Sequence[str]) -> None:
    """Ask ``members`` until every name of ``others`` is listed (the index has caught up)."""
    deadline = time.monotonic() + INDEX_WAIT_S
    while True:
        await client.send({"action": "members"})
        frame = await client.wait_for(
            lambda f: f.get("type") == "members", "members frame", FRAME_TIMEOUT_S
        )
        names = json.dumps(frame.get("members", []))
        if all(f'"{other}"' in names for other in others):
            return
        if time.monotonic() > deadline:
            raise CheckFailed(f"{client.room}'s member list never showed {', '.join(others)}")
        await asyncio.sleep(0.5)


# --- @connections -----------------------------------------------------------------------------


def _connection_id(dynamodb: Any, table: str, room: str) -> str:
    """The one connection of ``room``, from the table's room index (eventually consistent)."""
    deadline = time.monotonic() + INDEX_WAIT_S
    while True:
        items = dynamodb.query(
            TableName=table,
            IndexName=ROOM_INDEX,
            KeyConditionExpression="room = :room",
            ExpressionAttributeValues={":room": {"S": room}},
        )["Items"]
        if len(items) == 1:
            return str(items[0]["connectionId"]["S"])
        if time.monotonic() > deadline:
            raise CheckFailed(f"{table} lists {len(items)} connections in {room}, expected 1")
        time.sleep(0.5)


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


# --- the run ----------------------------------------------------------------------------------


class _Run:
    """The checks in order; a check that needs a failed one is skipped."""

    def __init__(self, out: Printer) -> None:
        self.out = out
        self.checks: list[Check] = []

    def record(self, name: str, status: str, detail: str) -> None:
        check = Check(name, status, detail)
        self.checks.append(check)
        self.out(check.line())

    def passed(self, name: str) -> bool:
        return any(c.name == name and c.status == "ok" for c in self.checks)


def run_smoke(
    target: SmokeTarget,
    *,
    session: boto3.session.Session | None = None,
    page_wait_s: float = DEFAULT_PAGE_WAIT_S,
    out: Printer = print,
) -> list[Check]:
    """Every check against ``target``, one line each to ``out``; the checks, in order."""
    run = _Run(out)
    site_checks: list[tuple[str, Callable[[], str]]] = [
        ("page", lambda: check_page(target, page_wait_s)),
        ("config.js", lambda: check_config_js(target)),
    ]
    for name, check in site_checks:
        try:
            run.record(name, "ok", check())
        except CheckFailed as failed:
            run.record(name, "FAIL", str(failed))
    session = session or boto3.session.Session(region_name=target.region)
    asyncio.run(_chat_checks(target, session, run))
    return run.checks


async def _chat_checks(target: SmokeTarget, session: boto3.session.Session, run: _Run) -> None:
    tag = uuid.uuid4().hex[:8]
    here, there = f"smoke-{tag}-a", f"smoke-{tag}-b"
    clients: list[Client] = []
    try:
        try:
            for name, room in (("alice", here), ("bob", here), ("carol", there)):
                clients.append(await _join(target, name, room))
            alice, bob, carol = clients
            await _listed(alice, ["alice", "bob"])
            run.record("connect", "ok", f"alice and bob in {here}, carol in {there}")
        except (CheckFailed, OSError, WebSocketException) as failed:
            run.record("connect", "FAIL", f"{target.websocket_url}: {failed}")
            for name in ("room delivery", "error frame", "@connections"):
                run.record(name, "skip", "no connection")
            return
        await _delivery(run, alice, bob, carol)
        await _error_frame(run, bob)
        await _management(run, target, session, carol)
    finally:
        await asyncio.gather(*(c.socket.close() for c in clients), return_exceptions=True)


async def _delivery(run: _Run, alice: Client, bob: Client, carol: Client) -> None:
    text = f"smoke test {uuid.uuid4().hex[:8]}"
    try:
        await alice.send({"action": "sendmessage", "text": text})
        await bob.wait_for(_is_message(text), "message from alice", FRAME_TIMEOUT_S)
        try:
            await carol.wait_for(_is_message(text), "message", QUIET_S)
        except CheckFailed:
            pass
        else:
            raise CheckFailed(f"carol, in {carol.room}, received alice's message too")
        run.record("room delivery", "ok", "bob got alice's message, carol in another room did not")
    except (CheckFailed, WebSocketException) as failed:
        run.record("room delivery", "FAIL", str(failed))


async def _error_frame(run: _Run, bob: Client) -> None:
    try:
        await bob.send("this is not JSON")
        frame = await bob.wait_for(
            lambda f: f.get("type") == "error", "error frame", FRAME_TIMEOUT_S
        )
        run.record("error frame", "ok", f"a frame that is not JSON is answered {frame['code']!r}")
    except (CheckFailed, WebSocketException, KeyError) as failed:
        run.record("error frame", "FAIL", str(failed))


async def _management(
    run: _Run, target: SmokeTarget, session: boto3.session.Session, carol: Client
) -> None:
    config = Config(connect_timeout=5, read_timeout=10, retries={"max_attempts": 2})
    management = session.client(
        "apigatewaymanagementapi",
        endpoint_url=target.connections_endpoint,
        region_name=target.region,
        config=config,
    )
    dynamodb = session.client("dynamodb", region_name=target.region, config=config)
    try:
        connection_id = await asyncio.to_thread(
            _connection_id, dynamodb, target.table_name, carol.room
        )
        answer = await asyncio.to_thread(management.get_connection, ConnectionId=connection_id)
        run.record(
            "@connections GetConnection",
            "ok",
            f"{target.connections_endpoint} knows carol's connection (connected "
            f"{answer['ConnectedAt']:%H:%M:%S})",
        )
        await asyncio.to_thread(management.delete_connection, ConnectionId=connection_id)
        try:
            await asyncio.wait_for(carol.socket.wait_closed(), FRAME_TIMEOUT_S)
        except TimeoutError as error:
            raise CheckFailed("carol's socket stayed open after DeleteConnection") from error
        run.record("@connections DeleteConnection", "ok", "carol's socket was closed")
    except (CheckFailed, ClientError, BotoCoreError) as failed:
        run.record("@connections", "FAIL", str(failed))
        return
    try:
        await asyncio.to_thread(management.get_connection, ConnectionId=connection_id)
    except ClientError as gone:
        if _status(gone) == 410:
            run.record("@connections 410", "ok", "GetConnection of the deleted one answers 410")
            return
        run.record("@connections 410", "FAIL", f"expected 410 (GoneException), got {gone}")
        return
    run.record("@connections 410", "FAIL", "the deleted connection is still known")


# --- the command line -------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m deployment.smoke``: exit status 0 when every check passed, else 1."""
    parser = argparse.ArgumentParser(
        prog="python -m deployment.smoke",
        description="Check a deployment made with `make deploy`, as its Terraform outputs name it.",
    )
    parser.add_argument(
        "--outputs",
        type=Path,
        help="a file of `terraform output -json` (default: run it in --terraform-dir)",
    )
    parser.add_argument("--terraform-dir", type=Path, default=TERRAFORM_DIR)
    parser.add_argument(
        "--page-wait",
        type=float,
        default=DEFAULT_PAGE_WAIT_S,
        help="seconds to wait for the page to be served (a new CloudFront distribution takes "
        f"minutes; default {DEFAULT_PAGE_WAIT_S:.0f})",
    )
    args = parser.parse_args(argv)
    try:
        outputs = (
            json.loads(args.outputs.read_text(encoding="utf-8"))
            if args.outputs
            else terraform_outputs(args.terraform_dir)
        )
        target = SmokeTarget.from_outputs(outputs)
    except (SmokeError, OSError, ValueError) as error:
        print(f"smoke: {error}", file=sys.stderr)
        return 1
    print(f"Smoke test of {target.website_url} ({target.region})")
    checks = run_smoke(target, page_wait_s=args.page_wait)
    failed = [c for c in checks if c.status != "ok"]
    print(f"{len(checks) - len(failed)} of {len(checks)} checks passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
