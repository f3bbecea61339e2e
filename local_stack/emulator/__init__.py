"""An API Gateway WebSocket API emulator: ``core`` (pure rules), ``server`` (aiohttp),
``lambda_runtime`` (the function in worker processes)."""
