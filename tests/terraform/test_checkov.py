"""checkov on terraform/: no failed check, every skip justified inline and needed."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from deployment.terraform.workspace import TERRAFORM_DIR

pytestmark = pytest.mark.terraform

SKIP_COMMENT = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+):(.*)")


def run_checkov(checkov: Path, directory: Path) -> dict[str, Any]:
    """checkov's JSON report for the Terraform in ``directory`` (offline)."""
    command = [str(checkov), "-d", str(directory), "--skip-download"]
    command += ["--framework", "terraform", "-o", "json"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode in (0, 1), result.stderr
    report = json.loads(result.stdout)
    # One framework gives one report (a list only when several ran).
    first: dict[str, Any] = report[0] if isinstance(report, list) else report
    return first


def findings(report: dict[str, Any], kind: str) -> set[tuple[str, str]]:
    """``(check id, resource)`` pairs of ``kind`` (failed_checks, skipped_checks)."""
    results = report.get("results", {}).get(kind, [])
    # for_each instances (aws_apigatewayv2_route.chat["ping"]) share one block and its skips.
    return {(r["check_id"], re.sub(r"\[.*\]$", "", r["resource"])) for r in results}


@pytest.fixture(scope="module")
def checkov_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """terraform/ copied without Terraform's working files."""
    target = tmp_path_factory.mktemp("checkov") / "terraform"
    shutil.copytree(
        TERRAFORM_DIR, target, ignore=shutil.ignore_patterns(".terraform*", "*.tfstate*")
    )
    return target


@pytest.fixture(scope="module")
def checkov_report(checkov: Path, checkov_copy: Path) -> dict[str, Any]:
    """checkov on terraform/ as shipped."""
    return run_checkov(checkov, checkov_copy)


def test_checkov_finds_no_failed_check(checkov_report: dict[str, Any]) -> None:
    """checkov reports zero failed checks."""
    failed = sorted(findings(checkov_report, "failed_checks"))
    assert checkov_report["summary"]["passed"] > 0
    assert failed == [], f"checkov failures: {failed}"


def test_every_checkov_skip_is_justified_inline(
    checkov_report: dict[str, Any], checkov_copy: Path
) -> None:
    """Each skip sits in its resource's block with a reason of a sentence or more."""
    comments = [
        match
        for tf in sorted(checkov_copy.glob("*.tf"))
        for match in SKIP_COMMENT.finditer(tf.read_text(encoding="utf-8"))
    ]
    short = [m.group(0) for m in comments if len(m.group(2).split()) < 8]
    assert short == [], f"skips without a real reason: {short}"
    # checkov honours a skip only inside a resource block: every comment must have taken effect.
    applied = findings(checkov_report, "skipped_checks")
    assert len(applied) == len(comments), (
        f"{len(comments)} skip comments but {len(applied)} took effect: {sorted(applied)}"
    )


def test_every_checkov_skip_is_needed(
    checkov: Path, checkov_report: dict[str, Any], checkov_copy: Path, tmp_path: Path
) -> None:
    """Without the skip comments, exactly the skipped checks fail: no skip is stale."""
    bare = tmp_path / "terraform"
    shutil.copytree(checkov_copy, bare)
    for tf in bare.glob("*.tf"):
        tf.write_text(SKIP_COMMENT.sub("", tf.read_text(encoding="utf-8")), encoding="utf-8")
    failing_without_skips = findings(run_checkov(checkov, bare), "failed_checks")
    assert failing_without_skips == findings(checkov_report, "skipped_checks")
