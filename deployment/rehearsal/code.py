"""The function's code: the zip checked against ``CodeSha256``, extracted, and asked what it knows.

The probe imports the handler from the extracted zip in a separate, isolated interpreter
(``python -I``: no ``PYTHONPATH``, no working directory on ``sys.path``), so it sees exactly
the deployed code and never ``backend/``. From the handler's package it reads, when present:

- ``<handler module>.ROUTES``: the route keys the code handles (a mapping);
- ``<package>.runtime.RUNTIME_ENV``: every environment variable the code reads;
- ``<package>.config.Settings.from_env(env)``: the code's own validation of an environment.

These names are contracts (docs/internals.md, "Contracts"): a package without one of them is
a problem naming the contract that broke, never a comparison silently skipped. The ``$connect``
authorizer's package (issue #17) is asked only for its handler and
``authorizer.config.AuthSettings.from_env(env)``.

A package built for Lambda's platform may carry native code this machine cannot load (the
authorizer's ``cryptography`` for linux arm64, on an x86_64 laptop): ``runnable_here`` leaves
such distributions out of the extracted copy, so the local run imports this interpreter's
copy of them instead, and says which it replaced and whether the versions agree.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.machinery
import importlib.metadata
import json
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Final

from deployment.rehearsal.report import Problem, RehearsalError

CODE_AREA: Final = "function code"
PROBE_TIMEOUT_S: Final = 30.0

_PROBE: Final = r"""
import importlib, json, pkgutil, sys
from collections.abc import Mapping

code_dir, handler, settings_name = sys.argv[1], sys.argv[2], sys.argv[3]
environment = json.loads(sys.stdin.read())
sys.path.insert(0, code_dir)
module_name, _, function_name = handler.rpartition(".")
facts = {"import_error": None, "handler_found": False, "module_file": None,
         "routes": None, "reads_env": None, "config_error": None, "validates": False}
try:
    module = importlib.import_module(module_name)
    # A handler may import modules on first use (chat's routes do): import every module of its
    # package too, so that a package missing one fails here, not at that route's first event.
    top = importlib.import_module(module_name.split(".")[0])
    for found in pkgutil.walk_packages(getattr(top, "__path__", []), top.__name__ + "."):
        importlib.import_module(found.name)
except BaseException as error:
    facts["import_error"] = f"{type(error).__name__}: {error}"
else:
    facts["module_file"] = getattr(module, "__file__", None)
    facts["handler_found"] = callable(getattr(module, function_name, None))
    routes = getattr(module, "ROUTES", None)
    if isinstance(routes, Mapping):
        facts["routes"] = sorted(str(key) for key in routes)
    package = module_name.split(".")[0]
    try:
        facts["reads_env"] = sorted(importlib.import_module(package + ".runtime").RUNTIME_ENV)
    except (ImportError, AttributeError):
        pass
    try:
        settings = getattr(importlib.import_module(package + ".config"), settings_name)
    except (ImportError, AttributeError):
        settings = None
    if settings is not None and hasattr(settings, "from_env"):
        facts["validates"] = True
        try:
            settings.from_env(environment)
        except Exception as error:
            facts["config_error"] = str(error)
print(json.dumps(facts))
"""


def sha256_base64(data: bytes) -> str:
    """SHA-256 in base64, the form Lambda reports as ``CodeSha256``."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def check_code_hash(zip_bytes: bytes, code_sha256: str, source: str) -> list[Problem]:
    """The package must be the code the function runs."""
    local = sha256_base64(zip_bytes)
    if local == code_sha256:
        return []
    return [
        Problem(
            CODE_AREA,
            f"{source} (SHA-256 {local}) is not the code the function runs (CodeSha256 "
            f"{code_sha256}): run `make build` and apply again",
        )
    ]


def handler_module_paths(handler: str) -> tuple[str, str]:
    """The two files that can hold ``handler``'s module: ``a/b.py`` or ``a/b/__init__.py``."""
    module = handler.rpartition(".")[0]
    base = module.replace(".", "/")
    return f"{base}.py", f"{base}/__init__.py"


def check_handler_in_zip(names: list[str], handler: str) -> list[Problem]:
    """The handler setting must be ``module.function`` with the module in the zip."""
    module, _, function = handler.rpartition(".")
    if not module or not function:
        return [Problem(CODE_AREA, f"the handler {handler!r} is not of the form module.function")]
    if any(path in names for path in handler_module_paths(handler)):
        return []
    files = [n for n in names if not n.endswith("/")]
    shown = ", ".join(files[:8]) + (f" and {len(files) - 8} more" if len(files) > 8 else "")
    return [
        Problem(
            CODE_AREA,
            f"the handler {handler} needs {' or '.join(handler_module_paths(handler))} in the "
            f"zip, which holds {shown or 'nothing'}",
        )
    ]


def extract(zip_path: Path, destination: Path) -> list[str]:
    """Extract the package into ``destination``; return its names. Refuses escaping names."""
    with zipfile.ZipFile(zip_path) as archive:
        names = archive.namelist()
        for name in names:
            path = PurePosixPath(name)
            if path.is_absolute() or ".." in path.parts:
                raise RehearsalError(f"{zip_path} holds {name!r}, a path outside the package")
        archive.extractall(destination)
    return names


