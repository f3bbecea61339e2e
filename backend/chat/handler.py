"""The Lambda entry point, ``chat.handler.handler``: a thin router over ``usecases``' modules.

It reads ``requestContext.routeKey``, looks it up in ``ROUTES``, calls one use case and turns the
result into the API Gateway response in one place. No exception reaches the Lambda runtime: it is
logged, answered with a bare 500 and, where a client frame caused the invocation, the client gets
a generic ``internal_error`` frame. Every invocation writes exactly one summary log line (route,
connection id, outcome, duration, delivery counts); user data never goes into it.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from .actions import (
    BAN,
    CHANGES,
    DELETEMESSAGE,
    EDITMESSAGE,
    HISTORY,
    JOIN,
    KICK,
    MEMBERS,
    MODERATE,
    MODERATION_ACTIONS,
    MUTE,
    PING,
    REACT,
    SENDMESSAGE,
    TYPING,
)
from .delivery import BroadcastStats
from .errors import ClientError, ErrorCode, HandshakeRefused
from .events import (
    AUTHORIZER_MODERATOR,
    AUTHORIZER_NAME,
    AUTHORIZER_USER_ID,
    CONNECT,
    DEFAULT,
    DISCONNECT,
    SUBPROTOCOL,
    SUBPROTOCOL_HEADER,
    Request,
    parse_event,
)
from .jobs import is_queue_event
from .logs import configure
from .metrics import (
    MESSAGES_FILTERED,
    MODERATION_ACTIONS_METRIC,
    SERVER_ERRORS,
    embedded_metrics,
    server_failed,
)
from .runtime import Runtime, runtime_for

if TYPE_CHECKING:
    from .broadcast import Broadcaster
    from .config import Settings
    from .jobs import RoomJobs
    from .usecases.connect import SignedIn

configure()
log = logging.getLogger("chat.handler")


@dataclass(frozen=True, slots=True)
class RouteResult:
    """What a route did: the status for API Gateway and what goes into the summary log line."""

    status: int = 200
    outcome: str = "ok"
    stats: BroadcastStats = field(default_factory=BroadcastStats)
    code: str | None = None
    reason: str | None = None
    headers: Mapping[str, str] | None = None


# Every route but $connect gets a Broadcaster: nothing is ever posted during $connect (API Gateway
# answers 410). $disconnect posts only to the others in the room (a ``left`` notice).
Route = Callable[[Request, Runtime, "Broadcaster | None"], RouteResult]

# Each route imports its use cases' module when it is first served, not this module: a cold
# start loads (unmarshals and runs, or compiles where the zip has no bytecode) what its first
# event needs and nothing else (docs/performance.md, "Cold start").


def _connect(request: Request, runtime: Runtime, _broadcaster: Broadcaster | None) -> RouteResult:
    from .usecases.connect import connect  # noqa: PLC0415 (on first use, as every route)

    try:
        connect(
            request.connection_id,
            request.query,
            request.origin,
            store=runtime.store,
            settings=runtime.settings,
            now_ms=runtime.now_ms(),
            guest_name=runtime.guest_name,
            source_ip=request.source_ip,
            signed_in=_signed_in(request),
        )
    except HandshakeRefused as refused:
        return RouteResult(status=refused.status, outcome="refused", reason=refused.reason)
    # A browser that offered subprotocols fails the handshake unless the answer selects one
    # ("Working with subprotocols for WebSocket APIs"); a page that signs in offers ours.
    if SUBPROTOCOL in request.subprotocols:
        return RouteResult(headers={SUBPROTOCOL_HEADER: SUBPROTOCOL})
    return RouteResult()


def _signed_in(request: Request) -> SignedIn | None:
    """What the authorizer vouched for, if it did (``usecases.connect`` decides what counts)."""
    from .usecases.connect import SignedIn  # noqa: PLC0415

    user_id = request.authorizer.get(AUTHORIZER_USER_ID)
    name = request.authorizer.get(AUTHORIZER_NAME)
    if user_id is None or name is None:
        return None
    moderator = request.authorizer.get(AUTHORIZER_MODERATOR) == "true"
    return SignedIn(user_id=user_id, name=name, moderator=moderator)


def _disconnect(request: Request, runtime: Runtime, broadcaster: Broadcaster | None) -> RouteResult:
    if broadcaster is None:
        raise RuntimeError("$disconnect needs a broadcaster for the left notice")
    from .usecases.rooms import disconnect  # noqa: PLC0415

    stats = disconnect(
        request.connection_id,
        store=runtime.store,
        broadcaster=broadcaster,
        settings=runtime.settings,
        now_ms=runtime.now_ms(),
    )
    return RouteResult(stats=stats)


# A frame route's use case, named ``(module of chat.usecases, function)``: the module is imported
# when the route is first served, not with this one, so a cold start loads what its first event
# needs and nothing else.
UseCase = tuple[str, str]


def _frame_route(use_case: UseCase) -> Route:
    """A client frame's route: every frame is charged to its source's budget first, then served
    by ``use_case`` with a ``RouteCall``; a ``ClientError`` becomes an error frame to the sender
    alone, or, once the connection has spent its refusal budget, the connection's close
    (``usecases.replies.refuse``)."""
    module_name, function_name = use_case

    def route(request: Request, runtime: Runtime, broadcaster: Broadcaster | None) -> RouteResult:
        if broadcaster is None:
            raise RuntimeError("a frame route needs a broadcaster")
        from .usecases import admission  # noqa: PLC0415
        from .usecases.call import RouteCall  # noqa: PLC0415

        module = importlib.import_module(f"{_USECASES}.{module_name}")
        serve: Callable[[RouteCall], BroadcastStats | None] = getattr(module, function_name)
        call = RouteCall(
            connection_id=request.connection_id,
            body=request.body,
            is_base64=request.is_base64,
            store=runtime.store,
            messages=runtime.messages,
            broadcaster=broadcaster,
            settings=runtime.settings,
            now_ms=runtime.now_ms(),
            clock=runtime.now_ms,
            new_id=runtime.new_id,
        )
        try:
            admission.charge_source(runtime.store, request.source_ip, runtime.settings, call.now_ms)
            return RouteResult(stats=serve(call) or BroadcastStats())
        except ClientError as error:
            from .usecases.replies import refuse  # noqa: PLC0415

            closed, stats = refuse(
                request.connection_id,
                error,
                store=runtime.store,
                broadcaster=broadcaster,
                settings=runtime.settings,
                now_ms=runtime.now_ms(),
            )
            outcome = "closed" if closed else "rejected"
            return RouteResult(outcome=outcome, code=str(error.code), stats=stats)

    return route


_USECASES: Final = "chat.usecases"

ROUTES: Final[Mapping[str, Route]] = {
    CONNECT: _connect,
    DISCONNECT: _disconnect,
    SENDMESSAGE: _frame_route(("rooms", "send_message")),
    HISTORY: _frame_route(("rooms", "history")),
    JOIN: _frame_route(("rooms", "join")),
    MEMBERS: _frame_route(("rooms", "members")),
    PING: _frame_route(("replies", "ping")),
    EDITMESSAGE: _frame_route(("changes", "edit_message")),
    DELETEMESSAGE: _frame_route(("changes", "delete_message")),
    REACT: _frame_route(("changes", "react")),
    TYPING: _frame_route(("changes", "typing")),
    CHANGES: _frame_route(("changes", "changes")),
    MODERATE: _frame_route(("moderation", "moderate")),
    MUTE: _frame_route(("moderation", "act")),
    KICK: _frame_route(("moderation", "act")),
    BAN: _frame_route(("moderation", "act")),
    DEFAULT: _frame_route(("replies", "reject_default")),
}


def _remaining_ms(context: Any) -> Callable[[], int] | None:
    method = getattr(context, "get_remaining_time_in_millis", None)
    return method if callable(method) else None


def _broadcaster(request: Request, runtime: Runtime, context: Any) -> Broadcaster:
    from .broadcast import Broadcaster  # noqa: PLC0415 ($connect posts nothing)

    settings = runtime.settings
    return Broadcaster(
        sender=runtime.sender_for(request.endpoint(settings.connections_endpoint)),
        store=runtime.store,
        concurrency=settings.fanout_concurrency,
        policy=runtime.policy,
        remaining_ms=_remaining_ms(context),
        jobs=_room_jobs(request, runtime),
    )


def _room_jobs(request: Request, runtime: Runtime) -> RoomJobs | None:
    """Where a big room's delivery goes, when the deployment has a delivery queue."""
    if runtime.jobs is None:
        return None
    from .jobs import RoomJobs  # noqa: PLC0415 (only with a queue)

    endpoint = request.endpoint(runtime.settings.connections_endpoint)
    return RoomJobs(runtime.jobs, runtime.delivery.threshold, endpoint)


