"""The function's code: the zip checked against ``CodeSha256``, extracted, and asked what it knows.

The probe imports the handler from the extracted zip in a separate, isolated interpreter
(``python -I``: no ``PYTHONPATH``, no working directory on ``sys.path``), so it sees exactly
the deployed code and never ``backend/``. From the handler's package it reads, when present:

- ``<handler module>.ROUTES``: the route keys the code handles (a mapping);
- ``<package>.runtime.RUNTIME_ENV``: every environment variable the code reads;
- ``<package>.config.Settings.from_env(env)``: the code's own validation of an environment.

These names are contracts (docs/internals.md, "Contracts"): a package without one of them is
a problem naming the contract that broke, never a comparison silently skipped.
"""

from __future__ import annotations

import base64
import hashlib
import json
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
import importlib, json, sys
from collections.abc import Mapping

code_dir, handler = sys.argv[1], sys.argv[2]
environment = json.loads(sys.stdin.read())
sys.path.insert(0, code_dir)
module_name, _, function_name = handler.rpartition(".")
facts = {"import_error": None, "handler_found": False, "module_file": None,
         "routes": None, "reads_env": None, "config_error": None, "validates": False}
try:
    module = importlib.import_module(module_name)
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
        settings = importlib.import_module(package + ".config").Settings
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


def probe(
    code_dir: Path, handler: str, environment: Mapping[str, str], python: str = sys.executable
) -> CodeFacts:
    """Import ``handler`` from ``code_dir`` in an isolated interpreter and ask it."""
    result = subprocess.run(  # noqa: S603 - our interpreter, our script
        [python, "-I", "-c", _PROBE, str(code_dir), handler],
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
    return problems + check_contracts(facts, handler)
