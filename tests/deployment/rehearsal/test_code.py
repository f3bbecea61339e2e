"""The function's package: hash, handler module, safe extraction, and what the code says."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest
from chat.handler import ROUTES

from deployment.rehearsal import code
from deployment.rehearsal.report import Problem, RehearsalError
from scripts.build_lambda import code_sha256

HANDLER = "chat.handler.handler"


def test_the_built_zip_matches_its_code_sha256(lambda_zip: Path) -> None:
    """Our hash is Lambda's CodeSha256 form, and a different package is reported."""
    data = lambda_zip.read_bytes()
    assert code.sha256_base64(data) == code_sha256(lambda_zip)
    assert code.check_code_hash(data, code_sha256(lambda_zip), "build/lambda.zip") == []
    (problem,) = code.check_code_hash(data + b"x", code_sha256(lambda_zip), "build/lambda.zip")
    assert problem.message.startswith("build/lambda.zip (SHA-256 ")
    assert problem.message.endswith(
        f"is not the code the function runs (CodeSha256 {code_sha256(lambda_zip)}): run "
        "`make build` and apply again"
    )


def test_a_handler_whose_module_is_not_in_the_zip_is_reported() -> None:
    """The handler setting must name a module the zip holds, as a file or a package."""
    names = ["chat/__init__.py", "chat/handler.py"]
    assert code.check_handler_in_zip(names, HANDLER) == []
    assert code.check_handler_in_zip(["chat/handler/__init__.py"], HANDLER) == []
    (problem,) = code.check_handler_in_zip(names, "app.main.handler")
    assert problem.message == (
        "the handler app.main.handler needs app/main.py or app/main/__init__.py in the zip, "
        "which holds chat/__init__.py, chat/handler.py"
    )
    (problem,) = code.check_handler_in_zip(names, "handler")
    assert problem.message == "the handler 'handler' is not of the form module.function"


def test_extraction_refuses_names_outside_the_package(tmp_path: Path) -> None:
    """A zip entry with .. would be written outside the directory: refused, nothing written."""
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as archive:
        archive.writestr("chat/__init__.py", "")
        archive.writestr("../escaped.py", "")
    with pytest.raises(RehearsalError, match=r"holds '\.\./escaped\.py', a path outside"):
        code.extract(evil, tmp_path / "out")
    assert not (tmp_path / "escaped.py").exists()
    assert not (tmp_path / "out").exists()


def test_the_probe_reads_routes_and_variables_from_the_package(
    lambda_zip: Path, tmp_path: Path
) -> None:
    """The deployed code itself says which routes it handles and which variables it reads."""
    names = code.extract(lambda_zip, tmp_path)
    assert "chat/handler.py" in names
    facts = code.probe(tmp_path, HANDLER, {"TABLE_NAME": "t", "MESSAGES_TABLE_NAME": "m"})
    assert facts.import_error is None
    assert facts.handler_found
    assert facts.module_file is not None
    assert Path(facts.module_file).is_relative_to(tmp_path)  # the package, never backend/
    assert facts.routes == frozenset(ROUTES)  # the package is built from backend/
    assert facts.reads_env is not None
    assert {"TABLE_NAME", "CONNECTIONS_ENDPOINT", "ALLOWED_ORIGINS"} <= facts.reads_env
    assert "CHAT_TABLE" not in facts.reads_env
    assert facts.validates_environment
    assert facts.config_error is None
    assert code.check_probe(facts, HANDLER, tmp_path) == []


def test_the_probe_reports_the_codes_own_verdict_on_an_environment(
    lambda_zip: Path, tmp_path: Path
) -> None:
    """Without TABLE_NAME the code's settings refuse the environment, in the code's words."""
    code.extract(lambda_zip, tmp_path)
    facts = code.probe(tmp_path, HANDLER, {"CHAT_TABLE": "t", "MESSAGES_TABLE_NAME": "m"})
    assert facts.config_error == "TABLE_NAME is required: set it to the connections table's name"


