"""Build the Lambda deployment package reproducibly: the ``chat`` package and the shared ones.

Same source, same bytes: entries are sorted, every timestamp is fixed to
1980-01-01 (the zip epoch) and permissions are normalised, so the archive's
hash changes only when the code does. Terraform's ``source_code_hash`` and
the rehearsal's ``CodeSha256`` check both rely on that.

Beside each module goes its bytecode for the runtime (``runtime_bytecode``), so
that a cold start compiles nothing; where this machine cannot make it, the zip
carries the sources alone and the build says so.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import sys
import zipfile
from collections.abc import Mapping
from pathlib import Path

from scripts import runtime_bytecode

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "backend"
PACKAGE = "chat"
# Packages under backend/ that every function's zip carries beside its own package (code both
# functions run, defined once: the JSON log lines).
SHARED_PACKAGES = ("lambda_logs",)
DEFAULT_OUTPUT = ROOT / "build" / "lambda.zip"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def package_files(source: Path = SOURCE, package: str = PACKAGE) -> list[Path]:
    """Return the ``.py`` files of ``package`` under ``source``, relative to ``source``, sorted."""
    files = [
        path.relative_to(source)
        for path in (source / package).rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix == ".py"
    ]
    return sorted(files, key=lambda p: p.as_posix())


def function_files(source: Path, package: str) -> list[Path]:
    """The ``.py`` files of a function's zip: its ``package`` and the ``SHARED_PACKAGES``,
    relative to ``source``, sorted."""
    files = package_files(source, package)
    for shared in SHARED_PACKAGES:
        files += package_files(source, shared)
    return sorted(files, key=lambda p: p.as_posix())


def write_zip(
    output: Path, files: Mapping[str, Path | bytes], executable: frozenset[str] = frozenset()
) -> Path:
    """Write ``files`` (entry name -> file on disk, or its bytes) to the zip ``output``,
    reproducibly.

    Entries are written in sorted name order with the fixed date, rw-r--r-- permissions, or
    rwxr-xr-x for the names in ``executable``; the zip appears at ``output`` only once complete.
    """
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name in executable else 0o644) << 16
            info.create_system = 3  # Unix, so the permission bits are honoured
            zf.writestr(info, _entry_bytes(files[name]))
    tmp.replace(output)
    return output


def _entry_bytes(content: Path | bytes) -> bytes:
    """A zip entry's content: the bytes given, or the file's."""
    return content if isinstance(content, bytes) else content.read_bytes()


def with_runtime_bytecode(
    files: Mapping[str, Path | bytes],
    zip_name: str,
    store: Path | None = runtime_bytecode.STORE,
) -> dict[str, Path | bytes]:
    """``files`` (zip entry name -> file or bytes) and the runtime's ``.pyc`` of each ``.py``
    among them, when this machine can make them (reusing those in ``store``); otherwise
    ``files`` alone, with a warning."""
    entries = dict(files)
    why_not = runtime_bytecode.missing()
    if why_not is not None:
        print(
            f"warning: {why_not}: {zip_name} carries no bytecode for "
            f"{runtime_bytecode.RUNTIME}, so every cold start compiles its modules",
            file=sys.stderr,
        )
        return entries
    sources = {
        name: _entry_bytes(content) for name, content in files.items() if name.endswith(".py")
    }
    entries.update(runtime_bytecode.compile_for_runtime(sources, store=store))
    return entries


def build(
    output: Path = DEFAULT_OUTPUT,
    source: Path = SOURCE,
    *,
    bytecode: bool = True,
    bytecode_store: Path | None = runtime_bytecode.STORE,
) -> Path:
    """Write the zip to ``output`` and return its path; with ``bytecode``, the runtime's
    ``.pyc`` of every module too, when this machine can make them (a warning otherwise)."""
    files: dict[str, Path | bytes] = {
        rel.as_posix(): source / rel for rel in function_files(source, PACKAGE)
    }
    if bytecode:
        files = with_runtime_bytecode(files, output.name, bytecode_store)
    return write_zip(output, files)


def code_sha256(path: Path) -> str:
    """The zip's SHA-256 in base64, the form Lambda reports as ``CodeSha256``."""
    return base64.b64encode(hashlib.sha256(path.read_bytes()).digest()).decode("ascii")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    path = build(args.output)
    print(f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}  {code_sha256(path)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
