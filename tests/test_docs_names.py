"""Every code name the docs cite still exists (maps that are true).

The rule, precise so that a citation is either checked or plainly not a code name:

- The docs are ``README.md``, ``docs/*.md``, ``local_stack/README.md`` and
  ``deployment/README.md``; a citation is the text of an inline code span (single backquotes)
  outside fenced code blocks.
- A *file path* is a span of ``[A-Za-z0-9_.-]`` segments joined by ``/`` whose first segment is
  one of ``SOURCE_FOLDERS``, with no placeholder (``{x}``, ``<x>``) and no glob (``*``), and that
  git does not ignore (``terraform/terraform.tfvars``, ``bench/results/``: the user's files and
  generated ones). It must name a file or folder of the repository (a trailing ``/`` asks for a
  folder), from the repository's root or, in a doc below it (``deployment/README.md``), from the
  doc's own folder.
- A *dotted name* is a span of two or more Python identifiers joined by ``.`` whose first part is
  one of ``PACKAGES``, optionally followed by a call's argument list (``Settings.from_env(env)``:
  the part before ``(`` is checked). The longest importable prefix is imported and the rest
  looked up as attributes; a class also answers for its annotated fields (a dataclass field
  with no default is no class attribute). A module's attribute must be defined in that module
  (assigned, a ``def`` or a ``class``), not merely imported into it: ``chat.protocol.ACTIONS``
  is stale when ``ACTIONS`` lives in ``chat.actions``, whatever ``chat.protocol`` imports. A
  name that ends in one of ``FILE_SUFFIXES`` (``config.js``, ``lambda.tf``) is a file name, not
  a dotted name.
- Anything else (an unqualified ``TABLE_SCHEMA``, ``.replies``, a command line, a JSON value)
  is not a code name and is not checked.

A stale citation fails the test, which lists every one with its file and line.
"""

from __future__ import annotations

import ast
import importlib
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The repository's top-level source folders: a path starting with one of them is a code name.
SOURCE_FOLDERS = (
    ".ci",
    "backend",
    "bench",
    "deployment",
    "docs",
    "frontend",
    "local_stack",
    "scripts",
    "soak",
    "terraform",
    "tests",
)
# The importable packages (``backend/`` and the repository's root are on ``sys.path``, as
# pytest's ``pythonpath`` and Lambda put them): a dotted name starting with one is a code name.
PACKAGES = (
    "authorizer",
    "bench",
    "chat",
    "deployment",
    "local_stack",
    "scripts",
    "soak",
    "tests",
)
# Dotted spans ending so are file names (``config.js``), not Python names.
FILE_SUFFIXES = (".py", ".js", ".tf", ".md", ".json", ".tpl", ".html", ".css", ".txt", ".in")

DOCS = ("README.md", "docs/*.md", "local_stack/README.md", "deployment/README.md")

_SPAN = re.compile(r"(?<!`)`([^`\n]+)`(?!`)")
_PATH = re.compile(r"[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]+)*/?")
_DOTTED = re.compile(r"([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+)(?:\([^()]*\))?")


