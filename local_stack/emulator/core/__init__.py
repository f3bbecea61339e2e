"""The sans-I/O core of the API Gateway WebSocket emulator.

Everything here is pure: no sockets, no event loop, no Lambda. Time comes from an injectable
``clock`` (epoch seconds) and ids from an injectable ``new_id``, so the rules can be tested with
fixed values. The server layer (``emulator.server`` and the modules it composes) moves the bytes
and calls these functions. One module a job:

- ``sources``: the ``Clock`` and ``IdSource`` types, ``ConnectionId`` and ``new_aws_id``.
- ``errors``: ``EmulatorConfigError``, for a setting that cannot work.
- ``quotas``: API Gateway's limits, and the rules that apply them: ``judge_client_frame``
  (binary frames, the 32 KB frame and 128 KB message quotas), ``fragments`` (how a post is cut
  into frames of at most 32 KB) and ``url_too_long``.
- ``close_reasons``: ``CloseReason`` and the code and reason ``$disconnect`` reports per cause.
- ``sockets``: ``SocketRegistry``, every client socket's state (connecting -> open -> closed),
  activity, and the idle / maximum-duration deadlines. ``close()`` reports a connection exactly
  once, which is what makes ``$disconnect`` fire exactly once whichever side closes.
- ``routes``: ``RouteSelector``, the route selection expression (``$request.body.action``,
  nested paths such as ``$request.body.a.b``), the stringified value, and the ``$default``
  fallback.
- ``throttling``: ``StageThrottling``, stage and route throttling, a ``TokenBucket`` per route.
- ``events``: ``EventBuilder``, the events API Gateway sends to a Lambda proxy integration.
- ``responses``: ``decide_connect`` (the ``$connect`` answer decides the handshake),
  ``message_reply``, and the frames API Gateway itself sends (``forbidden_frame``,
  ``throttled_frame``, ``timed_out_frame``).
- ``management``: the ``@connections`` answers (``check_post``, ``check_connection``,
  ``connection_info``) and errors (``ApiError``).
- ``access``: who may reach the local servers (``host_allowed``, ``check_signature``).
- ``faults``: ``FaultInjection``, optional delays and 429/500 answers on ``@connections``.

References are to the API Gateway developer guide, "WebSocket APIs" chapter.
"""
