"""What moto cannot store, so a plan right after apply is allowed to differ in exactly that.

The round trip's idempotence check never ignores a plan: every planned difference must be one
of the attributes named here, each with the reason, or a value left unknown only because one
of them is pending.
"""

from __future__ import annotations

from deployment.terraform.plan import Plan

# Attributes moto does not store or reports differently, so a refresh after apply disagrees
# with the configuration. Each is named with the reason; nothing else may differ.
KNOWN_EMULATOR_GAPS: dict[str, dict[str, str]] = {
    "aws_lambda_function": {
        "logging_config": "moto's GetFunction returns no LoggingConfig",
    },
    "aws_sqs_queue": {
        "redrive_policy": (
            "moto returns RedrivePolicy re-serialised with json.dumps' spaces; AWS returns the "
            "JSON as it was set, so the provider sees a whitespace-only change"
        ),
    },
    "aws_cloudfront_distribution": {
        "origin.origin_access_control_id": "moto's origin model drops OriginAccessControlId",
        "default_cache_behavior.forwarded_values": (
            "moto returns legacy ForwardedValues defaults next to a cache policy"
        ),
        "viewer_certificate.ssl_support_method": (
            "moto reports sni-only for the default CloudFront certificate"
        ),
    },
}
# Values that only become unknown because a gap above makes their input change again: the
# bucket policy names the distribution, whose pending (gap) update defers the policy document.
# The function's policy names the delivery queue, whose pending (gap) update defers it too.
DEFERRED_BY_GAPS: dict[str, set[str]] = {
    "aws_s3_bucket_policy": {"policy"},
    "aws_iam_role_policy": {"policy"},
}


def unexplained_diffs(plan: Plan) -> list[str]:
    """Planned differences that are neither a named emulator gap nor deferred by one."""
    gap_changes = [
        c for c in plan.changes if c.paths & KNOWN_EMULATOR_GAPS.get(c.resource_type, {}).keys()
    ]
    problems = []
    for change in plan.changes:
        if change.actions != ("update",):
            problems.append(f"{change.address}: {change.actions}")
            continue
        for diff in change.diffs:
            if diff.path in KNOWN_EMULATOR_GAPS.get(change.resource_type, {}):
                continue
            deferred = diff.path in DEFERRED_BY_GAPS.get(change.resource_type, set())
            if deferred and diff.unknown and gap_changes:
                continue
            problems.append(f"{change.address}: {diff.path}{' (unknown)' if diff.unknown else ''}")
    return problems
