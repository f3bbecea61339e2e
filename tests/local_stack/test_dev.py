"""``make dev``'s runner: starts quickly, serves everything on one port, stops cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from local_stack.cognito import COGNITO_PATH
from local_stack.dev import choose_auth, snapshot
from local_stack.emulator.core.errors import EmulatorConfigError
from tests.local_stack.support import REPO_ROOT


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DevRun:
    """``python -m local_stack.dev`` running on ``port``, past its start-up lines."""

    port: int
    output: str
    """What it printed up to its "Ctrl-C" line."""
    startup_s: float
    process: subprocess.Popen[str]

    def stop(self) -> str:
        """SIGTERM, as Ctrl-C's twin; the rest of its output, once it has exited with 0."""
        self.process.send_signal(signal.SIGTERM)
        rest, _ = self.process.communicate(timeout=15)
        assert self.process.returncode == 0, rest
        return rest


def runner_env(port: int, extra: Mapping[str, str]) -> dict[str, str]:
    """The runner's environment: ours without any TF_VAR_ of the shell, with ``extra``."""
    ours = {key: value for key, value in os.environ.items() if not key.startswith("TF_VAR_")}
    return {**ours, "PORT": str(port), "PYTHONPATH": str(REPO_ROOT), **extra}


@contextmanager
def dev_runner(*args: str, env: Mapping[str, str] | None = None) -> Iterator[DevRun]:
    """Start the runner with ``args`` (and ``env`` over ours) on a free port, read until it
    says how to stop it, and kill it afterwards if the test did not stop it."""
    port = free_port()
    started = time.monotonic()
    process = subprocess.Popen(
        [sys.executable, "-m", "local_stack.dev", *args],
        cwd=REPO_ROOT,
        env=runner_env(port, env or {}),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not any("Ctrl-C" in line for line in lines):
            line = process.stdout.readline()
            assert line, "".join(lines)
            lines.append(line)
        yield DevRun(port, "".join(lines), time.monotonic() - started, process)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_snapshot_sees_python_edits_only(tmp_path: Path) -> None:
    """Changing, adding or removing a .py file changes the snapshot; other files do not."""
    (tmp_path / "pkg").mkdir()
    module = tmp_path / "pkg" / "a.py"
    module.write_text("x = 1\n")
    before = snapshot(tmp_path)
    (tmp_path / "notes.txt").write_text("ignored")
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "a.py").write_text("ignored")
    assert snapshot(tmp_path) == before
    os.utime(module, ns=(1, before[module] + 1_000_000))
    assert snapshot(tmp_path) != before
    (tmp_path / "pkg" / "b.py").write_text("")
    assert len(snapshot(tmp_path)) == 2


def test_dev_runner_starts_serves_and_stops_on_sigterm() -> None:
    """`python -m local_stack.dev` with PORT set prints the URLs within seconds and exits 0."""
    with dev_runner() as dev:
        port = dev.port
        assert f"http://127.0.0.1:{port}/" in dev.output
        assert f"ws://127.0.0.1:{port}/local" in dev.output
        assert dev.startup_s < 10, dev.startup_s
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/config.js", timeout=5) as answer:
            assert f"ws://127.0.0.1:{port}/local".encode() in answer.read()
        assert "stopped" in dev.stop()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0  # nothing listens any more


def test_dev_runner_with_cognito_prints_a_demo_user_that_can_sign_in() -> None:
    """`python -m local_stack.dev --auth cognito` (`make dev AUTH=cognito`) serves the page in
    sign-in mode and prints a demo user whose credentials sign in (needs backend/authorizer)."""
    with dev_runner("--auth", "cognito") as dev:
        found = re.search(r"username (\S+), password (\S+)", dev.output)
        assert found is not None, dev.output
        with urllib.request.urlopen(f"http://127.0.0.1:{dev.port}/config.js", timeout=5) as answer:
            config = answer.read().decode()
        assert 'mode: "cognito"' in config
        client_id = re.search(r'clientId: "([^"]+)"', config)
        assert client_id is not None, config
        sign_in = {
            "ClientId": client_id[1],
            "AuthFlow": "USER_PASSWORD_AUTH",
            "AuthParameters": {"USERNAME": found[1], "PASSWORD": found[2]},
        }
        request = urllib.request.Request(
            f"http://127.0.0.1:{dev.port}{COGNITO_PATH}",
            data=json.dumps(sign_in).encode(),
            headers={
                "X-Amz-Target": "AWSCognitoIdentityProviderService.InitiateAuth",
                "Content-Type": "application/x-amz-json-1.1",
            },
        )
        with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310 -- loopback
            assert "IdToken" in json.loads(answer.read())["AuthenticationResult"]
        dev.stop()


