"""The whole local stack in one call: DynamoDB, the WebSocket API emulator, the Lambda, the site.

    from local_stack.stack import running_stack, StackOptions

    with running_stack(StackOptions(port=0)) as stack:
        stack.page_url              # "http://127.0.0.1:PORT/"
        stack.ws_url                # "ws://127.0.0.1:PORT/local"
        stack.management_endpoint   # "http://127.0.0.1:PORT/local" (@connections)
        stack.management_tls_endpoint  # "https://127.0.0.1:PORT2/local" with StackOptions(tls=...)
        stack.dynamodb_endpoint     # moto's URL
        stack.table_name

With ``StackOptions(auth=CognitoAuth())`` the chat needs sign-in (``local_stack.cognito``):
``stack.user_pool`` is the local Cognito user pool, ``stack.authorizer`` the authorizer's runtime.
With ``StackOptions(auth=OidcAuth())`` it needs sign-in with a local OpenID Connect issuer on a
port of its own (``local_stack.oidc_issuer``): ``stack.oidc_issuer``.

Everything runs on 127.0.0.1 in a background thread with its own event loop (the Lambda in
worker processes, moto in a child process), so a test can drive it with blocking or asyncio
clients alike; leaving the ``with`` block stops all of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import ssl
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from aiohttp import web
from chat.config import (
    DEFAULT_MAX_MESSAGE_CHARS,
    MAX_LIVE_CONNECTIONS,
    MAX_RATE_LIMIT_BURST,
    MAX_RATE_LIMIT_PER_MINUTE,
    EnvVar,
)
from chat.messages import TABLE_SCHEMA as MESSAGES_SCHEMA
from chat.protocol import ACTIONS

from local_stack.cognito import COGNITO_PATH, CognitoAuth, UserPool, cognito_endpoint
from local_stack.delivery_poller import (
    DeliveryPoller,
    DeliveryQueues,
    create_queues,
    existing_queues,
)
from local_stack.dynamodb import MotoServer, create_table, dynamodb_client
from local_stack.emulator.core.errors import EmulatorConfigError
from local_stack.emulator.core.routes import RESERVED_ROUTES
from local_stack.emulator.lambda_runtime import FunctionSettings, LambdaRuntime
from local_stack.emulator.server import Emulator
from local_stack.emulator.settings import EmulatorSettings
from local_stack.loop_thread import LoopThread
from local_stack.oidc_issuer import OidcAuth, OidcIssuer
from local_stack.site import FRONTEND_DIR, Site, site_variables
from local_stack.stack_sign_in import (
    auth_mode,
    cognito_page_variables,
    oidc_page_variables,
    sign_in,
)

DEFAULT_TABLE_NAME: Final = "awsome-chat-local-connections"
DEFAULT_MESSAGES_TABLE_NAME: Final = "awsome-chat-local-messages"
# Function environment that lifts the per-connection rate limits to their maximum, for tests
# and benchmarks that send in volume on purpose (a human never meets the defaults).
LIFTED_RATE_LIMITS: Final = {
    EnvVar.RATE_LIMIT_MESSAGES_PER_MINUTE.value: str(MAX_RATE_LIMIT_PER_MINUTE),
    EnvVar.RATE_LIMIT_MESSAGE_BURST.value: str(MAX_RATE_LIMIT_BURST),
    EnvVar.RATE_LIMIT_READS_PER_MINUTE.value: str(MAX_RATE_LIMIT_PER_MINUTE),
    EnvVar.RATE_LIMIT_READ_BURST.value: str(MAX_RATE_LIMIT_BURST),
    # Every test client connects from 127.0.0.1.
    EnvVar.CONNECT_RATE_LIMIT_PER_MINUTE.value: str(MAX_RATE_LIMIT_PER_MINUTE),
    # The shared budgets (every client is one source; a load test fills one room) and the
    # refusal budget (hostile-frame tests are refused on purpose).
    **{
        name.value: str(MAX_RATE_LIMIT_PER_MINUTE)
        for name in (
            EnvVar.RATE_LIMIT_ROOM_MESSAGES_PER_MINUTE,
            EnvVar.RATE_LIMIT_SOURCE_FRAMES_PER_MINUTE,
            EnvVar.RATE_LIMIT_REFUSALS_PER_MINUTE,
        )
    },
    **{
        name.value: str(MAX_RATE_LIMIT_BURST)
        for name in (
            EnvVar.RATE_LIMIT_ROOM_MESSAGE_BURST,
            EnvVar.RATE_LIMIT_SOURCE_FRAME_BURST,
            EnvVar.RATE_LIMIT_REFUSAL_BURST,
        )
    },
    # Still at most a quarter of a room per address (chat.usecases.connect).
    EnvVar.LIVE_CONNECTIONS_PER_ROOM.value: str(MAX_LIVE_CONNECTIONS),
    EnvVar.LIVE_CONNECTIONS_TOTAL.value: str(MAX_LIVE_CONNECTIONS),
}
_START_TIMEOUT_S: Final = 60.0
CHAT_ROUTES: Final = RESERVED_ROUTES | ACTIONS
"""The chat's route keys as Terraform declares them: the reserved ones and the backend's actions."""


@dataclass(frozen=True)
class StackOptions:
    """Everything about a local stack that a test or ``make dev`` may choose.

    The emulator's and the function's settings are their own classes, each default defined
    there once; this adds only what joins them (the port, the site, the table):

        StackOptions(
            emulator=EmulatorSettings(routes=CHAT_ROUTES, faults=FaultInjection(error_rate=0.1)),
            function=FunctionSettings(timeout_s=3.0, environment={EnvVar.MAX_MESSAGE_CHARS: "50"}),
        )
    """

    host: str = "127.0.0.1"
    """The address to listen on; keep it on loopback."""
    port: int = 0
    """The one port for WebSocket, ``@connections`` and site; 0 picks a free one."""
    emulator: EmulatorSettings = field(default_factory=lambda: EmulatorSettings(routes=CHAT_ROUTES))
    """The API: stage, routes (the chat's by default; pass ``CHAT_ROUTES`` when giving other
    settings for the chat), timeouts, fault injection, event loss."""
    function: FunctionSettings = field(default_factory=FunctionSettings)
    """The Lambda: handler, code, limits, region; its ``environment`` is merged over the
    variables built from the stack (table, management endpoint, DynamoDB endpoint, region)."""
    site_dir: Path | None = FRONTEND_DIR
    """The site to serve at ``/`` (``*.tpl`` rendered); None serves no site."""
    site_variables: Mapping[str, str] = field(default_factory=dict)
    """Template variables over the defaults (``websocket_url``, ``websocket_origin``, ...)."""
    dynamodb_endpoint: str | None = None
    """Use this DynamoDB (its table must exist) instead of starting moto."""
    table_name: str | None = None
    """The connections table; required with ``dynamodb_endpoint``, else a default is created."""
    messages_table_name: str | None = None
    """The messages table; required with ``dynamodb_endpoint``, else a default is created."""
    warm: bool = True
    """Load the handler in one worker before returning, so the first connect is not cold."""
    tls: ssl.SSLContext | None = None
    """Also serve the same API over HTTPS with this server context, on a second port
    (``Stack.management_tls_endpoint``); the function still posts over HTTP."""
    auth: CognitoAuth | OidcAuth | None = None
    """Sign-in: ``CognitoAuth`` (``local_stack.cognito``) a user pool in moto, the authorizer
    on ``$connect``, the chat with ``AUTH_MODE=cognito`` and the page's sign-in form (with
    ``dynamodb_endpoint``, that endpoint must be moto's: it serves Cognito); ``OidcAuth``
    (``local_stack.oidc_issuer``) a local OpenID Connect issuer, the authorizer against it,
    ``AUTH_MODE=oidc`` and the page's redirect to the issuer. None, the default, is the open
    chat."""

    sign_in_proxy: UserPool | None = None
    """Serve Cognito's public operations for this pool (made elsewhere, e.g. by Terraform in
    the rehearsal) at ``COGNITO_PATH``, as ``auth`` does for its own pool."""

    def __post_init__(self) -> None:
        if self.auth is not None and self.emulator.authorizer is not None:
            raise EmulatorConfigError(
                "give either auth (the stack's sign-in) or emulator.authorizer, not both"
            )
        if self.dynamodb_endpoint is not None and not (
            self.table_name and self.messages_table_name
        ):
            raise EmulatorConfigError(
                "dynamodb_endpoint needs table_name and messages_table_name: the tables must exist"
            )
        if self.site_dir is not None:
            object.__setattr__(self, "site_dir", Path(self.site_dir))


class Stack:
    """A running local stack (see the module docstring); made by ``running_stack``."""

    def __init__(
        self,
        *,
        options: StackOptions,
        port: int,
        tls_port: int | None,
        dynamodb_endpoint: str,
        table_name: str,
        messages_table_name: str,
        environment: Mapping[str, str],
        emulator: Emulator,
        runtime: LambdaRuntime,
        loop: LoopThread,
        authorizer: LambdaRuntime | None = None,
        user_pool: UserPool | None = None,
        oidc_issuer: OidcIssuer | None = None,
        dynamodb_pid: int | None = None,
        delivery: DeliveryPoller | None = None,
    ) -> None:
        base = f"{options.host}:{port}"
        self.options = options
        self.port = port
        self.page_url = f"http://{base}/"
        self.ws_url = f"ws://{base}/{options.emulator.stage}"
        self.management_endpoint = f"http://{base}/{options.emulator.stage}"
        """The ``@connections`` management API's base URL (the ``CONNECTIONS_ENDPOINT``)."""
        self.management_tls_endpoint = (
            None
            if tls_port is None
            else f"https://{options.host}:{tls_port}/{options.emulator.stage}"
        )
        """The same over HTTPS, with ``StackOptions.tls``."""
        self.dynamodb_endpoint = dynamodb_endpoint
        self.table_name = table_name
        self.messages_table_name = messages_table_name
        self.region = options.function.region
        self.environment = dict(environment)
        """The function's environment variables (without Lambda's reserved ones)."""
        self.emulator = emulator
        self.runtime = runtime
        self.authorizer = authorizer
        """The authorizer's runtime, when the API has one."""
        self.user_pool = user_pool
        """The local Cognito user pool, with ``StackOptions(auth=CognitoAuth())``."""
        self.oidc_issuer = oidc_issuer
        """The local OpenID Connect issuer, with ``StackOptions(auth=OidcAuth())``."""
        self.dynamodb_pid = dynamodb_pid
        """moto's process id when the stack started it (None with ``dynamodb_endpoint``)."""
        self._loop = loop
        self.delivery = delivery
        """The delivery queue's poller (``local_stack.delivery_poller``), when the function's
        environment sets ``DELIVERY_THRESHOLD``."""

    def reload_handler(self) -> None:
        """Make the next invocation import the handler's code afresh (after an edit); the
        authorizer's too, when there is one."""
        self._loop.run(self.runtime.reload())
        if self.authorizer is not None:
            self._loop.run(self.authorizer.reload())

    def open_connection_ids(self) -> list[str]:
        """The ids of every open WebSocket connection."""
        return list(self._loop.run(_call(self.emulator.open_connection_ids)))

    def close_connection(self, connection_id: str) -> bool:
        """Close a connection from the server side (as ``DELETE @connections`` does)."""
        closed: bool = self._loop.run(_call(lambda: self.emulator.close_connection(connection_id)))
        return closed

    def counters(self) -> dict[str, int]:
        """What the emulator counted so far (connects, frames, posts, 410s, injected errors)."""
        counts: dict[str, int] = self._loop.run(_call(lambda: dict(self.emulator.counters)))
        counts["invocations"] = self.runtime.invocations
        counts["cold_starts"] = self.runtime.cold_starts
        return counts

    def busy_worker_pids(self) -> list[int]:
        """The process ids of the Lambda workers running an invocation now."""
        return list(self._loop.run(_call(self.runtime.busy_worker_pids)))

    def dynamodb(self) -> Any:
        """A boto3 DynamoDB client for this stack's DynamoDB."""
        return dynamodb_client(self.dynamodb_endpoint, self.region)


