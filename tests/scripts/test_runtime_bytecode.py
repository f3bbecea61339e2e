"""scripts/runtime_bytecode.py: the zip's bytecode is Python 3.13's, and Python 3.13 uses it.

The proof runs the runtime's own interpreter: the Pyodide build of CPython 3.13 the compiler
uses, loading the zip's modules the way Lambda's importer does, and counting compiles.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import py_compile
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from scripts import build_lambda, runtime_bytecode
from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[2]

# Loads every module of the zip (written to /var/task) with the importer's own loader, which
# reads __pycache__ and compiles only when the .pyc is missing or does not match the source;
# reports what it had to compile and the code objects' file names.
_LOAD_IN_RUNTIME = """
import { pathToFileURL } from "node:url";
const { loadPyodide } = await import(pathToFileURL(process.argv[1]).href);
const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = Buffer.concat(chunks).toString("utf8");
const pyodide = await loadPyodide();
pyodide.globals.set("request", request);
process.stdout.write(pyodide.runPython(`
import base64, importlib.util, json, os, sys
from importlib._bootstrap_external import SourceLoader
files = json.loads(request)
for name, data in files.items():
    path = "/var/task/" + name
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as out:
        out.write(base64.b64decode(data))
sys.dont_write_bytecode = True  # as on Lambda's read-only /var/task
sys.path.insert(0, "/var/task")
compiled = []
source_to_code = SourceLoader.source_to_code
def counting(self, data, path, **kwargs):
    compiled.append(path)
    return source_to_code(self, data, path, **kwargs)
SourceLoader.source_to_code = counting
names = {}
for name in sorted(files):
    if name.endswith(".py"):
        module = name.removesuffix(".py").removesuffix("/__init__").replace("/", ".")
        spec = importlib.util.find_spec(module)
        names[module] = spec.loader.get_code(module).co_filename
json.dumps({"version": list(sys.version_info[:2]), "compiled": compiled, "files": names})
`));
"""


def _compiler() -> None:
    why_not = runtime_bytecode.missing()
    if why_not is not None:
        skip_or_fail(f"{why_not}: the runtime's bytecode cannot be made or loaded")


def _load_in_runtime(entries: dict[str, bytes]) -> dict[str, object]:
    request = json.dumps({name: _b64(data) for name, data in entries.items()})
    pyodide = runtime_bytecode.COMPILER / "node_modules" / "pyodide" / "pyodide.mjs"
    done = subprocess.run(
        ["node", "--input-type=module", "-e", _LOAD_IN_RUNTIME, str(pyodide)],
        input=request,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


@pytest.fixture(scope="module")
def zip_entries(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The real zip's entries, built now with the runtime's bytecode."""
    _compiler()
    path = build_lambda.build(tmp_path_factory.mktemp("zip") / "lambda.zip")
    with zipfile.ZipFile(path) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.slow  # Node starts CPython 3.13 in WebAssembly: seconds per run
def test_python_3_13_loads_every_module_from_the_zips_bytecode(
    zip_entries: dict[str, bytes],
) -> None:
    """CPython 3.13 imports each module of the zip from its .pyc: it compiles none of them,
    and the code names the file where Lambda has it."""
    result = _load_in_runtime(zip_entries)
    assert result["version"] == list(runtime_bytecode.RUNTIME_VERSION)
    assert result["compiled"] == []
    files = result["files"]
    assert isinstance(files, dict)
    sources = sorted(name for name in zip_entries if name.endswith(".py"))
    assert len(files) == len(sources) > 20
    assert sorted(files.values()) == sorted(f"/var/task/{name}" for name in sources)


@pytest.mark.slow  # Node starts CPython 3.13 in WebAssembly: seconds per run
def test_python_3_13_compiles_a_source_whose_bytecode_does_not_match(
    zip_entries: dict[str, bytes],
) -> None:
    """The .pyc is checked against its source: a source changed after the build is compiled
    afresh (a stale .pyc costs a compile, never runs old code). The control for the test above."""
    changed = dict(zip_entries)
    changed["chat/actions.py"] = zip_entries["chat/actions.py"] + b"\n# changed after the build\n"
    result = _load_in_runtime(changed)
    assert result["compiled"] == ["/var/task/chat/actions.py"]


@pytest.mark.slow  # Node starts CPython 3.13 in WebAssembly: seconds per run
def test_the_zip_holds_one_checked_pyc_per_module_for_the_runtime(
    zip_entries: dict[str, bytes],
) -> None:
    """Every source has its .pyc where the runtime looks, with 3.13's magic, checked-hash
    flags and the source's hash; nothing else is bytecode."""
    sources = {name for name in zip_entries if name.endswith(".py")}
    pycs = {name for name in zip_entries if name.endswith(".pyc")}
    assert pycs == {runtime_bytecode.cache_path(name) for name in sources}
    assert all(re.search(r"/__pycache__/\w+\.cpython-313\.pyc$", name) for name in pycs)
    magic = zip_entries["chat/__pycache__/handler.cpython-313.pyc"][:4]
    assert magic != importlib.util.MAGIC_NUMBER  # not this machine's Python
    for name in sources:
        pyc = zip_entries[runtime_bytecode.cache_path(name)]
        assert runtime_bytecode.pyc_problem(pyc, zip_entries[name], magic) is None, name