def test_dev_runner_with_oidc_prints_the_issuer_whose_discovery_the_page_uses() -> None:
    """`python -m local_stack.dev --auth oidc` (`make dev AUTH=oidc`) serves the page in oidc
    mode, pointing it at a local issuer that is up, and says how to sign in."""
    with dev_runner("--auth", "oidc") as dev:
        found = re.search(r"OpenID Connect issuer (http://\S+)", dev.output)
        assert found is not None, dev.output
        assert "pick any user name" in dev.output
        with urllib.request.urlopen(f"http://127.0.0.1:{dev.port}/config.js", timeout=5) as answer:
            config = answer.read().decode()
        assert 'mode: "oidc"' in config
        assert f'issuer: "{found[1]}"' in config
        discovery_url = f"{found[1]}/.well-known/openid-configuration"
        with urllib.request.urlopen(discovery_url, timeout=5) as answer:  # noqa: S310 -- loopback
            assert json.loads(answer.read())["issuer"] == found[1]
        dev.stop()


def test_tf_var_settings_reach_the_function() -> None:
    """`TF_VAR_room_max_members=2 make dev`: the function runs with the deployment's setting,
    so a third connection to one room is refused with 403 (a full room); the runner says which
    settings it took and which TF_VAR_ it does not use. Each client is its own loopback address:
    one address holds at most a quarter of a room (here one seat)."""
    with dev_runner(env={"TF_VAR_room_max_members": "2", "TF_VAR_region": "eu-west-1"}) as dev:
        assert "TF_VAR_room_max_members=2 (ROOM_MAX_MEMBERS)" in dev.output
        assert "not used:    TF_VAR_region" in dev.output
        url = f"ws://127.0.0.1:{dev.port}/local?room=small&name="
        with (
            connect(url + "ada", open_timeout=10, source_address=("127.0.0.2", 0)),
            connect(url + "bob", open_timeout=10, source_address=("127.0.0.3", 0)),
        ):
            with pytest.raises(InvalidStatus) as refused:
                connect(url + "cy", open_timeout=10, source_address=("127.0.0.4", 0))
            assert refused.value.response.status_code == 403
        with connect(f"ws://127.0.0.1:{dev.port}/local?room=other&name=cy", open_timeout=10):
            pass
        dev.stop()


def test_an_invalid_tf_var_stops_the_start_naming_it() -> None:
    """`TF_VAR_room_max_members=0 make dev` exits 2 at once, naming the variable and the
    function's rule, as Terraform's validation stops a plan."""
    result = subprocess.run(
        [sys.executable, "-m", "local_stack.dev"],
        cwd=REPO_ROOT,
        env=runner_env(free_port(), {"TF_VAR_room_max_members": "0"}),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert "TF_VAR_room_max_members (ROOM_MAX_MEMBERS) must be between 1" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("flag", "tf_var", "chosen"),
    [
        (None, None, "none"),
        ("cognito", None, "cognito"),
        (None, "oidc", "oidc"),
        ("oidc", "oidc", "oidc"),
    ],
)
def test_tf_var_auth_chooses_the_sign_in_as_auth_does(
    flag: str | None, tf_var: str | None, chosen: str
) -> None:
    """`TF_VAR_auth=oidc make dev` is `make dev AUTH=oidc`; neither is the open chat."""
    assert choose_auth(flag, tf_var) == chosen


@pytest.mark.parametrize(("flag", "tf_var"), [("cognito", "oidc"), (None, "Cognito")])
def test_tf_var_auth_that_disagrees_or_is_not_terraforms_is_refused(
    flag: str | None, tf_var: str
) -> None:
    """AUTH and TF_VAR_auth must agree; TF_VAR_auth takes Terraform's values only."""
    with pytest.raises(EmulatorConfigError, match="TF_VAR_auth"):
        choose_auth(flag, tf_var)
