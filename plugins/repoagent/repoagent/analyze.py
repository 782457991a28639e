"""repo.analyze: file/folder/byte counts, languages by extension, and Python structure via ast."""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from typing import Any

from .workspace import Resolved, Workspace

LANGUAGES: dict[str, str] = {
    ".py": "Python",
    ".pyi": "Python",
    ".pyw": "Python",
    ".js": "JavaScript",
    ".mjs": "JavaScript",
    ".cjs": "JavaScript",
    ".jsx": "JavaScript",
    ".ts": "TypeScript",
    ".tsx": "TypeScript",
    ".mts": "TypeScript",
    ".cts": "TypeScript",
    ".rs": "Rust",
    ".go": "Go",
    ".java": "Java",
    ".kt": "Kotlin",
    ".kts": "Kotlin",
    ".c": "C",
    ".h": "C",
    ".cc": "C++",
    ".cpp": "C++",
    ".cxx": "C++",
    ".hpp": "C++",
    ".hh": "C++",
    ".cs": "C#",
    ".rb": "Ruby",
    ".php": "PHP",
    ".swift": "Swift",
    ".scala": "Scala",
    ".lua": "Lua",
    ".r": "R",
    ".pl": "Perl",
    ".ex": "Elixir",
    ".exs": "Elixir",
    ".erl": "Erlang",
    ".hs": "Haskell",
    ".ml": "OCaml",
    ".clj": "Clojure",
    ".dart": "Dart",
    ".zig": "Zig",
    ".sh": "Shell",
    ".bash": "Shell",
    ".zsh": "Shell",
    ".fish": "Shell",
    ".ps1": "PowerShell",
    ".html": "HTML",
    ".htm": "HTML",
    ".css": "CSS",
    ".scss": "SCSS",
    ".sass": "Sass",
    ".less": "Less",
    ".vue": "Vue",
    ".svelte": "Svelte",
    ".md": "Markdown",
    ".markdown": "Markdown",
    ".rst": "reStructuredText",
    ".txt": "Text",
    ".json": "JSON",
    ".jsonc": "JSON",
    ".yaml": "YAML",
    ".yml": "YAML",
    ".toml": "TOML",
    ".xml": "XML",
    ".ini": "INI",
    ".cfg": "INI",
    ".sql": "SQL",
    ".proto": "Protocol Buffers",
    ".graphql": "GraphQL",
    ".tf": "HCL",
    ".hcl": "HCL",
}
FILENAMES: dict[str, str] = {
    "Makefile": "Makefile",
    "makefile": "Makefile",
    "GNUmakefile": "Makefile",
    "Dockerfile": "Dockerfile",
    "CMakeLists.txt": "CMake",
    "Rakefile": "Ruby",
    "Gemfile": "Ruby",
}


def language_of(name: str) -> str | None:
    if name in FILENAMES:
        return FILENAMES[name]
    if name.startswith("Dockerfile."):
        return "Dockerfile"
    _, ext = os.path.splitext(name)
    return LANGUAGES.get(ext.lower())