@dataclass(frozen=True)
class CodeFacts:
    """What the deployed code says about itself (see the module docstring)."""

    import_error: str | None
    handler_found: bool
    module_file: str | None
    routes: frozenset[str] | None
    reads_env: frozenset[str] | None
    validates_environment: bool
    config_error: str | None


CHAT_SETTINGS: Final = "Settings"
AUTHORIZER_SETTINGS: Final = "AuthSettings"


def probe(
    code_dir: Path,
    handler: str,
    environment: Mapping[str, str],
    python: str = sys.executable,
    settings: str = CHAT_SETTINGS,
) -> CodeFacts:
    """Import ``handler`` from ``code_dir`` in an isolated interpreter and ask it; the
    environment is judged by ``<package>.config.<settings>.from_env``."""
    result = subprocess.run(  # noqa: S603 - our interpreter, our script
        [python, "-I", "-c", _PROBE, str(code_dir), handler, settings],
        input=json.dumps(dict(environment)),
        capture_output=True,
        text=True,
        timeout=PROBE_TIMEOUT_S,
        check=False,
        cwd=code_dir,
        env={"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "AWS_EC2_METADATA_DISABLED": "true"},
    )
    try:
        facts: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError) as error:
        tail = (result.stderr or result.stdout).strip()[-2000:]
        raise RehearsalError(f"the code probe failed (exit {result.returncode}): {tail}") from error

    def optional_set(key: str) -> frozenset[str] | None:
        value = facts.get(key)
        return None if value is None else frozenset(str(v) for v in value)

    return CodeFacts(
        import_error=facts.get("import_error"),
        handler_found=bool(facts.get("handler_found")),
        module_file=facts.get("module_file"),
        routes=optional_set("routes"),
        reads_env=optional_set("reads_env"),
        validates_environment=bool(facts.get("validates")),
        config_error=facts.get("config_error"),
    )


def check_contracts(facts: CodeFacts, handler: str) -> list[Problem]:
    """Every name the rehearsal reads from the code must be there (module docstring)."""
    module = handler.rpartition(".")[0]
    package = module.split(".")[0]
    missing = []
    if facts.routes is None:
        missing.append((f"{module}.ROUTES", "a mapping of the route keys the code handles"))
    if facts.reads_env is None:
        missing.append(
            (f"{package}.runtime.RUNTIME_ENV", "every environment variable the code reads")
        )
    if not facts.validates_environment:
        missing.append(
            (f"{package}.config.Settings.from_env", "the code's validation of its environment")
        )
    return [
        Problem(
            CODE_AREA,
            f"contract broken: the package has no {name} ({what}), which the rehearsal reads "
            "to check the deployment against the code; restore it, or change the contract in "
            "deployment/rehearsal/code.py and docs/internals.md (Contracts)",
        )
        for name, what in missing
    ]


def check_probe(facts: CodeFacts, handler: str, code_dir: Path) -> list[Problem]:
    """The handler must import from the package alone, be callable, and keep the contracts."""
    problems = check_import(facts, handler, code_dir)
    if facts.import_error is not None:
        return problems
    return problems + check_contracts(facts, handler)


def check_authorizer_probe(facts: CodeFacts, handler: str, code_dir: Path) -> list[Problem]:
    """The authorizer's handler must import and be callable, and its package must judge an
    environment (``<package>.config.AuthSettings.from_env``, docs/internals.md)."""
    problems = check_import(facts, handler, code_dir)
    if facts.import_error is not None or facts.validates_environment:
        return problems
    package = handler.split(".", maxsplit=1)[0]
    return [
        *problems,
        Problem(
            CODE_AREA,
            f"contract broken: the package has no {package}.config.{AUTHORIZER_SETTINGS}"
            ".from_env (the authorizer's validation of its environment), which the rehearsal "
            "reads to check the deployment against the code",
        ),
    ]


def check_import(facts: CodeFacts, handler: str, code_dir: Path) -> list[Problem]:
    """The handler must import from the package alone and be callable."""
    module, _, function = handler.rpartition(".")
    if facts.import_error is not None:
        return [
            Problem(
                CODE_AREA,
                f"importing {module} from the package fails: {facts.import_error} (the "
                "package must hold every module it imports, except boto3)",
            )
        ]
    problems = []
    if facts.module_file is not None and not Path(facts.module_file).resolve().is_relative_to(
        code_dir.resolve()
    ):
        problems.append(
            Problem(
                CODE_AREA,
                f"{module} was imported from {facts.module_file}, not from the package",
            )
        )
    if not facts.handler_found:
        problems.append(
            Problem(CODE_AREA, f"{module} has no callable {function!r}: Lambda cannot run it")
        )
    return problems


# --- native code built for another platform ---------------------------------------------------

