"""An API Gateway WebSocket API emulator, run by the local stack in front of the chat's Lambda
handler, though it imports nothing of the chat: ``core/`` (the pure rules, one module a job),
``websocket_frames`` (RFC 6455 framing by API Gateway's quotas, sans I/O), ``authorization``
(a REQUEST authorizer's rules), ``settings``, ``server`` (aiohttp: ``Emulator`` composes
``websocket_api``, ``management_api`` and ``site_route``; ``parser_hook`` puts the frame screen
in front of aiohttp's parser), and ``lambda_runtime`` (the function in worker processes)."""