def ignored(paths: set[str]) -> set[str]:
    """Those of ``paths`` that git ignores (``.gitignore``): generated or the user's own."""
    answer = subprocess.run(
        ["git", "check-ignore", "--no-index", "--stdin"],
        input="\n".join(sorted(paths)),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    # 0: some are ignored, 1: none is; anything else (no git) must not pass silently.
    assert answer.returncode in (0, 1), answer.stderr
    return set(answer.stdout.splitlines())


@dataclass(frozen=True)
class Citation:
    """One code name cited by a doc: where, and what."""

    doc: str
    line: int
    name: str

    def __str__(self) -> str:
        return f"{self.doc}:{self.line}: `{self.name}`"


def doc_files() -> list[Path]:
    """The docs whose citations are checked, in a stable order."""
    found = {path for pattern in DOCS for path in ROOT.glob(pattern)}
    return sorted(found)


def code_spans(text: str) -> Iterator[tuple[int, str]]:
    """``(line number, span text)`` of each inline code span outside fenced blocks."""
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.lstrip().startswith(("```", "~~~")):
            fenced = not fenced
            continue
        if not fenced:
            for match in _SPAN.finditer(line):
                yield number, match.group(1).strip()


def is_path(span: str) -> bool:
    """Whether ``span`` is a file path by the rule above."""
    return _PATH.fullmatch(span) is not None and span.split("/", maxsplit=1)[0] in SOURCE_FOLDERS


def dotted_name(span: str) -> str | None:
    """The dotted name ``span`` cites, or None when it cites none by the rule above."""
    match = _DOTTED.fullmatch(span)
    if match is None:
        return None
    name = match.group(1)
    if name.split(".")[0] not in PACKAGES or name.endswith(FILE_SUFFIXES):
        return None
    return name


def citations() -> list[Citation]:
    """Every code name the docs cite, with where."""
    found = []
    for path in doc_files():
        doc = path.relative_to(ROOT).as_posix()
        for line, span in code_spans(path.read_text(encoding="utf-8")):
            if is_path(span):
                found.append(Citation(doc, line, span))
            elif (name := dotted_name(span)) is not None:
                found.append(Citation(doc, line, name))
    skipped = ignored({citation.name for citation in found if is_path(citation.name)})
    return [citation for citation in found if citation.name not in skipped]


def _has_attribute(owner: object, name: str) -> bool:
    """Whether ``owner`` has ``name``, a class's annotated fields included."""
    if hasattr(owner, name):
        return True
    if isinstance(owner, type):
        return any(name in getattr(cls, "__annotations__", {}) for cls in owner.__mro__)
    return False


def _top_level_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """A module's top-level statements, those inside top-level ``if`` and ``try`` included."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If | ast.Try):
            nested = [*statement.body, *statement.orelse]
            if isinstance(statement, ast.Try):
                nested += [*statement.finalbody]
                nested += [line for handler in statement.handlers for line in handler.body]
            yield from _top_level_statements(nested)


def defined_names(module: object) -> set[str] | None:
    """The names ``module``'s source defines (assigns, ``def``, ``class``), None without one."""
    source = getattr(module, "__file__", None)
    if source is None or not source.endswith(".py"):
        return None
    names: set[str] = set()
    tree = ast.parse(Path(source).read_text(encoding="utf-8"))
    for statement in _top_level_statements(tree.body):
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(statement.name)
        elif isinstance(statement, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            for target in targets:
                names.update(node.id for node in ast.walk(target) if isinstance(node, ast.Name))
    return names


def resolves(name: str) -> bool:
    """Whether the dotted ``name`` is a module, or an attribute reachable from one that is
    defined (not only imported) in that module."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            owner: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError:
            continue
        if cut < len(parts):
            defined = defined_names(owner)
            if defined is not None and parts[cut] not in defined:
                # A submodule is an attribute of its package without being assigned there.
                return False
        for attribute in parts[cut:]:
            if not _has_attribute(owner, attribute):
                return False
            owner = getattr(owner, attribute, None)
        return True
    return False


def exists(citation: Citation) -> bool:
    """Whether the code name ``citation`` cites exists."""
    if is_path(citation.name):
        folders = {ROOT, (ROOT / citation.doc).parent}
        targets = [folder / citation.name for folder in folders]
        if citation.name.endswith("/"):
            return any(target.is_dir() for target in targets)
        return any(target.exists() for target in targets)
    return resolves(citation.name)


def stale(found: list[Citation]) -> list[str]:
    """The citations in ``found`` whose name no longer exists, as ``doc:line: `name```."""
    return [str(citation) for citation in found if not exists(citation)]


def test_the_rule_recognises_code_names_and_nothing_else() -> None:
    """Paths under a source folder and dotted names from a known package are code names;
    placeholders, file names, commands and unqualified names are not."""
    assert is_path("backend/chat/seats.py")
    assert is_path("backend/authorizer/")
    assert not is_path("build/lambda.zip")
    assert not is_path("backend/chat/{x}.py")
    assert not is_path("backend/authorizer/**/*.py")
    assert dotted_name("chat.seats") == "chat.seats"
    assert dotted_name("chat.config.Settings.from_env(env)") == "chat.config.Settings.from_env"
    assert dotted_name("config.js") is None
    assert dotted_name("TABLE_SCHEMA") is None
    assert dotted_name("gateway.POST_TO_CONNECTION") is None
    assert dotted_name("python -m deployment.smoke --outputs FILE") is None
    assert ignored({"terraform/terraform.tfvars", "bench/results/", "terraform/lambda.tf"}) == {
        "terraform/terraform.tfvars",
        "bench/results/",
    }


def test_the_known_folders_and_packages_exist() -> None:
    """A renamed folder or package would silently stop its citations from being checked."""
    missing = [folder for folder in SOURCE_FOLDERS if not (ROOT / folder).is_dir()]
    missing += [package for package in PACKAGES if not resolves(package)]
    assert not missing, f"gone: {missing}; update SOURCE_FOLDERS / PACKAGES"


def test_a_made_up_citation_is_stale() -> None:
    """The check fails a name, a path and an attribute that do not exist, and passes real ones."""
    made_up = [
        Citation("doc.md", 1, "chat.seats.no_such_function"),
        Citation("doc.md", 2, "chat.no_such_module"),
        Citation("doc.md", 3, "frontend/js/no_such_module.js"),
        Citation("doc.md", 4, "local_stack.dynamodb.INDEX_NAME"),
        Citation("doc.md", 5, "chat.protocol.ACTIONS"),
    ]
    real = [
        Citation("doc.md", 6, "chat.seats"),
        Citation("doc.md", 7, "chat.events.Request.authorizer"),
        Citation("doc.md", 8, "chat.actions.ACTIONS"),
        Citation("doc.md", 9, "backend/chat/"),
    ]
    assert stale(made_up + real) == [str(citation) for citation in made_up]


def test_the_docs_cite_many_code_names() -> None:
    """The rule finds the docs' citations (a broken pattern would find none and pass)."""
    assert len(citations()) > 200


@pytest.mark.parametrize("doc", [path.relative_to(ROOT).as_posix() for path in doc_files()])
def test_every_code_name_a_doc_cites_exists(doc: str) -> None:
    """Each module, attribute and file path ``doc`` cites in backquotes still exists."""
    gone = stale([citation for citation in citations() if citation.doc == doc])
    assert not gone, "stale citations (rename or remove them):\n" + "\n".join(gone)


def test_the_readme_diagram_shows_every_route() -> None:
    """The architecture diagram's routes are ``terraform/locals.tf``'s ``route_keys``, no more
    and no fewer (the diagram once showed five of eight)."""
    locals_tf = (ROOT / "terraform" / "locals.tf").read_text(encoding="utf-8")
    keys = re.search(r"route_keys\s*=\s*toset\(\[(.*?)\]\)", locals_tf)
    assert keys is not None, "terraform/locals.tf has no route_keys = toset([...])"
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    shown = re.search(r'apigw\["[^"]*routes: (.*?)"\]', readme)
    assert shown is not None, "README.md's diagram has no apigw node listing its routes"
    assert set(shown.group(1).replace("<br/>", " ").split()) == set(
        re.findall(r'"([^"]+)"', keys.group(1))
    )
