"""Bytecode for the Lambda's runtime, Python 3.13, made on a machine that has no Python 3.13.

Lambda unpacks the zip into a read-only ``/var/task``: a module without bytecode there is
compiled at every cold start and never cached (``docs/performance.md``, "Cold start"). The zip
therefore carries ``__pycache__/<module>.cpython-313.pyc`` beside each source, compiled by
CPython 3.13 itself: Pyodide, CPython built for WebAssembly, which Node runs (``bytecode/``,
pinned by its ``package-lock.json``; ``make build`` installs it with ``npm ci``). Bytecode is
the same on every platform for one Python version; only the interpreter's minor version must
match the runtime's, and it is checked on every build.

``build/runtime-bytecode/`` keeps every ``.pyc`` made, so a build compiles only the modules that
changed since (a few seconds saved per build: the compiler takes about 3 s to start).

Each ``.pyc`` is hash-checked (PEP 552): the runtime hashes the source beside it and uses the
bytecode only if they match, so a stale or mismatched ``.pyc`` costs a compile, never wrong code.
Without Node or the installed compiler, ``missing()`` says why, and the zip carries sources only
(it works the same, each cold start compiling its modules).
"""

from __future__ import annotations

import _imp
import base64
import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Final

ROOT: Final = Path(__file__).resolve().parent.parent
COMPILER: Final = ROOT / "scripts" / "bytecode"
# terraform/lambda.tf's runtime (tests/scripts/test_runtime_bytecode.py checks they agree).
RUNTIME_VERSION: Final = (3, 13)
RUNTIME: Final = "python{}.{}".format(*RUNTIME_VERSION)
CACHE_TAG: Final = "cpython-{}{}".format(*RUNTIME_VERSION)  # sys.implementation.cache_tag
# importlib.util.MAGIC_NUMBER of every 3.13 release (3571): fixed within a minor version.
RUNTIME_MAGIC: Final = bytes.fromhex("f30d0d0a")
# Where Lambda unpacks the zip (LAMBDA_TASK_ROOT): the code objects' file names.
TASK_ROOT: Final = "/var/task"
# The .pyc made so far, by digest (compile_for_runtime), and what makes the compiler.
STORE: Final = ROOT / "build" / "runtime-bytecode"
_COMPILER_FILES: Final = ("package-lock.json", "compile.mjs")
_TIMEOUT_S: Final = 120
# PEP 552's flags word: hash-based, and checked against the source at import.
_HASH_BASED: Final = 0b01
_CHECK_SOURCE: Final = 0b10


class BytecodeError(RuntimeError):
    """The compiler ran but its answer cannot go into the zip."""


def missing() -> str | None:
    """Why runtime bytecode cannot be made on this machine, or ``None`` when it can."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not (COMPILER / "node_modules" / "pyodide").is_dir():
        return "the bytecode compiler is not installed (npm ci --prefix scripts/bytecode)"
    return None


def compile_for_runtime(
    sources: Mapping[str, bytes], *, store: Path | None = STORE
) -> dict[str, bytes]:
    """The runtime's ``.pyc`` for each source (zip entry name -> bytes), by cache path.

    A ``.pyc`` made before is taken from ``store``, where each is kept under a digest of the
    compiler, the entry's name and its source, and only the others are compiled: the compiler
    makes a module's bytes alone or among others alike (a test checks), so a build gives the
    same zip whatever the store holds. Every ``.pyc``, kept or new, is checked.
    """
    compiler = hashlib.sha256(
        b"".join((COMPILER / file).read_bytes() for file in _COMPILER_FILES)
    ).digest()
    digests = {name: _digest(compiler, name, data) for name, data in sources.items()}
    kept = {}
    if store is not None:
        kept = {
            name: (store / digest).read_bytes()
            for name, digest in digests.items()
            if (store / digest).is_file()
        }
    new = {name: data for name, data in sources.items() if name not in kept}
    made = _compile(new) if new else {}
    if store is not None:
        store.mkdir(parents=True, exist_ok=True)
        for name, pyc in made.items():
            partial = store / f"{digests[name]}.{os.getpid()}.tmp"
            partial.write_bytes(pyc)
            partial.replace(store / digests[name])  # whole or absent, for concurrent builds
    compiled = {cache_path(name): pyc for name, pyc in {**kept, **made}.items()}
    for name, data in sources.items():
        problem = pyc_problem(compiled[cache_path(name)], data, RUNTIME_MAGIC)
        if problem is not None:
            raise BytecodeError(f"{cache_path(name)}: {problem}")
    return compiled


def _digest(compiler: bytes, name: str, source: bytes) -> str:
    parts = (compiler, TASK_ROOT.encode(), name.encode(), source)
    return hashlib.sha256(b"".join(hashlib.sha256(part).digest() for part in parts)).hexdigest()


def _compile(sources: Mapping[str, bytes]) -> dict[str, bytes]:
    """Run the compiler on ``sources``: their ``.pyc`` by source name."""
    request = {
        "root": TASK_ROOT,
        "files": {name: base64.b64encode(data).decode("ascii") for name, data in sources.items()},
    }
    node = shutil.which("node") or "node"
    done = subprocess.run(  # noqa: S603 - node on our own script, the sources on stdin
        [node, str(COMPILER / "compile.mjs")],
        input=json.dumps(request).encode("utf-8"),
        cwd=COMPILER,
        capture_output=True,
        timeout=_TIMEOUT_S,
        check=False,
    )
    if done.returncode != 0:
        tail = done.stderr.decode("utf-8", "replace")[-2000:]
        raise BytecodeError(f"the bytecode compiler failed (exit {done.returncode}): {tail}")
    answer = json.loads(done.stdout)
    version = tuple(answer["version"][:2])
    if version != RUNTIME_VERSION or answer["cache_tag"] != CACHE_TAG:
        raise BytecodeError(
            f"the compiler is Python {answer['version']} ({answer['cache_tag']}), "
            f"not the runtime's {RUNTIME}"
        )
    if answer["magic"] != RUNTIME_MAGIC.hex():
        raise BytecodeError(f"the compiler's magic is {answer['magic']}, not {RUNTIME_MAGIC.hex()}")
    by_cache_path = {cache_path(name): name for name in sources}
    if set(answer["files"]) != set(by_cache_path):
        raise BytecodeError(f"the compiler answered for {sorted(answer['files'])}")
    return {by_cache_path[path]: base64.b64decode(data) for path, data in answer["files"].items()}


def cache_path(source_name: str) -> str:
    """``chat/x.py`` -> ``chat/__pycache__/x.cpython-313.pyc``, where the runtime looks."""
    folder, _, file = source_name.rpartition("/")
    cached = f"__pycache__/{file.removesuffix('.py')}.{CACHE_TAG}.pyc"
    return f"{folder}/{cached}" if folder else cached


def pyc_problem(pyc: bytes, source: bytes, magic: bytes) -> str | None:
    """Why ``pyc`` would not be used for ``source`` by the interpreter of ``magic``, or
    ``None``: its header must carry that magic, PEP 552's checked-hash flags and the source's
    hash (SipHash keyed by the magic, as the interpreter computes it)."""
    if len(pyc) <= 16:
        return "too short for a .pyc"
    if pyc[:4] != magic:
        return f"magic {pyc[:4].hex()}, not {magic.hex()}"
    flags = int.from_bytes(pyc[4:8], "little")
    if flags != _HASH_BASED | _CHECK_SOURCE:
        return f"flags {flags:#b}, not a checked-hash .pyc"
    if pyc[8:16] != _imp.source_hash(int.from_bytes(magic, "little"), source):
        return "its source hash is not the source's"
    return None