async def _call(function: Any) -> Any:
    return function()


def _listen(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise EmulatorConfigError(f"cannot listen on {host}:{port}: {exc.strerror}") from exc
    return sock


def _listeners(
    options: StackOptions, cleanup: contextlib.ExitStack
) -> list[tuple[socket.socket, ssl.SSLContext | None]]:
    """The listening sockets: HTTP on ``options.port``, then HTTPS on a free port with ``tls``."""
    found: list[tuple[socket.socket, ssl.SSLContext | None]] = []
    for port, context in [(options.port, None), *([(0, options.tls)] if options.tls else [])]:
        found.append((_listen(options.host, port), context))
        cleanup.callback(found[-1][0].close)
    return found


def _create_tables(endpoint: str, table_name: str, messages_table_name: str, region: str) -> None:
    create_table(endpoint, table_name, region)
    create_table(endpoint, messages_table_name, region, MESSAGES_SCHEMA)


def _own_origins(host: str, port: int) -> str:
    """Browsers may join from the stack's own page only, under either loopback name, as a
    deployment admits only its site (other clients send no Origin and are not affected)."""
    return ",".join(f"http://{name}:{port}" for name in (host, "localhost"))


def _database(
    options: StackOptions, cleanup: contextlib.ExitStack
) -> tuple[str, int | None, str, str]:
    """moto's endpoint (started unless given), its process id, and the two table names."""
    if options.dynamodb_endpoint is not None:
        return (
            options.dynamodb_endpoint,
            None,
            str(options.table_name),
            str(options.messages_table_name),
        )
    database = MotoServer(options.host)
    endpoint = database.start()
    cleanup.callback(database.stop)
    return (
        endpoint,
        database.pid,
        options.table_name or DEFAULT_TABLE_NAME,
        options.messages_table_name or DEFAULT_MESSAGES_TABLE_NAME,
    )


def _site(
    options: StackOptions,
    port: int,
    environment: Mapping[str, str],
    pool: UserPool | None,
    issuer: OidcIssuer | None,
) -> Site | None:
    if options.site_dir is None:
        return None
    variables = site_variables(
        f"ws://{options.host}:{port}/{options.emulator.stage}",
        environment.get(EnvVar.MAX_MESSAGE_CHARS, DEFAULT_MAX_MESSAGE_CHARS),
        **cognito_page_variables(options.auth, options.host, port, pool),
        **oidc_page_variables(options.auth, issuer),
        # The open chat's moderator sign-in is offered only with a secret configured.
        moderation_secret=bool(environment.get(EnvVar.MODERATOR_SECRET_SHA256, "").strip()),
    )
    return Site(options.site_dir, {**variables, **options.site_variables})


def _delivery_queues(
    options: StackOptions, endpoint: str, region: str
) -> tuple[DeliveryQueues | None, dict[str, str]]:
    """Big rooms' delivery queue in moto, and the function's variables naming it, when the
    function is given ``DELIVERY_THRESHOLD``; else none. A queue the function already names (an
    applied deployment's, in the rehearsal) is used, not another made beside it: its destroy
    must leave nothing behind."""
    environment = options.function.environment
    if EnvVar.DELIVERY_THRESHOLD.value not in environment:
        return None, {}
    if named := environment.get(EnvVar.DELIVERY_QUEUE_URL.value, "").strip():
        queues = existing_queues(endpoint, region, named)
    else:
        queues = create_queues(endpoint, region)
    return queues, {EnvVar.DELIVERY_QUEUE_URL.value: queues.url, "AWS_ENDPOINT_URL_SQS": endpoint}


def _poller(
    queues: DeliveryQueues | None,
    runtime: LambdaRuntime,
    environment: Mapping[str, str],
    endpoint: str,
    region: str,
) -> DeliveryPoller | None:
    """The event source mapping's stand-in, at the function's ``DELIVERY_MAX_CONCURRENCY``."""
    if queues is None:
        return None
    concurrency = environment.get(EnvVar.DELIVERY_MAX_CONCURRENCY.value)
    return DeliveryPoller(
        queues,
        runtime.invoke,
        endpoint=endpoint,
        region=region,
        **({"max_concurrency": int(concurrency)} if concurrency else {}),
    )


def _authorizer_runtime(settings: EmulatorSettings) -> LambdaRuntime | None:
    return None if settings.authorizer is None else LambdaRuntime(settings.authorizer.function)


async def _warm(runtime: LambdaRuntime | None) -> None:
    if runtime is not None:
        await runtime.warm()


async def _close(runtime: LambdaRuntime | None) -> None:
    if runtime is not None:
        await runtime.close()


async def _serve(issuer: OidcIssuer | None) -> None:
    if issuer is not None:
        await issuer.serve()


async def _stop(issuer: OidcIssuer | None) -> None:
    if issuer is not None:
        await issuer.stop()


@contextlib.contextmanager
def running_stack(options: StackOptions | None = None) -> Iterator[Stack]:  # noqa: PLR0915 (one sequence: start in order, clean up in reverse)
    """Start the whole stack, yield it, and stop everything on exit (see the module docstring)."""
    options = options or StackOptions()
    with contextlib.ExitStack() as cleanup:
        listeners = _listeners(options, cleanup)
        sock = listeners[0][0]
        port = int(sock.getsockname()[1])
        stage = options.emulator.stage
        management_endpoint = f"http://{options.host}:{port}/{stage}"

        endpoint, dynamodb_pid, table_name, messages_table_name = _database(options, cleanup)

        region = options.function.region
        emulator_settings = options.emulator
        queues, delivery_environment = _delivery_queues(options, endpoint, region)
        environment = {
            EnvVar.TABLE_NAME.value: table_name,
            EnvVar.MESSAGES_TABLE_NAME.value: messages_table_name,
            EnvVar.CONNECTIONS_ENDPOINT.value: management_endpoint,
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "AWS_REGION": region,
            EnvVar.ALLOWED_ORIGINS.value: _own_origins(options.host, port),
            **auth_mode(options.auth),
            **delivery_environment,
            **options.function.environment,
        }
        function = dataclasses.replace(options.function, environment=environment)
        emulator_settings, user_pool, issuer = sign_in(
            options.auth,
            emulator_settings,
            endpoint=endpoint,
            host=options.host,
            port=port,
            region=region,
            cleanup=cleanup,
        )
        site = _site(options, port, environment, user_pool, issuer)

        loop = LoopThread()
        cleanup.callback(loop.stop)
        runtime = LambdaRuntime(function)
        poller = _poller(queues, runtime, environment, endpoint, region)
        authorizer = _authorizer_runtime(emulator_settings)
        # @connections signatures (and the authorizer's method ARN) name the function's region.
        emulator = Emulator(
            dataclasses.replace(emulator_settings, region=region),
            runtime.invoke,
            site=site,
            authorize=None if authorizer is None else authorizer.invoke,
        )
        application = emulator.application()
        user_pool = user_pool or options.sign_in_proxy
        if user_pool is not None:
            # Beside the site's GET routes: the page's Cognito calls, on its own origin.
            application.router.add_post(COGNITO_PATH, cognito_endpoint(user_pool))
        runner = web.AppRunner(application, access_log=None, shutdown_timeout=5)

        async def start() -> None:
            await runner.setup()
            for listener, context in listeners:
                await web.SockSite(runner, listener, ssl_context=context).start()
            await _serve(issuer)
            if poller is not None:
                poller.start()
            if options.warm:
                await runtime.warm()
                await _warm(authorizer)

        async def stop() -> None:
            # The function first: in-flight invocations fail at once instead of holding the
            # server's shutdown until their timeout (no $disconnect fires at shutdown anyway).
            try:
                if poller is not None:
                    await poller.stop()
                await runtime.close()
                await _close(authorizer)
            finally:
                await runner.cleanup()
                await _stop(issuer)

        cleanup.callback(lambda: loop.run(stop(), _START_TIMEOUT_S))
        # The server starts and the first worker loads while this thread creates the table.
        starting = asyncio.run_coroutine_threadsafe(start(), loop.loop)
        try:
            if options.dynamodb_endpoint is None:
                _create_tables(endpoint, table_name, messages_table_name, region)
        finally:
            starting.result(_START_TIMEOUT_S)  # never tear down a half-started server
        yield Stack(
            options=options,
            port=port,
            tls_port=int(listeners[1][0].getsockname()[1]) if len(listeners) > 1 else None,
            dynamodb_endpoint=endpoint,
            table_name=table_name,
            messages_table_name=messages_table_name,
            environment=environment,
            emulator=emulator,
            runtime=runtime,
            authorizer=authorizer,
            user_pool=user_pool,
            oidc_issuer=issuer,
            loop=loop,
            dynamodb_pid=dynamodb_pid,
            delivery=poller,
        )
