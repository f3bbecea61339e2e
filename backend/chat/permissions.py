"""The AWS actions the function performs, in IAM's terms: a contract (docs/internals.md).

Terraform's policy for the function (``terraform/iam.tf``) must grant exactly these. A call the
policy lacks fails in production with AccessDenied, and never offline, where nothing enforces
IAM; a grant nothing calls is privilege to spare. ``tests/backend/test_permissions.py`` proves
the declaration complete by running the code against recording fakes, and the Terraform round
trip compares the applied policy with it.
"""

from __future__ import annotations

from typing import Final

from .gateway import DELETE_CONNECTION, POST_TO_CONNECTION

# On the connections table itself (``connection_table.DynamoConnectionStore``): the sender is read
# by the conditional update that spends its rate limit, so there is no GetItem. The admission
# transaction's ``ConditionCheck``s of bans and mutes are ConditionCheckItem. A big room's count
# (its seat counters) and a moderator's target (its name's claim) are read by BatchGetItem.
TABLE_ACTIONS: Final = frozenset(
    {
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:UpdateItem",
        "dynamodb:ConditionCheckItem",
    }
)
# On its room index (``connections.ROOM_INDEX``): the fan-out's and member list's Query.
ROOM_INDEX_ACTIONS: Final = frozenset({"dynamodb:Query"})
# On the messages table (``message_table.DynamoMessageStore``). A ``TransactWriteItems`` is
# authorised by the actions inside it ("Using IAM with DynamoDB transactions"): its ``Put``s are
# PutItem.
# Edits, deletions and reactions are conditional UpdateItems.
MESSAGES_TABLE_ACTIONS: Final = frozenset(
    {"dynamodb:PutItem", "dynamodb:GetItem", "dynamodb:Query", "dynamodb:UpdateItem"}
)
# On its changes index (``messages.CHANGES_INDEX``): the catch-up's Query.
MESSAGES_INDEX_ACTIONS: Final = frozenset({"dynamodb:Query"})
# ``@connections``: one IAM action for every call; the HTTP method is part of the resource,
# ``{execution ARN}/{stage}/{METHOD}/@connections/*``.
MANAGE_CONNECTIONS_ACTION: Final = "execute-api:ManageConnections"
# The delivery queue (``jobs.SqsJobQueue``; terraform/iam.tf's delivery statements):
# SendMessageBatch is authorised by SendMessage; the event source mapping receives and
# deletes with the function's role and reads the queue's attributes.
DELIVERY_SEND_ACTIONS: Final = frozenset({"sqs:SendMessage"})
DELIVERY_RECEIVE_ACTIONS: Final = frozenset(
    {"sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"}
)
MANAGE_CONNECTIONS_METHODS: Final = frozenset({POST_TO_CONNECTION, DELETE_CONNECTION})
