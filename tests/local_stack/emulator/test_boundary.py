"""The emulator does not import the chat: it runs any ``handler(event, context)``, and the chat is
one such handler (README, "Architecture"). Both tests run in a fresh interpreter, since this one
has the chat loaded already."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from tests.local_stack.bare_emulator import BARRED, REPO_ROOT
from tests.local_stack.support import EventLog, wait_until

_IMPORT_EVERY_MODULE = """
import importlib, json, pkgutil, sys
import local_stack.emulator as package
names = [m.name for m in pkgutil.walk_packages(package.__path__, package.__name__ + ".")]
for name in names:
    importlib.import_module(name)
barred = set(sys.argv[1:])
print(json.dumps({
    "modules": names,
    "backend_importable": importlib.util.find_spec("chat") is not None,
    "barred_loaded": sorted(n for n in sys.modules if n.partition(".")[0] in barred),
}))
"""


def _python_env() -> dict[str, str]:
    # The interpreter finds the repository from its working directory, as pytest does not
    # lend it its own sys.path.
    return {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}


def test_no_module_of_the_emulator_imports_the_backend() -> None:
    """Importing every module of ``local_stack.emulator`` loads neither ``chat`` nor
    ``authorizer``, though both are importable (an import would succeed, and show)."""
    found = subprocess.run(
        [sys.executable, "-c", _IMPORT_EVERY_MODULE, *sorted(BARRED)],
        cwd=REPO_ROOT,
        env=_python_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert found.returncode == 0, found.stderr
    report = json.loads(found.stdout)
    assert "local_stack.emulator.server" in report["modules"]
    assert "local_stack.emulator.core.sockets" in report["modules"]
    assert report["backend_importable"], "the check needs the backend on the path to mean much"
    assert report["barred_loaded"] == []


async def _echo(port: int, body: str) -> dict[str, Any]:
    async with connect(f"ws://127.0.0.1:{port}/local", open_timeout=30) as ws:
        await ws.send(body)
        reply: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), 30))
    return reply


def test_the_emulator_alone_runs_a_handler_that_is_not_the_chat(tmp_path: Path) -> None:
    """``handlers.py`` on the bare emulator, with the backend barred from import: a real
    WebSocket client connects, its frame is routed to ``echo``, the function answers through
    ``@connections``, and ``$disconnect`` follows the close."""
    log = EventLog(tmp_path / "events.jsonl")
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.local_stack.bare_emulator", str(log.path)],
        cwd=REPO_ROOT,
        env=_python_env(),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert server.stdin is not None and server.stdout is not None
    try:
        started = server.stdout.readline()
        assert started, f"the bare emulator did not start: {server.stderr and server.stderr.read()}"
        port = int(json.loads(started)["port"])
        body = json.dumps({"action": "echo", "text": "not a chat message"})
        reply = asyncio.run(_echo(port, body))
        connection_id = reply["connectionId"]
        wait_until(lambda: log.events(connection_id, "$disconnect"), what="the $disconnect")
    finally:
        out, err = server.communicate(input="", timeout=60)  # stdin closes: it stops
    assert server.returncode == 0, err
    assert reply == {
        "route": "echo",
        "body": body,
        "isBase64Encoded": False,
        "connectionId": connection_id,
    }
    assert [e["requestContext"]["routeKey"] for e in log.events(connection_id)] == [
        "$connect",
        "echo",
        "$disconnect",
    ]
    assert json.loads(out.splitlines()[-1]) == {"barred_loaded": []}
