"""The test processes' AWS shortcuts (tests/fast_aws.py, on for every test by tests/conftest.py)
are on, and save their time."""

from __future__ import annotations

import botocore.session
import moto.dynamodb.models as moto_dynamodb

from local_stack import moto_rollback


def test_botocore_sessions_share_one_loader() -> None:
    """Two sessions read the SDK's files through one loader, so the second parses nothing."""
    one, two = botocore.session.Session(), botocore.session.Session()
    assert one.get_component("data_loader") is two.get_component("data_loader")
    assert one.get_service_model("dynamodb").operation_names == (
        two.get_service_model("dynamodb").operation_names
    )


def test_moto_transactions_copy_only_what_they_can_change() -> None:
    """The tests' in-process moto runs transactions as the local stack's moto server does
    (tests/local_stack/test_moto_rollback.py proves what that keeps)."""
    for target, name, value in moto_rollback.patches():
        assert type(getattr(target, name)) is type(value)
    assert moto_dynamodb.DynamoDBBackend.transact_write_items is moto_rollback.patches()[1][2]
