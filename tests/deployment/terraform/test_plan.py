"""Plans parsed into changed resources and attributes."""

from __future__ import annotations

from deployment.terraform.plan import (
    AttributeDiff,
    attribute_diffs,
    plan_from_json,
)

CHANGE = {
    "before": {
        "name": "f",
        "logging_config": [],
        "origin": [{"domain_name": "b", "origin_access_control_id": ""}],
        "tags": {"a": "1"},
    },
    "after": {
        "name": "f",
        "logging_config": [{"log_format": "JSON"}],
        "origin": [{"domain_name": "b", "origin_access_control_id": "E1"}],
        "tags": {"a": "1"},
        "policy": None,
    },
    "after_unknown": {"policy": True, "origin": [{}]},
}


def test_attribute_diffs_name_nested_paths_and_unknowns() -> None:
    """Differences are reported per nested attribute; unknown values are flagged."""
    assert attribute_diffs(CHANGE) == (
        AttributeDiff("logging_config", unknown=False),
        AttributeDiff("origin.origin_access_control_id", unknown=False),
        AttributeDiff("policy", unknown=True),
    )


def test_plan_from_json_skips_no_ops_and_reads() -> None:
    """Only real changes are listed, with their actions and diffs."""
    document = {
        "resource_changes": [
            {"address": "a.x", "type": "a", "change": {"actions": ["no-op"]}},
            {"address": "data.b.y", "type": "b", "change": {"actions": ["read"]}},
            {"address": "c.z", "type": "c", "change": {"actions": ["update"], **CHANGE}},
        ],
        "output_changes": {"url": {"actions": ["no-op"]}, "id": {"actions": ["update"]}},
    }
    plan = plan_from_json(document, 2, "text")
    assert [c.address for c in plan.changes] == ["c.z"]
    assert plan.changes[0].actions == ("update",)
    assert plan.output_changes == ("id",)
    assert plan.has_changes
