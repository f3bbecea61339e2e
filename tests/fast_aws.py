"""Two costs the AWS SDK and moto add to every test, removed without changing what they answer.

- ``one_botocore_loader``: every botocore session in a test process reads the SDK's JSON files
  through one loader per data path. Each ``mock_aws`` starts boto3 on a new default session,
  and a new session parses the endpoints and service models again (about 0.1 s for its first
  client): most of what a moto test's setup cost. The files do not change during a run, and
  the loader caches them as it does within one session; credentials, configuration and
  clients stay per session.
- ``one_backup_per_table``: moto 5's ``TransactWriteItems`` deep-copies a table, to restore it
  if the transaction is cancelled, once per operation on that table, before any of them runs:
  a connect's transaction copied the connections table several times over, so a test's
  connects grew with the square of the table's size. The copies are taken of the same table
  before any write, so they are equal: one per table is kept and used for all, and a cancelled
  transaction still restores the table as it was.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.loaders
import moto.dynamodb.models as moto_dynamodb
import pytest


@contextmanager
def one_botocore_loader() -> Iterator[None]:
    """While open, new botocore sessions share one loader per data path."""
    loaders: dict[str | None, botocore.loaders.Loader] = {}

    def shared_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        if search_path_string not in loaders:
            loaders[search_path_string] = botocore.loaders.create_loader(search_path_string)
        return loaders[search_path_string]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("botocore.session.create_loader", shared_loader)
        yield


class _TableBackups(threading.local):
    """The copies taken by the transaction running on this thread, by the table's identity
    (``None`` outside a transaction); moto serves concurrent requests on threads."""

    taken: dict[int, Any] | None = None


class _CopyOncePerTable:
    """Stands for the ``copy`` module in moto's DynamoDB models: ``deepcopy`` of a table inside
    a transaction returns the transaction's one copy of it; everything else is ``copy``'s."""

    def __init__(self, backups: _TableBackups) -> None:
        self._backups = backups

    def deepcopy(self, value: Any, memo: dict[int, Any] | None = None) -> Any:
        taken = self._backups.taken
        if taken is None or not isinstance(value, moto_dynamodb.Table):
            return copy.deepcopy(value, memo)
        if id(value) not in taken:
            taken[id(value)] = copy.deepcopy(value, memo)
        return taken[id(value)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


@contextmanager
def one_backup_per_table() -> Iterator[None]:
    """While open, moto's ``TransactWriteItems`` copies each table it touches once."""
    backups = _TableBackups()
    transact = moto_dynamodb.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        backups.taken = {}
        try:
            transact(self, transact_items)
        finally:
            backups.taken = None

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(moto_dynamodb, "copy", _CopyOncePerTable(backups))
        patch.setattr(moto_dynamodb.DynamoDBBackend, "transact_write_items", transact_write_items)
        yield
