"""The temporary copy laid out like the repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from deployment.terraform.errors import HarnessError
from deployment.terraform.workspace import DeploymentSources, prepare_workdir


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


def test_the_authorizer_zip_is_laid_out_beside_the_lambdas(tmp_path: Path) -> None:
    """Given, the authorizer's package lands at build/authorizer.zip, as `make build` puts it."""
    tf = tmp_path / "terraform"
    tf.mkdir()
    (tf / "versions.tf").write_text("")
    lambda_zip = tmp_path / "lambda.zip"
    lambda_zip.write_bytes(b"PK-chat")
    authorizer_zip = tmp_path / "authorizer.zip"
    authorizer_zip.write_bytes(b"PK-auth")
    root = tmp_path / "work"
    root.mkdir()
    prepare_workdir(
        root,
        DeploymentSources(tf, tmp_path / "no-site", lambda_zip, authorizer_zip=authorizer_zip),
    )
    assert (root / "build" / "lambda.zip").read_bytes() == b"PK-chat"
    assert (root / "build" / "authorizer.zip").read_bytes() == b"PK-auth"