def _probe_problems_without(lambda_zip: Path, missing: str, tmp_path: Path) -> list[Problem]:
    """What the probe reports for the package with the file ``missing`` left out."""
    partial = tmp_path / "partial.zip"
    with zipfile.ZipFile(lambda_zip) as full, zipfile.ZipFile(partial, "w") as out:
        for name in full.namelist():
            if name != missing:
                out.writestr(name, full.read(name))
    code_dir = tmp_path / "code"
    code.extract(partial, code_dir)
    return code.check_probe(code.probe(code_dir, HANDLER, {}), HANDLER, code_dir)


def test_a_package_missing_a_module_imported_on_first_use_fails_to_import(
    lambda_zip: Path, tmp_path: Path
) -> None:
    """The handler imports a route's use cases when it first serves the route, and they import
    presence: a zip without it imports the handler fine, and is still reported, before any
    route is tried."""
    (problem,) = _probe_problems_without(lambda_zip, "chat/presence.py", tmp_path)
    assert "No module named 'chat.presence'" in problem.message


def test_a_package_missing_a_module_fails_to_import(lambda_zip: Path, tmp_path: Path) -> None:
    """A zip that lacks a module the handler imports is reported with the import error."""
    (problem,) = _probe_problems_without(lambda_zip, "chat/protocol.py", tmp_path)
    assert problem.message == (
        "importing chat.handler from the package fails: ModuleNotFoundError: No module named "
        "'chat.protocol' (the package must hold every module it imports, except boto3)"
    )


def test_a_missing_handler_function_is_reported(lambda_zip: Path, tmp_path: Path) -> None:
    """The module imports but has no such function: Lambda could not run it."""
    code.extract(lambda_zip, tmp_path)
    facts = code.probe(tmp_path, "chat.handler.main", {})
    assert facts.import_error is None
    (problem,) = code.check_probe(facts, "chat.handler.main", tmp_path)
    assert problem.message == "chat.handler has no callable 'main': Lambda cannot run it"


@pytest.mark.parametrize(
    "rename",
    [
        ("chat/handler.py", "ROUTES", "ROUTE_TABLE", "chat.handler.ROUTES"),
        ("chat/runtime.py", "RUNTIME_ENV", "ENV_NAMES", "chat.runtime.RUNTIME_ENV"),
        ("chat/config.py", "def from_env(", "def from_environ(", "chat.config.Settings.from_env"),
    ],
)
def test_a_renamed_contract_name_is_a_problem_naming_it(
    lambda_zip: Path, tmp_path: Path, rename: tuple[str, str, str, str]
) -> None:
    """A name the rehearsal reads from the code, renamed, fails the code step loudly."""
    path, old, new, contract = rename
    code.extract(lambda_zip, tmp_path)
    module = tmp_path / path
    source = module.read_text(encoding="utf-8")
    assert old in source
    module.write_text(source.replace(old, new), encoding="utf-8")
    facts = code.probe(tmp_path, HANDLER, {"TABLE_NAME": "t", "MESSAGES_TABLE_NAME": "m"})
    assert facts.import_error is None
    (problem,) = code.check_probe(facts, HANDLER, tmp_path)
    assert problem.area == code.CODE_AREA
    assert problem.message.startswith(f"contract broken: the package has no {contract} (")
    assert "docs/internals.md (Contracts)" in problem.message


X86_64, AARCH64 = 62, 183


def elf(machine: int) -> bytes:
    """The first bytes of a little-endian ELF shared object built for ``machine``."""
    return b"\x7fELF\x02\x01\x01" + bytes(11) + machine.to_bytes(2, "little") + bytes(12)


def vendored(root: Path, name: str, version: str, files: dict[str, bytes]) -> None:
    """A distribution as pip installs it into a package: its files and a RECORD."""
    for path, body in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(body)
    info = root / f"{name}-{version}.dist-info"
    info.mkdir()
    record = [*files, f"{info.name}/RECORD"]
    (info / "RECORD").write_text("".join(f"{line},,\n" for line in record))


