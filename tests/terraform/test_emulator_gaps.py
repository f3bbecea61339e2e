"""The named emulator gaps explain only the diffs they name (tests/terraform/emulator_gaps.py)."""

from __future__ import annotations

from deployment.terraform.plan import (
    AttributeDiff,
    Plan,
    ResourceChange,
)
from tests.terraform.emulator_gaps import unexplained_diffs


def change(
    address: str, kind: str, *diffs: AttributeDiff, actions: str = "update"
) -> ResourceChange:
    return ResourceChange(address, kind, (actions,), diffs)


def plan_of(*changes: ResourceChange) -> Plan:
    return Plan(has_changes=bool(changes), changes=changes, output_changes=(), text="")


LOGGING_GAP = change(
    "aws_lambda_function.chat",
    "aws_lambda_function",
    AttributeDiff("logging_config", unknown=False),
)


def test_known_gaps_are_tolerated() -> None:
    """A diff in a named emulator gap is not a problem."""
    assert unexplained_diffs(plan_of(LOGGING_GAP)) == []


def test_any_other_attribute_is_reported() -> None:
    """A diff outside the named gaps fails, even in a resource that has a gap."""
    drift = change(
        "aws_lambda_function.chat",
        "aws_lambda_function",
        AttributeDiff("logging_config", unknown=False),
        AttributeDiff("timeout", unknown=False),
    )
    assert unexplained_diffs(plan_of(drift)) == ["aws_lambda_function.chat: timeout"]


def test_replacement_is_never_a_gap() -> None:
    """Replacing or deleting a resource is reported whatever attribute caused it."""
    replace = change(
        "aws_lambda_function.chat",
        "aws_lambda_function",
        AttributeDiff("logging_config", unknown=False),
        actions="delete",
    )
    assert unexplained_diffs(plan_of(replace)) == ["aws_lambda_function.chat: ('delete',)"]


def test_deferred_values_need_a_gap_to_explain_them() -> None:
    """An unknown bucket policy is tolerated only while a gap change is pending."""
    deferred = change(
        "aws_s3_bucket_policy.site", "aws_s3_bucket_policy", AttributeDiff("policy", unknown=True)
    )
    assert unexplained_diffs(plan_of(LOGGING_GAP, deferred)) == []
    assert unexplained_diffs(plan_of(deferred)) == ["aws_s3_bucket_policy.site: policy (unknown)"]
    known = change(
        "aws_s3_bucket_policy.site", "aws_s3_bucket_policy", AttributeDiff("policy", unknown=False)
    )
    assert unexplained_diffs(plan_of(LOGGING_GAP, known)) == ["aws_s3_bucket_policy.site: policy"]
