"""The local stack: everything needed to run and test the chat without an AWS account.

- ``local_stack.emulator``: an API Gateway WebSocket API emulator (sockets, routes, Lambda proxy
  events, the ``@connections`` management API) that runs the real Lambda handler.
- ``local_stack.dynamodb``: the chat's tables in a local DynamoDB (moto's server).
- ``local_stack.site``: renders and serves ``frontend/`` the way Terraform publishes it.
- ``local_stack.stack``: ``running_stack()``, the whole stack in a background thread, for tests.
- ``local_stack.dev``: ``make dev``; ``local_stack.terraform_variables``: its ``TF_VAR_`` settings.
"""

from __future__ import annotations

import sys
from pathlib import Path

# The local stack builds on the product's definitions (the environment variable names in
# ``chat.config``, the table's names in ``chat.connections``) rather than copying them; the
# ``chat`` package lives in ``backend/`` (the zip's root), so make it importable. Appended, so an
# installed or already-imported ``chat`` keeps precedence (pytest's ``pythonpath`` puts it first).
_BACKEND = str(Path(__file__).resolve().parent.parent / "backend")
if _BACKEND not in sys.path:
    sys.path.append(_BACKEND)
