// Compile Python sources to bytecode with CPython 3.13 (Pyodide: CPython built for
// WebAssembly, so it runs wherever Node does, with no Python 3.13 installed).
//
// stdin:  {"root": "/var/task", "files": {"chat/x.py": "<base64 source>", ...}}
// stdout: {"version": [3, 13, 2], "cache_tag": "cpython-313", "magic": "<hex>",
//          "files": {"chat/__pycache__/x.cpython-313.pyc": "<base64>", ...}}
//
// Each .pyc is hash-checked (PEP 552): the interpreter that loads it hashes the source beside
// it and uses the bytecode only if they match, whatever the files' timestamps (a zip's are
// fixed to 1980). The hash seed is fixed so that the bytes are the same on every build.
// scripts/runtime_bytecode.py runs this and checks what it returns.
import { loadPyodide } from "pyodide";

const COMPILE = `
import base64, importlib.util, json, sys
from importlib._bootstrap_external import _code_to_hash_pyc

def compile_all(request_json):
    request = json.loads(request_json)
    root = request["root"].rstrip("/")
    compiled = {}
    for name in sorted(request["files"]):
        source = base64.b64decode(request["files"][name])
        # The path the runtime imports it from: the code's co_filename needs no fix-up there.
        code = compile(source, f"{root}/{name}", "exec", dont_inherit=True)
        pyc = _code_to_hash_pyc(code, importlib.util.source_hash(source), checked=True)
        compiled[importlib.util.cache_from_source(name)] = base64.b64encode(pyc).decode()
    return json.dumps({
        "version": list(sys.version_info[:3]),
        "cache_tag": sys.implementation.cache_tag,
        "magic": importlib.util.MAGIC_NUMBER.hex(),
        "files": compiled,
    })
`;

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const request = Buffer.concat(chunks).toString("utf8");

const pyodide = await loadPyodide({ env: { PYTHONHASHSEED: "0" } });
pyodide.runPython(COMPILE);
process.stdout.write(pyodide.globals.get("compile_all")(request));