@pytest.mark.slow  # two runs of the compiler
def test_a_module_compiles_alike_alone_or_with_others_and_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store may hold any subset of a build's modules: a module's .pyc is the same bytes
    compiled alone or among others, in another run of the compiler (so builds are
    reproducible), the store answers for it next time without the compiler, and what it
    answers is checked."""
    _compiler()
    backend = ROOT / "backend"
    sources = {
        name: (backend / name).read_bytes()
        for name in ("chat/actions.py", "chat/frames.py", "chat/handler.py")
    }
    together = runtime_bytecode.compile_for_runtime(sources, store=None)
    alone = runtime_bytecode.compile_for_runtime(
        {"chat/frames.py": sources["chat/frames.py"]}, store=tmp_path
    )
    frames_pyc = runtime_bytecode.cache_path("chat/frames.py")
    assert alone == {frames_pyc: together[frames_pyc]}
    assert len(list(tmp_path.iterdir())) == 1

    def no_compiler(_sources: object) -> dict[str, bytes]:
        raise AssertionError("the store should have answered")

    monkeypatch.setattr(runtime_bytecode, "_compile", no_compiler)
    again = runtime_bytecode.compile_for_runtime(
        {"chat/frames.py": sources["chat/frames.py"]}, store=tmp_path
    )
    assert again == alone
    # Another source under the same name is another entry: it needs the compiler.
    with pytest.raises(AssertionError, match="the store should have answered"):
        runtime_bytecode.compile_for_runtime(
            {"chat/frames.py": sources["chat/frames.py"] + b"\n"}, store=tmp_path
        )
    # A kept .pyc is checked like a new one: a damaged one stops the build rather than ship.
    (kept,) = tmp_path.iterdir()
    kept.write_bytes(together[runtime_bytecode.cache_path("chat/actions.py")])
    with pytest.raises(runtime_bytecode.BytecodeError, match="not the source's"):
        runtime_bytecode.compile_for_runtime(
            {"chat/frames.py": sources["chat/frames.py"]}, store=tmp_path
        )


def test_the_runtime_is_terraforms() -> None:
    """The bytecode is made for the runtime the function is deployed with."""
    lambda_tf = (ROOT / "terraform" / "lambda.tf").read_text()
    assert re.findall(r'runtime\s*=\s*"([^"]+)"', lambda_tf) == [runtime_bytecode.RUNTIME]
    assert runtime_bytecode.RUNTIME == "python3.13"


def _pyc(tmp_path: Path, source: bytes, mode: py_compile.PycInvalidationMode) -> bytes:
    path = tmp_path / "module.py"
    path.write_bytes(source)
    out = tmp_path / f"module.{mode.name}.pyc"
    py_compile.compile(str(path), cfile=str(out), invalidation_mode=mode, doraise=True)
    return out.read_bytes()


def test_pyc_problem_names_what_the_interpreter_would_reject(tmp_path: Path) -> None:
    """A checked-hash .pyc of the source, for the magic given, passes; another magic,
    timestamp or unchecked-hash flags, another source or a truncated file are each named."""
    source = b"VALUE = {'a', 'b'}\n"
    magic = importlib.util.MAGIC_NUMBER  # this machine's Python made the .pyc here
    checked = _pyc(tmp_path, source, py_compile.PycInvalidationMode.CHECKED_HASH)
    assert runtime_bytecode.pyc_problem(checked, source, magic) is None
    assert runtime_bytecode.pyc_problem(checked, source, b"\xf3\r\r\n") == (
        f"magic {magic.hex()}, not f30d0d0a"
    )
    for mode in (
        py_compile.PycInvalidationMode.TIMESTAMP,
        py_compile.PycInvalidationMode.UNCHECKED_HASH,
    ):
        problem = runtime_bytecode.pyc_problem(_pyc(tmp_path, source, mode), source, magic)
        assert problem is not None and problem.endswith("not a checked-hash .pyc"), mode
    assert runtime_bytecode.pyc_problem(checked, source + b"\n", magic) == (
        "its source hash is not the source's"
    )
    assert runtime_bytecode.pyc_problem(checked[:16], source, magic) == "too short for a .pyc"


def test_without_node_the_build_says_so_and_ships_sources(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No node: ``missing`` says why, and the zip holds the sources alone with a warning."""
    real_which = shutil.which
    monkeypatch.setattr(
        shutil, "which", lambda name, *a, **k: None if name == "node" else real_which(name)
    )
    assert runtime_bytecode.missing() == "node is not installed"
    source = tmp_path / "src"
    (source / "chat").mkdir(parents=True)
    (source / "chat" / "__init__.py").write_text("")
    path = build_lambda.build(tmp_path / "out.zip", source)
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist() == ["chat/__init__.py"]
    assert "warning: node is not installed: out.zip carries no bytecode for python3.13" in (
        capsys.readouterr().err
    )