def test_native_code_for_another_machine_is_replaced_by_this_interpreters(
    tmp_path: Path,
) -> None:
    """arm64 cryptography (as the authorizer's zip carries) leaves the local copy; the package's
    own code and its pure-Python dependencies stay."""
    (tmp_path / "authorizer").mkdir()
    (tmp_path / "authorizer" / "handler.py").write_text("")
    vendored(tmp_path, "PyJWT", "2.15.1", {"jwt/__init__.py": b""})
    vendored(
        tmp_path,
        "cryptography",
        "99.0.0",
        {
            "cryptography/__init__.py": b"",
            "cryptography/hazmat/bindings/_rust.abi3.so": elf(AARCH64),
        },
    )
    assert code.elf_machine(tmp_path / "cryptography/hazmat/bindings/_rust.abi3.so") == AARCH64
    assert code.elf_machine(tmp_path / "jwt/__init__.py") is None
    (replaced,) = code.runnable_here(tmp_path, machine=X86_64)
    assert replaced.name == "cryptography"
    assert replaced.packaged == "99.0.0"
    assert replaced.local is not None  # this interpreter's, in requirements-dev.txt
    assert replaced.local != "99.0.0"
    assert not (tmp_path / "cryptography").exists()
    assert not (tmp_path / "cryptography-99.0.0.dist-info").exists()
    assert (tmp_path / "jwt" / "__init__.py").is_file()
    assert (tmp_path / "authorizer" / "handler.py").is_file()
    # Built for this machine: nothing to replace.
    assert code.runnable_here(tmp_path, machine=AARCH64) == []


def test_distributions_without_record_are_found_by_their_top_levels(tmp_path: Path) -> None:
    """build/authorizer.zip drops RECORD (reproducibility): cffi's root-level native module is
    found through top_level.txt, cryptography's package through its own name."""
    backend = "_cffi_backend.cpython-313-aarch64-linux-gnu.so"
    (tmp_path / backend).write_bytes(elf(AARCH64))
    (tmp_path / "cffi").mkdir()
    (tmp_path / "cffi" / "__init__.py").write_text("")
    (tmp_path / "cffi-2.1.1.dist-info").mkdir()
    (tmp_path / "cffi-2.1.1.dist-info" / "top_level.txt").write_text("_cffi_backend\ncffi\n")
    (tmp_path / "cryptography" / "hazmat").mkdir(parents=True)
    (tmp_path / "cryptography" / "hazmat" / "_rust.abi3.so").write_bytes(elf(AARCH64))
    (tmp_path / "cryptography-50.0.2.dist-info").mkdir()
    replaced = code.runnable_here(tmp_path, machine=X86_64)
    assert sorted(r.name for r in replaced) == ["cffi", "cryptography"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_foreign_native_code_no_distribution_owns_is_an_error(tmp_path: Path) -> None:
    """Nothing to fall back on: the rehearsal says which file it cannot run."""
    (tmp_path / "_speedups.so").write_bytes(elf(AARCH64))
    with pytest.raises(RehearsalError, match=r"no distribution owns.*: _speedups\.so"):
        code.runnable_here(tmp_path, machine=X86_64)


def test_a_module_for_another_python_is_not_loadable(tmp_path: Path) -> None:
    """Same machine, but tagged for another CPython: not loadable; abi3 is."""
    other = tmp_path / "_cffi_backend.cpython-313-x86_64-linux-gnu.so"
    other.write_bytes(elf(X86_64))
    stable = tmp_path / "_rust.abi3.so"
    stable.write_bytes(elf(X86_64))
    assert code.loadable_here(stable, X86_64)
    assert code.loadable_here(other, X86_64) is (sys.version_info[:2] == (3, 13))
    assert not code.loadable_here(stable, None)