# -- cyclomatic complexity ----------------------------------------------------------------------
class _Complexity(ast.NodeVisitor):
    """1 + one per branch: if / elif / ternary, for, while, each except clause, with, each extra
    operand of and/or, each comprehension `if`, each match case. Nested functions and classes are
    scored on their own and not counted here; lambdas count toward their enclosing function."""

    def __init__(self) -> None:
        self.score = 1

    def _branch(self, node: ast.AST, n: int = 1) -> None:
        self.score += n
        self.generic_visit(node)

    def visit_If(self, node: ast.If) -> None:
        self._branch(node)

    def visit_IfExp(self, node: ast.IfExp) -> None:
        self._branch(node)

    def visit_For(self, node: ast.For) -> None:
        self._branch(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self._branch(node)

    def visit_While(self, node: ast.While) -> None:
        self._branch(node)

    def visit_With(self, node: ast.With) -> None:
        self._branch(node)

    def visit_AsyncWith(self, node: ast.AsyncWith) -> None:
        self._branch(node)

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        self._branch(node)

    def visit_BoolOp(self, node: ast.BoolOp) -> None:
        self._branch(node, len(node.values) - 1)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self._branch(node, len(node.ifs))

    def visit_match_case(self, node: Any) -> None:
        self._branch(node)  # 3.10+

    # nested scopes are scored separately
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        pass

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        pass

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        pass


def function_complexity(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    v = _Complexity()
    for stmt in fn.body:
        v.visit(stmt)
    for d in fn.decorator_list:
        v.visit(d)
    return v.score


# -- module names and imports -------------------------------------------------------------------
def module_name(rel: str, root: str) -> tuple[str, bool]:
    """Dotted module name of a .py file (rel to root, posix): the folders up to the highest one
    that still has an __init__.py form the package path. Returns (name, is_package)."""
    parts = rel[:-3].split("/") if rel.endswith(".py") else rel.rsplit(".", 1)[0].split("/")
    is_pkg = parts[-1] == "__init__"
    if is_pkg:
        parts = parts[:-1]
    dirs = rel.split("/")[:-1]
    # walk up while the parent folder is a package
    keep = 0
    for i in range(len(dirs), 0, -1):
        if os.path.isfile(os.path.join(root, *dirs[:i], "__init__.py")):
            keep += 1
        else:
            break
    mod_parts = parts[len(dirs) - keep :]
    return ".".join(p for p in mod_parts if p) or (parts[-1] if parts else rel), is_pkg


def _imports(tree: ast.Module, name: str, is_pkg: bool) -> list[tuple[str, list[str]]]:
    """(base module, [imported names]) for every import; relative imports resolved."""
    out: list[tuple[str, list[str]]] = []
    package = name if is_pkg else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out.append((a.name, []))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = package.split(".") if package else []
                up = node.level - 1
                if up > len(base_parts):
                    continue  # beyond the top-level package: cannot resolve
                base_parts = base_parts[: len(base_parts) - up] if up else base_parts
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            if base:
                out.append((base, [a.name for a in node.names if a.name != "*"]))
    return out


# -- the walk -----------------------------------------------------------------------------------
def _count_lines(path: str, cancelled: Callable[[], bool], keep: int) -> tuple[int, bool, bytes | None]:
    """(lines, binary, the first `keep` bytes) of a file."""
    lines = 0
    last = b"\n"
    first = True
    kept = bytearray()
    try:
        with open(path, "rb") as f:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                if first and b"\x00" in chunk[:8192]:
                    return 0, True, None
                first = False
                lines += chunk.count(b"\n")
                last = chunk[-1:]
                if len(kept) < keep:
                    kept += chunk[: keep - len(kept)]
                if cancelled():
                    break
    except OSError:
        return 0, False, None
    if last != b"\n":
        lines += 1
    return lines, False, bytes(kept)


def analyze(
    ws: Workspace,
    res: Resolved,
    *,
    max_file_bytes: int,
    progress_every: int,
    progress: Callable[[dict[str, Any]], None],
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    files = dirs = symlinks = 0
    total_bytes = 0
    languages: dict[str, dict[str, int]] = {}
    unclassified = 0
    py_sources: list[tuple[str, bytes]] = []  # (rel, source)
    skipped_large: list[str] = []

    for e in ws.walk(res, cancelled=cancelled):
        if cancelled():
            break
        if e.type == "dir":
            dirs += 1
            continue
        if e.type == "symlink":
            symlinks += 1
            continue
        if e.type != "file":
            continue
        files += 1
        total_bytes += e.size
        lang = language_of(e.rel.rsplit("/", 1)[-1])
        if lang is None:
            unclassified += 1
        else:
            want = e.size if lang == "Python" and e.size <= max_file_bytes else 0
            lines, binary, content = _count_lines(e.path, cancelled, want)
            stats = languages.setdefault(lang, {"files": 0, "lines": 0})
            stats["files"] += 1
            stats["lines"] += lines
            if lang == "Python" and e.rel.endswith(".py") and not binary and content is not None:
                if e.size > max_file_bytes:
                    skipped_large.append(e.rel)
                else:
                    py_sources.append((e.rel, content))
        if progress_every > 0 and files % progress_every == 0:
            progress({"phase": "scan", "files": files, "bytes": total_bytes, "path": e.rel})

    python = _python_summary(ws, res, py_sources, progress_every, progress, cancelled)
    python["skippedLarge"] = skipped_large
    if progress_every > 0:
        progress({"phase": "done", "files": files, "bytes": total_bytes})
    return {
        "path": res.rel,
        "root": res.root,
        "files": files,
        "directories": dirs,
        "symlinks": symlinks,
        "bytes": total_bytes,
        "languages": dict(sorted(languages.items(), key=lambda kv: (-kv[1]["lines"], kv[0]))),
        "unclassifiedFiles": unclassified,
        "python": python,
    }


def _python_summary(
    ws: Workspace,
    res: Resolved,
    sources: list[tuple[str, bytes]],
    progress_every: int,
    progress: Callable[[dict[str, Any]], None],
    cancelled: Callable[[], bool],
) -> dict[str, Any]:
    names: dict[str, tuple[str, bool]] = {rel: module_name(rel, res.root) for rel, _ in sources}
    # two files with the same dotted name (scripts in different folders): use their paths instead
    seen: dict[str, int] = {}
    for n, _ in names.values():
        seen[n] = seen.get(n, 0) + 1
    for rel, (n, pkg) in list(names.items()):
        if seen[n] > 1:
            names[rel] = (rel[:-3].replace("/", "."), pkg)
    known = {n for n, _ in names.values()}

    classes = functions = 0
    total_cc = 0
    max_cc = 0
    ranked: list[dict[str, Any]] = []
    graph: dict[str, list[str]] = {}
    errors: list[dict[str, Any]] = []
    modules = 0
    for i, (rel, src) in enumerate(sources, 1):
        if cancelled():
            break
        mod, is_pkg = names[rel]
        try:
            tree = ast.parse(src, filename=rel)
        except (SyntaxError, ValueError) as exc:
            errors.append({"path": rel, "error": f"{type(exc).__name__}: {exc}"})
            continue
        modules += 1
        deps: set[str] = set()
        for base, imported in _imports(tree, mod, is_pkg):
            subs = [f"{base}.{n}" for n in imported if f"{base}.{n}" in known]
            if subs:
                deps.update(subs)
                if len(subs) < len(imported):
                    deps.add(base)
            else:
                deps.add(base)
        deps.discard(mod)
        graph[mod] = sorted(deps)
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                classes += 1
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions += 1
                cc = function_complexity(node)
                total_cc += cc
                max_cc = max(max_cc, cc)
                ranked.append(
                    {"module": mod, "function": node.name, "path": rel, "line": node.lineno, "complexity": cc}
                )
        if progress_every > 0 and i % progress_every == 0:
            progress({"phase": "python", "modules": i, "of": len(sources), "path": rel})
    ranked.sort(key=lambda r: (-r["complexity"], r["path"], r["line"]))
    return {
        "modules": modules,
        "classes": classes,
        "functions": functions,
        "averageComplexity": round(total_cc / functions, 2) if functions else 0.0,
        "maxComplexity": max_cc,
        "mostComplex": ranked[:10],
        "importGraph": dict(sorted(graph.items())),
        "parseErrors": errors,
    }