# Shared objects: extension modules (``_rust.abi3.so``) and the libraries wheels vendor
# (``libffi-a1b2.so.8``).
_SHARED_OBJECT: Final = re.compile(r"\.so(?:\.\d+)*$")
_VERSION_TAGGED: Final = re.compile(r"\.cpython-\d+")
_ELF_MAGIC: Final = b"\x7fELF"


def elf_machine(path: Path) -> int | None:
    """The ELF ``e_machine`` of ``path`` (62 x86-64, 183 AArch64), or None if it is no ELF."""
    with path.open("rb") as file:
        head = file.read(20)
    if len(head) < 20 or head[:4] != _ELF_MAGIC:
        return None
    return int.from_bytes(head[18:20], "little" if head[5] == 1 else "big")


def _this_machine() -> int | None:
    return elf_machine(Path(sys.executable).resolve())


def loadable_here(path: Path, machine: int | None) -> bool:
    """Whether this interpreter (on ``machine``) could load the shared object ``path``: built
    for the same machine, and, when its name carries a CPython tag, for this version."""
    if machine is None or elf_machine(path) != machine:
        return False
    if _VERSION_TAGGED.search(path.name):
        suffixes = [s for s in importlib.machinery.EXTENSION_SUFFIXES if s != ".so"]
        return any(path.name.endswith(s) for s in suffixes)
    return True


@dataclass(frozen=True)
class Distribution:
    """A distribution the package vendors, from its ``*.dist-info`` directory."""

    name: str
    version: str
    files: tuple[str, ...]
    """Its files, relative to the package root (from ``RECORD``)."""


def distributions(code_dir: Path) -> list[Distribution]:
    """Every distribution in the package, with its files: from its ``RECORD`` as pip installs
    it, else (a build that drops ``RECORD`` for reproducibility) its top-level packages and
    modules, as ``top_level.txt`` names them or, without one, its own name."""
    found = []
    for dist_info in sorted(code_dir.glob("*.dist-info")):
        name, _, version = dist_info.name.removesuffix(".dist-info").rpartition("-")
        record = dist_info / "RECORD"
        if record.is_file():
            lines = record.read_text(encoding="utf-8").splitlines()
            files = tuple(line.split(",")[0] for line in lines if line)
        else:
            files = _files_of_top_levels(code_dir, _top_levels(dist_info, name))
        found.append(Distribution(name=name, version=version, files=files))
    return found


def _top_levels(dist_info: Path, name: str) -> list[str]:
    listed = dist_info / "top_level.txt"
    if listed.is_file():
        return [line.strip() for line in listed.read_text(encoding="utf-8").splitlines() if line]
    return [name.lower().replace("-", "_")]


def _files_of_top_levels(code_dir: Path, tops: list[str]) -> tuple[str, ...]:
    files: list[str] = []
    for top in tops:
        package = code_dir / top
        if package.is_dir():
            files += [p.relative_to(code_dir).as_posix() for p in package.rglob("*") if p.is_file()]
        # A top-level module: top.py, or native code such as top.cpython-313-aarch64-...so.
        files += [p.name for p in code_dir.glob(f"{top}.*") if p.is_file()]
    return tuple(sorted(files))


@dataclass(frozen=True)
class Replaced:
    """A vendored distribution left out of the local copy for this interpreter's own."""

    name: str
    packaged: str
    """The version in the package."""
    local: str | None
    """The version this interpreter has (None: not installed)."""


def _remove_empty_directories(root: Path) -> None:
    # Deepest first; a directory left empty would still import as a namespace package.
    for directory in sorted((d for d in root.rglob("*") if d.is_dir()), reverse=True):
        if not any(directory.iterdir()):
            directory.rmdir()


def runnable_here(code_dir: Path, machine: int | None = None) -> list[Replaced]:
    """Make the extracted package ``code_dir`` importable by this interpreter: remove every
    vendored distribution holding native code it cannot load (module docstring).

    ``RehearsalError`` when such code belongs to no distribution (nothing to fall back on)."""
    machine = _this_machine() if machine is None else machine
    foreign = {
        path.relative_to(code_dir).as_posix()
        for path in code_dir.rglob("*")
        if path.is_file() and _SHARED_OBJECT.search(path.name) and not loadable_here(path, machine)
    }
    if not foreign:
        return []
    replaced = []
    for dist in distributions(code_dir):
        if foreign.isdisjoint(dist.files):
            continue
        foreign -= set(dist.files)
        for name in dist.files:
            target = code_dir / name
            if target.is_file() and target.resolve().is_relative_to(code_dir.resolve()):
                target.unlink()
        shutil.rmtree(code_dir / f"{dist.name}-{dist.version}.dist-info", ignore_errors=True)
        _remove_empty_directories(code_dir)
        try:
            local: str | None = importlib.metadata.version(dist.name)
        except importlib.metadata.PackageNotFoundError:
            local = None
        replaced.append(Replaced(name=dist.name, packaged=dist.version, local=local))
    if foreign:
        raise RehearsalError(
            f"the package holds native code this machine cannot load and no distribution "
            f"owns, so there is nothing to run instead: {', '.join(sorted(foreign))}"
        )
    return replaced
