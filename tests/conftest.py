"""Shared test helpers.

Tests that need an outside tool (Terraform, Chromium) skip with a clear reason
on a developer machine that lacks it, and fail in CI (``CI=true``), where a
silent skip would let a broken deployment land.
"""

from __future__ import annotations

import os
import shutil

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_tool(name: str, why: str) -> str:
    """Return the path of executable ``name``, or skip (fail in CI) saying ``why``."""
    path = shutil.which(name)
    if path is None:
        message = f"{name} is not installed: {why}"
        if IN_CI:
            pytest.fail(f"CI requires it. {message}", pytrace=False)
        pytest.skip(message)
    return path
