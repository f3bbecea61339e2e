"""``make dev``: the whole chat on http://127.0.0.1:8080, reloading the handler on every edit.

    [TF_VAR_<name>=...] python -m local_stack.dev [--port 8080] [--host 127.0.0.1]
                                                  [--auth none|cognito|oidc]

Starts moto's DynamoDB with the connections table, the API Gateway emulator running
``backend/`` and the site from ``frontend/``, all on one port (``--port``, else ``PORT``, else
8080). With ``--auth cognito`` (``make dev AUTH=cognito``) the chat needs sign-in, as a
deployment with ``auth = "cognito"``: a user pool in moto, the authorizer from
``backend/authorizer``, and a demo user whose password is printed. With ``--auth oidc``
(``make dev AUTH=oidc``) it signs in as ``auth = "oidc"`` does, against a local OpenID Connect
issuer on a port of its own (``local_stack.oidc_issuer``; any user name, no password). Polls
``backend/`` once a second and reloads the handler (and the authorizer) when a ``.py`` file
changes; ``frontend/`` is read on every request, so a browser reload shows edits there. Ctrl-C
or SIGTERM stops everything.

The function takes the deployment's settings as ``terraform apply`` does: every Terraform
variable that ``terraform/lambda.tf`` passes to its environment can be given as
``TF_VAR_<name>`` (``TF_VAR_room_max_members=8 make dev``; ``local_stack.terraform_variables``),
and a bad value stops the start naming it. ``TF_VAR_auth`` chooses the sign-in as ``--auth``
does (the two must agree when both are given).
"""

from __future__ import annotations

import argparse
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType

from chat.config import AuthMode, EnvVar

from local_stack import terraform_variables
from local_stack.cognito import CognitoAuth
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.lambda_runtime import FunctionSettings
from local_stack.oidc_issuer import OidcAuth
from local_stack.stack import Stack, StackOptions, running_stack

_POLL_S = 1.0
DEMO_USERNAME = "demo"
AUTH_CHOICES = tuple(mode.value for mode in AuthMode)


def snapshot(code_dir: Path) -> dict[Path, int]:
    """Modification times of the Python files under ``code_dir``: cheap enough to poll."""
    return {
        path: path.stat().st_mtime_ns
        for path in code_dir.rglob("*.py")
        if "__pycache__" not in path.parts
    }


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m local_stack.dev", description=__doc__)
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ.get("PORT") or 8080),
        help="the one port for page, WebSocket and @connections (default: $PORT or 8080)",
    )
    parser.add_argument("--host", default="127.0.0.1", help="the address to listen on")
    parser.add_argument(
        "--auth",
        choices=AUTH_CHOICES,
        default=None,
        help="none: the open chat (default, or $TF_VAR_auth); cognito: sign-in with a local "
        "Cognito user pool; oidc: sign-in with a local OpenID Connect issuer",
    )
    return parser.parse_args(argv)


def choose_auth(flag: str | None, tf_var: str | None) -> str:
    """The sign-in: ``--auth`` (``make dev AUTH=...``), else ``TF_VAR_auth``, else none;
    ``EmulatorConfigError`` when both are given and differ, or ``TF_VAR_auth`` is not one of
    Terraform's values."""
    name = f"{terraform_variables.PREFIX}auth"
    if tf_var is not None and tf_var not in AUTH_CHOICES:
        raise EmulatorConfigError(
            f"{name} must be one of {', '.join(AUTH_CHOICES)}, got {tf_var!r}"
        )
    if flag is not None and tf_var is not None and flag != tf_var:
        raise EmulatorConfigError(
            f"--auth {flag} (make dev AUTH={flag}) and {name}={tf_var} disagree: give one"
        )
    return flag or tf_var or "none"


def deployment_settings(environ: Mapping[str, str]) -> tuple[dict[str, str], str]:
    """The function's environment from ``TF_VAR_*`` (without ``AUTH_MODE``, which the stack
    sets for its sign-in), and a line for each setting taken and each ``TF_VAR_`` not used."""
    variables = terraform_variables.function_variables()
    environment = terraform_variables.function_environment(environ, variables)
    lines = [
        f"  setting:     {variable.tf_var}={environment[variable.env_var]} ({variable.env_var})\n"
        for variable in variables
        if variable.env_var in environment and variable.env_var != EnvVar.AUTH_MODE
    ]
    lines.extend(
        f"  not used:    {name} (make dev takes only lambda.tf's NAME = var.x settings)\n"
        for name in terraform_variables.ignored(environ, variables)
    )
    return environment, "".join(lines)


def sign_in_help(stack: Stack) -> str:
    """Create the demo user and say how to sign in (nothing without sign-in)."""
    issuer = stack.oidc_issuer
    if issuer is not None:
        return (
            f"  sign-in:     local OpenID Connect issuer {issuer.url} (client "
            f"{issuer.client.client_id})\n"
            "               press Sign in on the page, then pick any user name at the issuer\n"
        )
    pool = stack.user_pool
    if pool is None:
        return ""
    password = f"Demo-{secrets.token_urlsafe(9)}1"
    pool.create_user(DEMO_USERNAME, password)
    return (
        f"  sign-in:     local Cognito user pool {pool.pool_id} (moto)\n"
        f"               username {DEMO_USERNAME}, password {password}\n"
        "               or create an account on the page (any confirmation code works)\n"
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the local stack until Ctrl-C or SIGTERM."""
    args = _arguments(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        print(f"\n{signal.Signals(signum).name}: stopping...", flush=True)
        stop.set()

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)

    started = time.monotonic()
    try:
        environment, settings_help = deployment_settings(os.environ)
        chosen = choose_auth(args.auth, environment.pop(EnvVar.AUTH_MODE, None))
        auth: CognitoAuth | OidcAuth | None = None
        if chosen == "cognito":
            auth = CognitoAuth()
        elif chosen == "oidc":
            auth = OidcAuth()
        options = StackOptions(
            host=args.host,
            port=args.port,
            auth=auth,
            function=FunctionSettings(environment=environment),
        )
        with running_stack(options) as stack:
            print(
                f"awsome-chat is running (started in {time.monotonic() - started:.1f} s)\n"
                f"  page:        {stack.page_url}\n"
                f"  websocket:   {stack.ws_url}\n"
                f"  @connections {stack.management_endpoint}\n"
                f"  dynamodb:    {stack.dynamodb_endpoint} (table {stack.table_name})\n"
                f"{settings_help}"
                f"{sign_in_help(stack)}"
                "Edits to backend/ reload the handler. Ctrl-C stops everything.",
                flush=True,
            )
            code_dir = stack.options.function.code_dir
            seen = snapshot(code_dir)
            while not stop.wait(_POLL_S):
                current = snapshot(code_dir)
                if current != seen:
                    seen = current
                    stack.reload_handler()
                    print(
                        "backend/ changed: the handler reloads on its next invocation", flush=True
                    )
    except EmulatorConfigError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
