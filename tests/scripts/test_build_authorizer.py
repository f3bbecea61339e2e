"""scripts/build_authorizer.py: a reproducible zip of the authorizer and its aarch64 wheels.

The builds install the pinned wheels for the Lambda's platform (downloaded once into
build/authorizer-wheels/, the same cache `make build` uses), from a small stand-in for
backend/authorizer, so they test the builder whatever the authorizer's code is.
"""

from __future__ import annotations

import os
import struct
import sys
import zipfile
from pathlib import Path

import pytest

from scripts import build_authorizer, runtime_bytecode
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
ELF_MAGIC = b"\x7fELF"
# e_machine values of the ELF header (offset 18, 16 bits, little-endian on both).
EM_AARCH64 = 0xB7


def fake_source(root: Path) -> Path:
    """A backend folder with an authorizer package and files that must stay out."""
    package = root / "authorizer"
    (package / "__pycache__").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "handler.py").write_text("import jwt\n\n\ndef handler(event, context):\n    pass\n")
    (package / "__pycache__" / "handler.cpython-313.pyc").write_bytes(b"\x00")
    (package / "notes.txt").write_text("not code")
    (root / "chat").mkdir()
    (root / "chat" / "handler.py").write_text("X = 1\n")
    (root / "lambda_logs").mkdir()
    (root / "lambda_logs" / "__init__.py").write_text("L = 1\n")
    return root


@pytest.fixture(scope="module")
def two_builds(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same source built twice, its files' times changed in between."""
    tmp = tmp_path_factory.mktemp("authorizer")
    source = fake_source(tmp / "src")
    first = build_authorizer.build(tmp / "one.zip", source)
    for path in source.rglob("*.py"):
        os.utime(path, (1_000_000_000, 1_000_000_000))
    second = build_authorizer.build(tmp / "two.zip", source)
    return first, second


def elf_machines(path: Path) -> dict[str, int]:
    """The ELF machine of every entry of the zip that is an ELF binary."""
    machines = {}
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            head = zf.read(name)[:20]
            if head.startswith(ELF_MAGIC):
                machines[name] = struct.unpack_from("<H", head, 18)[0]
    return machines


def test_same_inputs_give_identical_bytes(two_builds: tuple[Path, Path]) -> None:
    """Two builds of the same source and requirements are byte-identical."""
    first, second = two_builds
    assert first.read_bytes() == second.read_bytes()


def test_nothing_in_it_names_the_building_machine(two_builds: tuple[Path, Path]) -> None:
    """No entry holds this checkout's or this interpreter's path (cffi's console script did:
    the zip then differed between two clones of the same commit)."""
    machine_paths = {str(ROOT).encode(), sys.prefix.encode(), sys.executable.encode()}
    with zipfile.ZipFile(two_builds[0]) as zf:
        naming = [
            name for name in zf.namelist() if any(path in zf.read(name) for path in machine_paths)
        ]
    assert naming == []


def test_binaries_are_for_the_lambdas_arm64(two_builds: tuple[Path, Path]) -> None:
    """cryptography's Rust extension and cffi's backend are aarch64 ELF; nothing is x86_64."""
    machines = elf_machines(two_builds[0])
    assert "cryptography/hazmat/bindings/_rust.abi3.so" in machines
    assert any(name.startswith("_cffi_backend.cpython-313-aarch64") for name in machines)
    assert {name: m for name, m in machines.items() if m != EM_AARCH64} == {}


def test_holds_the_package_and_its_dependencies_only(two_builds: tuple[Path, Path]) -> None:
    """The authorizer's .py files, the shared packages', jwt, cryptography and cffi; no chat,
    pip's own bytecode or records (the runtime's bytecode is the next test's)."""
    with zipfile.ZipFile(two_builds[0]) as zf:
        infos = zf.infolist()
    names = [info.filename for info in infos]
    assert names == sorted(names)
    package = ["authorizer/__init__.py", "authorizer/handler.py"]
    if runtime_bytecode.missing() is None:
        package += [runtime_bytecode.cache_path(name) for name in package]
    assert [n for n in names if n.startswith("authorizer/")] == sorted(package)
    shared = ["lambda_logs/__init__.py"]
    if runtime_bytecode.missing() is None:
        shared += [runtime_bytecode.cache_path(name) for name in shared]
    assert [n for n in names if n.startswith("lambda_logs/")] == sorted(shared)
    tops = {name.split("/")[0] for name in names}
    assert {"jwt", "cryptography", "cffi", "pycparser"} <= tops
    assert "chat" not in tops
    assert "bin" not in tops  # cffi's console script named this machine's Python
    assert [n for n in names if n.endswith(".pyc") and ".cpython-313." not in n] == []
    records = build_authorizer.INSTALL_RECORDS
    assert [n for n in names if n.split("/")[-1] in records and ".dist-info/" in n] == []
    assert {info.date_time for info in infos} == {(1980, 1, 1, 0, 0, 0)}
    modes = {info.filename: info.external_attr >> 16 for info in infos}
    assert {m for n, m in modes.items() if n.endswith(".so")} == {0o755}
    assert {m for n, m in modes.items() if not n.endswith(".so")} == {0o644}


def test_every_module_has_its_checked_bytecode_for_the_runtime(
    two_builds: tuple[Path, Path],
) -> None:
    """The package's modules and the dependencies' each have their python3.13 .pyc, checked
    against the source beside it (tests/scripts/test_runtime_bytecode.py shows Python 3.13
    using such files)."""
    if runtime_bytecode.missing() is not None:
        skip_or_fail(f"{runtime_bytecode.missing()}: the runtime's bytecode cannot be made")
    with zipfile.ZipFile(two_builds[0]) as zf:
        entries = {name: zf.read(name) for name in zf.namelist()}
    sources = [name for name in entries if name.endswith(".py")]
    assert len(sources) > 100  # jwt, cryptography, cffi, pycparser
    magic = entries["authorizer/__pycache__/handler.cpython-313.pyc"][:4]
    for name in sources:
        pyc = entries[runtime_bytecode.cache_path(name)]
        assert runtime_bytecode.pyc_problem(pyc, entries[name], magic) is None, name
    assert len([name for name in entries if name.endswith(".pyc")]) == len(sources)


def test_a_missing_package_is_refused(tmp_path: Path) -> None:
    """Without an authorizer package there is nothing to build: an error, not an empty zip."""
    with pytest.raises(build_authorizer.BuildError, match="holds no Python files"):
        build_authorizer.build(tmp_path / "out.zip", tmp_path)
    assert not (tmp_path / "out.zip").exists()


def test_every_requirement_is_pinned_with_hashes() -> None:
    """requirements-authorizer.txt pins exact versions, each with at least one hash."""
    text = build_authorizer.REQUIREMENTS.read_text(encoding="utf-8")
    blocks = [b for b in text.split("\n") if b and not b.startswith((" ", "#"))]
    assert blocks
    assert all("==" in b and b.endswith("\\") for b in blocks), blocks
