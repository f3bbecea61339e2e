"""``make soak``: the reliability campaign against the local stack (docs/reliability.md).

Hostile frames, connection churn, faults on ``@connections``, a worker killed mid-broadcast,
DynamoDB unreachable, and a long steady load; each scenario prints its figures. Loopback only,
bounded in count and time. ``strategies`` holds the Hypothesis strategies the property tests share.
"""

from __future__ import annotations

# The soak builds on the product's definitions (``chat.protocol``, ``chat.connections``);
# importing the local stack first makes the ``chat`` package (backend/) importable.
import local_stack  # noqa: F401