def _notify_failure(request: Request | None, broadcaster: Broadcaster | None) -> None:
    """Best effort: tell the client something failed, without any detail."""
    if request is None or broadcaster is None or not request.is_message:
        return
    try:
        from .frames import INTERNAL_ERROR_FRAME  # noqa: PLC0415 (on first use, as every route)

        broadcaster.sender.post(request.connection_id, INTERNAL_ERROR_FRAME)
    except Exception:  # the client may be gone too; the summary line already says 500
        log.warning("could not send internal_error to the client")


def handle(
    event: Any, context: Any, runtime_factory: Callable[[], Runtime] | None = None
) -> dict[str, Any]:
    """Serve one event with the runtime from ``runtime_factory`` (default: the environment)."""
    if is_queue_event(event):  # a batch of delivery jobs (chat.jobs), not an API Gateway event
        return _delivery_jobs(event, context, runtime_factory)
    started = time.perf_counter()
    request: Request | None = None
    broadcaster: Broadcaster | None = None
    summary: dict[str, Any] = {
        "route": None,
        "connectionId": None,
        "requestId": getattr(context, "aws_request_id", None),
    }
    level = logging.INFO
    failure: BaseException | None = None
    settings: Settings | None = None
    try:
        request = parse_event(event)
        summary["route"] = request.route_key
        summary["connectionId"] = request.connection_id
        runtime = runtime_factory() if runtime_factory else runtime_for(os.environ)
        settings = runtime.settings
        if request.route_key != CONNECT:
            broadcaster = _broadcaster(request, runtime, context)
        route = ROUTES.get(request.route_key, ROUTES[DEFAULT])
        result = route(request, runtime, broadcaster)
    except Exception as error:
        level, failure = logging.ERROR, error
        result = RouteResult(status=500, outcome="error", reason=type(error).__name__)
        _notify_failure(request, broadcaster)
    summary.update(
        outcome=result.outcome,
        status=result.status,
        code=result.code,
        reason=result.reason,
        duration_ms=round((time.perf_counter() - started) * 1000, 2),
        delivered=result.stats.delivered,
        pruned=result.stats.pruned,
        retried=result.stats.retried,
        failed=result.stats.failed,
        **_counts(summary["route"], result),
    )
    if settings is not None and settings.metrics_enabled:
        summary.update(
            embedded_metrics(
                summary,
                namespace=settings.metrics_namespace,
                function=getattr(context, "function_name", None) or "local",
                timestamp_ms=time.time_ns() // 1_000_000,
            )
        )
    log.log(level, "invocation", exc_info=failure, extra={"fields": summary})
    response: dict[str, Any] = {"statusCode": result.status}
    if result.headers:
        response["headers"] = dict(result.headers)
    return response


