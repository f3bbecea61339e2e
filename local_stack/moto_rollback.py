"""moto's TransactWriteItems rolled back from a copy of what it can change, not of whole tables.

moto 5 deep-copies every table a transaction writes, once per operation on it, before running
any, so that a cancelled transaction can put the copies back. That cost time in proportion to
the table (0.12 ms an item: half a second per send once the messages table held 4,000 items;
a test's connects grew with the square of the table). Here a transaction copies each table's
index of items, and deep-copies only the items the transaction names (the only ones it can
change: Put and Delete replace index entries, Update changes its item in place) and the table's
stream records. moto's module takes a deep copy of a Table nowhere else.

Used by the moto server's child (``local_stack.moto_server``) and by the tests' in-process moto
(``tests/fast_aws.py``). The transaction being run is kept per thread: the tests' moto serves
concurrent requests on threads.
"""

from __future__ import annotations

import copy
import threading
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import moto.dynamodb.models as moto_dynamodb
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_WHOLE_TABLE_TRANSACTION = moto_dynamodb.DynamoDBBackend.transact_write_items


class _Running(threading.local):
    """The operations of the transaction running on this thread (``None`` between them)."""

    items: list[dict[str, Any]] | None = None


_RUNNING = _Running()


def _named_items(table: Any, items: list[dict[str, Any]]) -> Iterator[tuple[Any, Any]]:
    """The (hash, range) keys of ``table``'s items that ``items`` name."""
    for entry in items:
        for op in entry.values():
            key = op.get("Key") or op.get("Item") or {}
            if op.get("TableName") != table.name or table.hash_key_attr not in key:
                continue
            range_key = None
            if table.has_range_key:
                if table.range_key_attr not in key:
                    continue
                range_key = DynamoType(key[table.range_key_attr])
            yield DynamoType(key[table.hash_key_attr]), range_key


def rollback_copy(table: Any, items: list[dict[str, Any]]) -> Any:
    """What ``table`` must be set back to if the transaction ``items`` is cancelled."""
    snapshot = copy.copy(table)
    snapshot.items = defaultdict(dict)
    for hash_key, entry in table.items.items():
        snapshot.items[hash_key] = dict(entry) if table.has_range_key else entry
    for hash_key, range_key in _named_items(table, items):
        item = table.get_item(hash_key, range_key)
        if item is None:
            continue
        if range_key is None:
            snapshot.items[hash_key] = copy.deepcopy(item)
        else:
            snapshot.items[hash_key][range_key] = copy.deepcopy(item)
    snapshot.stream_shard = copy.deepcopy(table.stream_shard, {id(table): snapshot})
    return snapshot


class _TransactionCopy:
    """Stands for the ``copy`` module in moto's DynamoDB models: a table's deep copy inside a
    transaction is its rollback copy; everything else is ``copy``'s."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        items = _RUNNING.items
        if isinstance(value, Table) and items:
            return rollback_copy(value, items)
        return copy.deepcopy(value, memo)


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
    _RUNNING.items = transact_items
    try:
        return _WHOLE_TABLE_TRANSACTION(self, transact_items)
    finally:
        _RUNNING.items = None


def patches() -> list[tuple[Any, str, Any]]:
    """The (object, attribute, value) settings that make moto's transactions copy only what
    they can change."""
    return [
        (moto_dynamodb, "copy", _TransactionCopy()),
        (moto_dynamodb.DynamoDBBackend, "transact_write_items", _transact_write_items),
    ]


def install() -> None:
    """Apply ``patches()`` for the rest of the process."""
    for target, name, value in patches():
        setattr(target, name, value)
