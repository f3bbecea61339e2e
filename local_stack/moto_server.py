"""moto's server in a child process on a free port of 127.0.0.1.

A child, not a thread: moto keeps its state in module globals, which ``moto.mock_aws`` in
unit tests resets, and a server running beside those tests must not lose its resources.

The child binds port 0 and prints the port it got, so no port is ever guessed; it serves
until its stdin closes, so it also ends when the parent dies. It gets no ``AWS_*`` variable
of ours: nothing in it can pick up real credentials or a profile. It runs in its own session,
so Ctrl-C in a terminal reaches only the parent, which can still clean up through it (a
Terraform destroy, say) before stopping it.

It is no door into the developer's machine: it listens on the loopback only (another host is
refused), it answers only requests whose ``Host`` names it on the loopback (the emulator's rule,
``host_allowed``: a DNS-rebinding page reaches it under a name of its own), it answers no
request a browser sends (``browser_request``: no page has a use for moto, since the stack serves
Cognito's public calls on its own origin, and a cross-site form POST to ``/moto-api/reset``
would wipe the stack), moto's global CORS is off, and moto's Lambda never runs code in Docker
(the local stack runs the function itself; deployed functions are only created and read).
Programs (boto3, Terraform, ``urllib``) send neither ``Origin`` nor ``Sec-Fetch-*``, so SDK
calls and ``/moto-api/reset`` from a test still work.

Used by ``local_stack.dynamodb`` (the local stack's tables) and by ``deployment`` as the AWS
emulator Terraform applies to (``quiet=True``).
"""

from __future__ import annotations

import contextlib
import json
import os
import selectors
import subprocess
import sys
from collections.abc import Iterable
from types import TracebackType
from typing import IO, Any, Final, Self
from wsgiref.types import StartResponse, WSGIApplication

from local_stack.emulator.core.access import host_allowed
from local_stack.site import REPO_ROOT

START_TIMEOUT_S: Final = 30.0
LOOPBACK: Final = frozenset({"127.0.0.1", "::1", "localhost"})
STOP_TIMEOUT_S: Final = 5.0
# Headers only browsers send: ``Origin`` on cross-origin and on every POST, and the Fetch
# Metadata headers on every request of current browsers (Fetch Metadata Request Headers, W3C).
BROWSER_HEADERS: Final = ("Origin", "Sec-Fetch-Site", "Sec-Fetch-Mode", "Sec-Fetch-Dest")

# Runs in the child: serve until the parent closes our stdin (or dies), then stop.
# moto's backends take no locks, so two requests at once can interleave inside one: two
# conditional transactions on one key could both succeed, and transact_write_items could fail
# with "dictionary changed size during iteration". DynamoDB applies each request atomically;
# here the server applies one request at a time (connections are still served by threads).
# moto's models remember every instance ever made (``BaseModel.__new__`` appends it to its
# class's ``instances_tracked``, read only by moto's dashboard and emptied only by a reset), and
# DynamoDB makes them per request: every item a Query returns is a copy, and every
# TransactWriteItems deep-copies each table it writes (its rollback). So the server kept every
# copy: memory grew by the messages table's size at each send (the soak's steady scenario: 117 MB
# to 1.2 GB in 3 minutes). DynamoDB's models here are not tracked (not even after a reset, which
# gives every model class a new list); the tables hold what is stored.
# That deep copy also cost time in proportion to the table: a transaction here copies only what
# it can change (local_stack/moto_rollback.py).
_CHILD: Final = """
import logging, sys, threading
sys.path.append(sys.argv[2])  # the repository's root, whatever the working directory
from local_stack.moto_server import pages_refused
from moto.core.config import default_user_config
from moto.core.common_models import BaseModel
from moto.server import ThreadedMotoServer
logging.getLogger("werkzeug").setLevel(logging.ERROR)
default_user_config["lambda"]["use_docker"] = False
default_user_config["batch"]["use_docker"] = False
tracked_new = BaseModel.__new__
def new(cls, *args, **kwargs):
    if cls.__module__.startswith("moto.dynamodb."):
        return object.__new__(cls)
    return tracked_new(cls, *args, **kwargs)
BaseModel.__new__ = staticmethod(new)
import local_stack.moto_rollback
local_stack.moto_rollback.install()
# Cognito's RevokeToken (the page's sign-out), which moto lacks: the refresh token, issued to
# ClientId, stops working, and so do the access tokens made from it (API_RevokeToken.html). An
# unknown or already revoked token is not an error (RFC 7009, 2.2, as Cognito's /oauth2/revoke).
import base64, json
import moto.cognitoidp.responses as cognito_responses
from moto.cognitoidp.exceptions import InvalidParameterException, ResourceNotFoundError
from moto.core.exceptions import JsonRESTError
from moto.core.responses import EmptyResult
def origin_jti(token):
    try:
        payload = token.split(".")[1] + "=" * (-len(token.split(".")[1]) % 4)
        return json.loads(base64.urlsafe_b64decode(payload))["origin_jti"]
    except (IndexError, KeyError, TypeError, ValueError):
        return None
def revoke_token(self):
    token, client_id = self._get_param("Token"), self._get_param("ClientId")
    if not token or not client_id:
        raise InvalidParameterException("Token and ClientId are required.")
    backend = self._get_region_agnostic_backend()._find_backend_for_clientid(client_id)
    pool = next((p for p in backend.user_pools.values() if client_id in p.clients), None)
    if pool is None:
        raise ResourceNotFoundError(client_id)
    issued = pool.refresh_tokens.get(token)
    if issued is not None:
        if issued[0] != client_id:
            raise JsonRESTError("UnauthorizedException", "The token was issued to another client.")
        pool.refresh_tokens[token] = None
        for access_token in list(pool.access_tokens):
            if origin_jti(access_token) == issued[2]:
                del pool.access_tokens[access_token]
    return EmptyResult()
cognito_responses.CognitoIdpResponse.revoke_token = revoke_token
server = ThreadedMotoServer(ip_address=sys.argv[1], port=0, verbose=False)
server.start()
one_at_a_time = threading.Lock()
moto_app = server._server.app
def atomic_app(environ, start_response):
    with one_at_a_time:
        return list(moto_app(environ, start_response))
server._server.app = pages_refused(atomic_app)
print(server.get_host_and_port()[1], flush=True)
sys.stdin.read()
server.stop()
"""


