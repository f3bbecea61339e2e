"""moto's TransactWriteItems rolled back from copies of what it can change, not of whole tables.

moto 5 deep-copies every table a transaction writes, once per operation on it, before running
any, so that a cancelled transaction can put the copies back. That cost time in proportion to
the table (0.12 ms an item: half a second per send once the messages table held 4,000 items;
a test's connects grew with the square of the table). A copy of the table's index of items
cost in proportion too (a hash of each partition key: 0.6 s a ``$connect`` into a room of
3,000, each connection its own partition, so the fan-out benchmark's clients could not join a
room of 5,000 in time). So here moto's copy of a Table in a transaction is the table itself,
and what a rollback needs is kept apart: deep copies of the items the transaction names (the
only ones it can change: Put and Delete replace index entries, Update changes its item in
place) and the number of the table's stream records. When moto rolls back (it raises then, and
only then), those items are put back and the records added since are dropped: a transaction
costs the same on a table of any size, as in DynamoDB. moto's module takes a deep copy of a
Table nowhere else.

Used by the moto server's child (``local_stack.moto_server``) and by the tests' in-process moto
(``tests/fast_aws.py``). The transaction being run is kept per thread: the tests' moto serves
concurrent requests on threads.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import moto.dynamodb.models as moto_dynamodb
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.models.table import Table

_WHOLE_TABLE_TRANSACTION = moto_dynamodb.DynamoDBBackend.transact_write_items


class _Running(threading.local):
    """The operations of the transaction running on this thread (``None`` between them)."""

    items: list[dict[str, Any]] | None = None
    undo: dict[str, _Undo]

    def __init__(self) -> None:
        self.undo = {}


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


@dataclass
class _Undo:
    """What puts one table back: its named items as they were (``None``: absent) and the
    number of its stream records."""

    table: Any
    before: list[tuple[Any, Any, Any]]
    records: list[Any] | None
    count: int


def _remember(table: Any, items: list[dict[str, Any]], undo: dict[str, _Undo]) -> None:
    """Keep what ``table`` must be set back to if the transaction ``items`` is cancelled."""
    if table.name in undo:
        return
    before = []
    for hash_key, range_key in _named_items(table, items):
        item = table.get_item(hash_key, range_key)
        before.append((hash_key, range_key, None if item is None else copy.deepcopy(item)))
    shard = table.stream_shard
    records = None if shard is None else shard.items
    undo[table.name] = _Undo(table, before, records, 0 if records is None else len(records))


def _roll_back(undo: dict[str, _Undo]) -> None:
    """Put every remembered table back as it was before the transaction."""
    for kept in undo.values():
        table = kept.table
        for hash_key, range_key, item in kept.before:
            index, key = (table.items, hash_key)
            if range_key is not None:
                index, key = table.items[hash_key], range_key
            if item is None:
                index.pop(key, None)
            else:
                index[key] = item
        if kept.records is not None:
            del kept.records[kept.count :]
            table.stream_shard.items = kept.records


class _TransactionCopy:
    """Stands for the ``copy`` module in moto's DynamoDB models: a table's deep copy inside a
    transaction is the table itself, its rollback kept apart; everything else is ``copy``'s."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        items = _RUNNING.items
        if isinstance(value, Table) and items:
            _remember(value, items, _RUNNING.undo)
            return value
        return copy.deepcopy(value, memo)


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> Any:
    _RUNNING.items = transact_items
    _RUNNING.undo = {}
    try:
        return _WHOLE_TABLE_TRANSACTION(self, transact_items)
    except BaseException:
        _roll_back(_RUNNING.undo)
        raise
    finally:
        _RUNNING.items = None
        _RUNNING.undo = {}


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
