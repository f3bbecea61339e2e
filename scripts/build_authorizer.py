"""Build the authorizer Lambda's package, build/authorizer.zip, reproducibly.

The zip holds ``backend/authorizer/**/*.py``, the packages both functions share
(``build_lambda.SHARED_PACKAGES``) and its dependencies (PyJWT, cryptography and what
they need), installed from wheels for the Lambda's platform, not this machine's: CPython 3.13
on manylinux aarch64 (the function is python3.13 on arm64). The versions and every file's
SHA-256 are pinned in requirements-authorizer.txt, so pip refuses any other wheel.

1. ``pip download`` fetches the pinned wheels into build/authorizer-wheels/ (a cache: a file
   already there with the pinned hash is not fetched again, so later builds work offline).
2. ``pip install --target`` installs them from that cache only (``--no-index``), without
   compiling bytecode.
3. The zip is written as scripts/build_lambda.py writes build/lambda.zip: sorted entries, the
   1980-01-01 date, fixed permissions (rwxr-xr-x for shared libraries, rw-r--r-- otherwise).
   What pip writes that depends on the install rather than the wheels (``__pycache__``,
   ``*.pyc``, ``RECORD``, ``INSTALLER``, ``REQUESTED``, ``direct_url.json``, and ``bin/``: the
   wheels' console scripts, whose first line names the building machine's Python) stays out;
   the runtime needs none of it. Every module, the dependencies' included, gets its bytecode for
   the runtime as build/lambda.zip's do (``scripts/runtime_bytecode.py``): PyJWT and
   cryptography are most of what a cold start of the authorizer loads.

Same sources and requirements, same bytes, so Terraform's ``source_code_hash`` changes only
when the code or a pinned wheel does.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Final

from scripts.build_lambda import (
    ROOT,
    code_sha256,
    function_files,
    package_files,
    with_runtime_bytecode,
    write_zip,
)

SOURCE: Final = ROOT / "backend"
PACKAGE: Final = "authorizer"
REQUIREMENTS: Final = ROOT / "requirements-authorizer.txt"
DEFAULT_OUTPUT: Final = ROOT / "build" / "authorizer.zip"
WHEEL_CACHE: Final = ROOT / "build" / "authorizer-wheels"

# The Lambda's platform as pip's target options: python3.13 on arm64 (Amazon Linux 2023,
# glibc 2.34, so both manylinux tags below load there).
LAMBDA_PLATFORM: Final = (
    "--platform",
    "manylinux2014_aarch64",
    "--platform",
    "manylinux_2_28_aarch64",
    "--python-version",
    "3.13",
    "--implementation",
    "cp",
    "--only-binary=:all:",
)

# Where pip --target writes the wheels' console scripts, each starting with a "#!" line naming
# this machine's interpreter: left out (the function runs none of them).
SCRIPTS: Final = "bin"
# Files pip writes per install, not per wheel: left out so the zip depends on the wheels only.
INSTALL_RECORDS: Final = frozenset({"RECORD", "INSTALLER", "REQUESTED", "direct_url.json"})
PIP_TIMEOUT_SECONDS: Final = 600


class BuildError(Exception):
    """The package cannot be built; the message says what to fix."""


def pip(*args: str) -> None:
    """Run this interpreter's pip with ``args``; raise ``BuildError`` with its output on failure."""
    command = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    result = subprocess.run(  # noqa: S603 - our own interpreter with fixed arguments
        command, capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS, check=False
    )
    if result.returncode != 0:
        raise BuildError(f"`pip {' '.join(args)}` failed:\n{result.stdout}{result.stderr}")


def install_dependencies(target: Path, requirements: Path, wheel_cache: Path) -> None:
    """Install the pinned wheels for the Lambda's platform into ``target``."""
    pinned = ("--require-hashes", "-r", str(requirements))
    pip("download", "--quiet", *pinned, *LAMBDA_PLATFORM, "--dest", str(wheel_cache))
    pip(
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        str(wheel_cache),
        "--no-compile",
        "--target",
        str(target),
        *pinned,
        *LAMBDA_PLATFORM,
    )


def installed_files(target: Path) -> dict[str, Path]:
    """The files of an install into ``target`` that go into the zip, by entry name."""
    files: dict[str, Path] = {}
    for path in target.rglob("*"):
        rel = path.relative_to(target)
        if not path.is_file() or "__pycache__" in rel.parts or path.suffix == ".pyc":
            continue
        if rel.parts[0] == SCRIPTS:
            continue
        if rel.parent.name.endswith(".dist-info") and rel.name in INSTALL_RECORDS:
            continue
        files[rel.as_posix()] = path
    return files


def build(
    output: Path = DEFAULT_OUTPUT,
    source: Path = SOURCE,
    *,
    requirements: Path = REQUIREMENTS,
    wheel_cache: Path = WHEEL_CACHE,
) -> Path:
    """Write the authorizer's zip to ``output`` and return its path.

    ``source`` is the folder holding the ``authorizer`` package (backend/ in the repository).
    """
    if not package_files(source, PACKAGE):
        raise BuildError(f"{source / PACKAGE} holds no Python files: there is no authorizer")
    sources = function_files(source, PACKAGE)
    with tempfile.TemporaryDirectory(prefix="awsome-authorizer-") as tmp:
        target = Path(tmp) / "site-packages"
        install_dependencies(target, requirements, wheel_cache)
        files = installed_files(target)
        clashes = sorted({rel.parts[0] for rel in sources} & {n.split("/")[0] for n in files})
        if clashes:
            raise BuildError(f"the package and a dependency both provide {clashes}")
        files.update({rel.as_posix(): source / rel for rel in sources})
        executable = frozenset(name for name in files if name.endswith(".so"))
        return write_zip(output, with_runtime_bytecode(files, output.name), executable)


def main(argv: list[str] | None = None) -> int:
    """Build the zip and print its path and CodeSha256."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        path = build(args.output)
    except BuildError as error:
        print(f"build_authorizer: {error}", file=sys.stderr)
        return 1
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {code_sha256(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
