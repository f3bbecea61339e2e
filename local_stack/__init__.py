"""The local stack: everything needed to run and test the chat without an AWS account.

- ``local_stack.emulator``: an API Gateway WebSocket API emulator (sockets, routes, Lambda proxy
  events, the ``@connections`` management API) that runs the real Lambda handler.
- ``local_stack.dynamodb``: the connections table schema and a local DynamoDB (moto's server).
- ``local_stack.site``: renders and serves ``frontend/`` the way Terraform publishes it.
- ``local_stack.stack``: ``running_stack()``, the whole stack in a background thread, for tests.
- ``local_stack.dev``: ``make dev``.
"""