def _delivery_jobs(
    event: Any, context: Any, runtime_factory: Callable[[], Runtime] | None
) -> dict[str, Any]:
    """The delivery worker (``chat.usecases.deliver``); a failure it did not catch fails the
    whole batch (every record again), never the runtime."""
    try:
        from .usecases.deliver import handle_jobs  # noqa: PLC0415 (workers only)

        runtime = runtime_factory() if runtime_factory else runtime_for(os.environ)
        return handle_jobs(event, runtime, _remaining_ms(context))
    except Exception:
        log.exception("a batch of delivery jobs failed")
        ids = [str(r.get("messageId", "")) for r in event["Records"]]
        return {"batchItemFailures": [{"itemIdentifier": i} for i in ids]}


def _counts(route: str | None, result: RouteResult) -> dict[str, int | float]:
    """The summary's per-route counts (metrics when they are on), and on every route whether
    the server failed (``metrics.SERVER_ERRORS``)."""
    ok = result.outcome == "ok"
    counts: dict[str, int | float] = {}
    if route == CONNECT:
        counts = {"connections_opened": int(ok)}
    elif route == DISCONNECT:
        counts = {"connections_closed": int(ok)}
    elif route == SENDMESSAGE:
        counts = {"messages_accepted": int(ok), "fanout_ms": round(result.stats.elapsed_ms, 2)}
    elif route in MODERATION_ACTIONS:
        counts = {MODERATION_ACTIONS_METRIC: int(ok)}
    # The word filter's refusals and masks.
    if route in (SENDMESSAGE, EDITMESSAGE) and (
        result.stats.filtered or result.code == ErrorCode.MESSAGE_BLOCKED
    ):
        counts[MESSAGES_FILTERED] = 1
    return {**counts, SERVER_ERRORS: int(server_failed(result.status, result.code))}


def handler(event: Any, context: Any) -> dict[str, Any]:
    """The Lambda handler: route one API Gateway WebSocket event. Never raises."""
    return handle(event, context)
