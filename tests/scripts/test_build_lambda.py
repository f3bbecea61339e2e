"""scripts/build_lambda.py writes a reproducible zip holding only the chat package's and the
shared packages' sources and their bytecode for the runtime (tests/scripts/test_runtime_bytecode.py
checks that bytecode)."""

from __future__ import annotations

import base64
import hashlib
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from scripts import build_lambda

ROOT = Path(__file__).resolve().parents[2]


def names(path: Path) -> list[str]:
    """The entry names of a zip, in archive order."""
    with zipfile.ZipFile(path) as zf:
        return zf.namelist()


def fake_source(root: Path) -> Path:
    """A source tree with the package, a subpackage and things that must stay out."""
    package = root / "chat"
    (package / "sub").mkdir(parents=True)
    (package / "__pycache__").mkdir()
    (package / "zeta.py").write_text("Z = 1\n")
    (package / "__init__.py").write_text("")
    (package / "alpha.py").write_text("A = 1\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "__pycache__" / "alpha.cpython-311.pyc").write_bytes(b"\x00")
    (package / "notes.txt").write_text("not code")
    (package / "alpha.pyc").write_bytes(b"\x00")
    (root / "other.py").write_text("X = 1\n")
    (root / "lambda_logs").mkdir()
    (root / "lambda_logs" / "__init__.py").write_text("L = 1\n")
    (root / "authorizer").mkdir()
    (root / "authorizer" / "handler.py").write_text("A = 1\n")
    return root


def test_same_source_gives_identical_bytes(tmp_path: Path) -> None:
    """Two builds of the same source are byte-identical, even after the files' mtimes change.
    (The bytecode's own reproducibility, a module compiled to the same bytes by two runs of the
    compiler, is tests/scripts/test_runtime_bytecode.py's.)"""
    source = fake_source(tmp_path / "src")
    first = build_lambda.build(tmp_path / "one.zip", source, bytecode=False)
    for path in source.rglob("*.py"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    second = build_lambda.build(tmp_path / "two.zip", source, bytecode=False)
    assert first.read_bytes() == second.read_bytes()


def test_only_package_sources_sorted(tmp_path: Path) -> None:
    """Only chat/**/*.py and the shared packages' go in, sorted; caches, bytecode, the
    authorizer and other files stay out."""
    zip_path = build_lambda.build(
        tmp_path / "out.zip", fake_source(tmp_path / "src"), bytecode=False
    )
    assert names(zip_path) == [
        "chat/__init__.py",
        "chat/alpha.py",
        "chat/sub/__init__.py",
        "chat/zeta.py",
        "lambda_logs/__init__.py",
    ]


def test_fixed_timestamps_and_permissions(tmp_path: Path) -> None:
    """Every entry has the 1980-01-01 timestamp and rw-r--r-- permissions."""
    zip_path = build_lambda.build(
        tmp_path / "out.zip", fake_source(tmp_path / "src"), bytecode=False
    )
    with zipfile.ZipFile(zip_path) as zf:
        infos = zf.infolist()
    assert infos
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    assert {info.external_attr >> 16 for info in infos} == {0o644}


@pytest.mark.slow  # a build with the runtime's bytecode
def test_real_package_is_complete_and_importable(tmp_path: Path) -> None:
    """The real build holds every backend/chat module, subpackages included, and the shared
    packages', and each one imports with no repository on the path (the handler imports its
    routes' modules on first use, so importing the handler alone would not load them)."""
    zip_path = build_lambda.build(tmp_path / "lambda.zip")
    backend = ROOT / "backend"
    expected = sorted(
        p.relative_to(backend).as_posix()
        for package in ("chat", *build_lambda.SHARED_PACKAGES)
        for p in (backend / package).rglob("*.py")
    )
    assert [name for name in names(zip_path) if not name.endswith(".pyc")] == expected
    modules = [
        name.removesuffix(".py").removesuffix("/__init__").replace("/", ".") for name in expected
    ]
    code = (
        "import importlib, chat.handler as h\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(callable(h.handler))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(zip_path)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_code_sha256_is_lambdas_form(tmp_path: Path) -> None:
    """code_sha256 is the base64 SHA-256 that Lambda reports as CodeSha256."""
    zip_path = build_lambda.build(
        tmp_path / "out.zip", fake_source(tmp_path / "src"), bytecode=False
    )
    digest = base64.b64encode(hashlib.sha256(zip_path.read_bytes()).digest()).decode()
    assert build_lambda.code_sha256(zip_path) == digest
