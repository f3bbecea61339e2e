"""The Terraform harness's own logic, without running terraform."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployment.terraform.emulator import EMULATED_SERVICES, boto3_client, emulator_override
from deployment.terraform.errors import HarnessError
from deployment.terraform.plan import (
    AttributeDiff,
    Plan,
    ResourceChange,
    attribute_diffs,
    plan_from_json,
)
from deployment.terraform.tools import (
    MIRROR_ENV,
    cli_config_text,
    find_provider_mirror,
    terraform_environment,
)
from deployment.terraform.workspace import DeploymentSources, prepare_workdir
from local_stack.moto_server import MotoServer, MotoServerError
from tests.terraform.emulator_gaps import unexplained_diffs


def test_cli_config_installs_only_aws_from_the_mirror() -> None:
    """The CLI config names the mirror and includes hashicorp/aws only."""
    text = cli_config_text(Path("/mirror dir"))
    assert 'path    = "/mirror dir"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert "direct" not in text


def test_environment_drops_credentials_and_pins_the_cli_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """No AWS_* or TF_* variable of the caller reaches terraform; the harness's own are set."""
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-secret")
    monkeypatch.setenv("TF_PLUGIN_CACHE_DIR", "/somewhere")
    env = terraform_environment(tmp_path / "rc")
    assert "AWS_PROFILE" not in env
    assert "AWS_SECRET_ACCESS_KEY" not in env
    assert "TF_PLUGIN_CACHE_DIR" not in env
    assert env["TF_CLI_CONFIG_FILE"] == str(tmp_path / "rc")
    assert env["CHECKPOINT_DISABLE"] == "1"
    assert env["TF_IN_AUTOMATION"] == "1"


def test_override_points_every_service_at_the_emulator() -> None:
    """Every endpoint of the override is the emulator's, with its dummy keys."""
    text = emulator_override("http://127.0.0.1:5555")
    for service in EMULATED_SERVICES:
        assert f'{service} = "http://127.0.0.1:5555"' in text
    assert text.count("http") == len(EMULATED_SERVICES)
    assert 'access_key                  = "test"' in text


def test_mirror_override_must_hold_the_aws_provider(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``AWSOME_TF_PLUGIN_MIRROR`` is used when it holds hashicorp/aws, refused otherwise."""
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    assert find_provider_mirror() is None
    (tmp_path / "registry.terraform.io/hashicorp/aws/9.9.9").mkdir(parents=True)
    assert find_provider_mirror() == tmp_path


def test_workdir_copy_leaves_out_state_and_stale_overrides(tmp_path: Path) -> None:
    """The copy mirrors the repository layout without state, providers or overrides."""
    tf = tmp_path / "src" / "terraform"
    (tf / ".terraform" / "providers").mkdir(parents=True)
    for name in ("versions.tf", "terraform.tfstate", "old_override.tf", ".terraform.lock.hcl"):
        (tf / name).write_text("x")
    site = tmp_path / "src" / "site"
    site.mkdir()
    (site / "index.html").write_text("<p>")
    zip_path = tmp_path / "src" / "lambda.zip"
    zip_path.write_bytes(b"PK")
    root = tmp_path / "work"
    root.mkdir()
    workdir = prepare_workdir(root, DeploymentSources(tf, site, zip_path))
    assert sorted(p.name for p in workdir.iterdir()) == ["versions.tf"]
    assert (root / "frontend" / "index.html").read_text() == "<p>"
    assert (root / "build" / "lambda.zip").read_bytes() == b"PK"


def test_workdir_without_the_zip_says_to_build_it(tmp_path: Path) -> None:
    """A missing Lambda zip is a clear error naming `make build`."""
    tf = tmp_path / "terraform"
    tf.mkdir()
    (tf / "versions.tf").write_text("")
    root = tmp_path / "work"
    root.mkdir()
    with pytest.raises(HarnessError, match="make build"):
        prepare_workdir(root, DeploymentSources(tf, tmp_path / "no-site", tmp_path / "missing.zip"))


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


def test_moto_server_serves_on_a_free_local_port() -> None:
    """The emulator starts on 127.0.0.1, answers boto3, and stops."""
    with MotoServer(quiet=True) as moto:
        assert moto.endpoint.startswith("http://127.0.0.1:")
        dynamodb = boto3_client("dynamodb", moto.endpoint, "eu-west-1")
        assert dynamodb.list_tables()["TableNames"] == []
    with pytest.raises(MotoServerError):
        _ = moto.endpoint
