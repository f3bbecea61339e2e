"""Two costs the AWS SDK and moto add to every test, removed without changing what they answer.

- ``one_botocore_loader``: every botocore session in a test process reads the SDK's JSON files
  through one loader per data path. Each ``mock_aws`` starts boto3 on a new default session,
  and a new session parses the endpoints and service models again (about 0.1 s for its first
  client): most of what a moto test's setup cost. The files do not change during a run, and
  the loader caches them as it does within one session; credentials, configuration and
  clients stay per session.
- ``rollback_copies``: moto 5's ``TransactWriteItems`` deep-copies a table, to restore it if
  the transaction is cancelled, once per operation on that table: a connect's seven operations
  copied the whole connections table seven times, so a test's connects grew with the square of
  the table's size. The local stack's moto server copies only what a transaction can change
  (local_stack/moto_rollback.py); the tests' in-process moto now does the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import botocore.loaders
import pytest

from local_stack import moto_rollback


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


@contextmanager
def rollback_copies() -> Iterator[None]:
    """While open, moto's ``TransactWriteItems`` copies only what it can change."""
    with pytest.MonkeyPatch.context() as patch:
        for target, name, value in moto_rollback.patches():
            patch.setattr(target, name, value)
        yield
