"""A small evaluator of Lambda resource-policy statements: may API Gateway invoke the function?

Covers what ``aws_lambda_permission`` writes: ``Allow`` statements with ``lambda:InvokeFunction``
(wildcards as IAM matches them), the ``apigateway.amazonaws.com`` service principal (or ``*``),
and ``aws:SourceArn`` conditions (``ArnLike``/``StringLike`` match patterns, other operators
compare exactly). It is not a full IAM evaluator: ``Deny`` statements are not weighed.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from typing import Any


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def allows_invoke(statement: Mapping[str, Any], source_arn: str) -> bool:
    """Whether ``statement`` lets API Gateway invoke the function from ``source_arn``."""
    if statement.get("Effect") != "Allow":
        return False
    actions = [str(a) for a in _as_list(statement.get("Action", []))]
    if not any(fnmatch.fnmatchcase("lambda:InvokeFunction", a) for a in actions):
        return False
    principal = statement.get("Principal", {})
    services = _as_list(principal.get("Service", [])) if isinstance(principal, dict) else []
    if principal != "*" and "apigateway.amazonaws.com" not in services:
        return False
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, pattern in pairs.items():
            if key.lower() != "aws:sourcearn":
                continue
            patterns = [str(p) for p in _as_list(pattern)]
            if operator in {"ArnLike", "StringLike"}:
                matched = any(fnmatch.fnmatchcase(source_arn, p) for p in patterns)
            else:
                matched = source_arn in patterns
            if not matched:
                return False
    return True
