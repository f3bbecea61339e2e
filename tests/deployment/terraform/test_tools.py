"""Finding Terraform and its provider mirror; the CLI config and environment it runs with."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployment.terraform.tools import (
    MIRROR_ENV,
    cli_config_text,
    find_provider_mirror,
    terraform_environment,
)


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


def test_mirror_override_must_hold_the_aws_provider(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``AWSOME_TF_PLUGIN_MIRROR`` is used when it holds hashicorp/aws, refused otherwise."""
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    assert find_provider_mirror() is None
    (tmp_path / "registry.terraform.io/hashicorp/aws/9.9.9").mkdir(parents=True)
    assert find_provider_mirror() == tmp_path