class MotoServerError(RuntimeError):
    """moto's server could not start, or was used while not running."""


class MotoServer:
    """moto's server in a child process; use as a context manager or call start/stop.

    With ``quiet``, the child's stderr is dropped instead of shared with ours: moto's
    complaints about calls it does not emulate would bury a report printed on our stdout
    (the deployment rehearsal's).
    """

    def __init__(
        self, host: str = "127.0.0.1", *, python: str = sys.executable, quiet: bool = False
    ) -> None:
        if host not in LOOPBACK:
            raise MotoServerError(
                f"moto's server listens on the loopback only ({', '.join(sorted(LOOPBACK))}), "
                f"not {host!r}: it answers any request, unauthenticated"
            )
        self.host = host
        self.quiet = quiet
        self.port = 0
        self._python = python
        self._process: subprocess.Popen[str] | None = None

    @property
    def endpoint(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:50123`` (``AWS_ENDPOINT_URL``)."""
        if self._process is None:
            raise MotoServerError("the moto server is not running")
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The child's process id while it runs (to pause it, as an unreachable DynamoDB)."""
        return None if self._process is None else self._process.pid

    def start(self) -> str:
        """Start the server, wait until it reports its port; returns its endpoint URL."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
        # moto answers every origin's browser requests unless told not to (moto.settings).
        env["MOTO_DISABLE_GLOBAL_CORS"] = "true"
        self._process = subprocess.Popen(  # noqa: S603 -- our own interpreter and script
            [self._python, "-c", _CHILD, self.host, str(REPO_ROOT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL if self.quiet else None,
            text=True,
            env=env,
            start_new_session=True,
        )
        assert self._process.stdout is not None  # noqa: S101 -- Popen with stdout=PIPE
        line = _readline(self._process.stdout, START_TIMEOUT_S)
        if not line.strip().isdigit():
            self.stop()
            raise MotoServerError(
                f"moto's server did not start within {START_TIMEOUT_S:.0f} s: is moto[server] "
                f"installed in this interpreter ({self._python})? Run `make .venv/.installed`."
            )
        self.port = int(line)
        return self.endpoint

    def stop(self) -> None:
        """Stop the server (idempotent); kill it if it does not end."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                process.stdin.close()
        # Its state is in memory only, so there is nothing to flush: no need to wait for
        # werkzeug's graceful shutdown (half a second of polling).
        process.terminate()
        reap(process, STOP_TIMEOUT_S)

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def browser_request(headers: Iterable[str]) -> bool:
    """Whether a request with these header names came from a web browser (a page, or a
    navigation): browsers add ``Origin`` or Fetch Metadata, which no SDK or CLI sends."""
    names = {name.lower() for name in headers}
    return any(name.lower() in names for name in BROWSER_HEADERS)


def refusal(host: str | None, port: int, headers: Iterable[str]) -> str | None:
    """Why moto's server must not answer a request (None: answer it): a ``Host`` that does not
    name it on the loopback, or a browser's request (see the module docstring)."""
    if not host_allowed(host, port):
        return "this server answers only its own loopback address"
    if browser_request(headers):
        return "moto answers programs, not web pages (its /moto-api/ would reset the stack)"
    return None


def pages_refused(app: WSGIApplication) -> WSGIApplication:
    """``app`` behind ``refusal``: a refused request gets a 403 JSON error and never reaches
    moto (so a refused ``/moto-api/reset`` resets nothing)."""

    def guarded(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        headers = [key[5:].replace("_", "-") for key in environ if key.startswith("HTTP_")]
        why = refusal(environ.get("HTTP_HOST"), int(environ.get("SERVER_PORT") or -1), headers)
        if why is None:
            return app(environ, start_response)
        body = json.dumps({"__type": "AccessDeniedException", "message": f"Forbidden: {why}"})
        start_response(
            "403 Forbidden",
            [("Content-Type", "application/json"), ("Content-Length", str(len(body)))],
        )
        return [body.encode()]

    return guarded


def reap(process: subprocess.Popen[str], timeout_s: float) -> None:
    """Wait for a child that was asked to stop, kill it after ``timeout_s``, close its stdout."""
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout is not None:
        process.stdout.close()


def _readline(stream: IO[str], timeout: float) -> str:
    """One line from ``stream``, or "" when none comes within ``timeout`` seconds."""
    with selectors.DefaultSelector() as selector:
        selector.register(stream, selectors.EVENT_READ)
        if not selector.select(timeout):
            return ""
    return stream.readline()
