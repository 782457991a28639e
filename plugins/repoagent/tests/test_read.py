"""Read-only methods against the sample repository: tree, file.read, search, analyze, log, diff."""

from __future__ import annotations

import base64
import os

from conftest import AUTHOR, BIG, BINARY, DATES, FILES_V1, FILES_V2

INVALID_PARAMS = -32602

METHODS = [
    "repo.info",
    "repo.tree",
    "repo.file.read",
    "repo.search",
    "repo.analyze",
    "repo.log",
    "repo.diff",
    "repo.command",
    "repo.patch",
    "repo.commit",
]


def test_initialize_announces_every_method_with_a_schema(spawn, repo):
    c = spawn({"workspaceRoots": [str(repo)]}, init=False)
    r = c.initialize({"workspaceRoots": [str(repo)]})
    res = r["result"]
    assert res["name"] == "repoagent" and res["protocolVersion"] == "1.0.0"
    names = [m["name"] for m in res["methods"]]
    assert sorted(names) == sorted(METHODS)
    for m in res["methods"]:
        assert m["paramsSchema"]["type"] == "object", m


def test_ping(agent):
    assert isinstance(agent.result("bkg/ping", {})["now"], (int, float))


def test_info(agent, repo):
    info = agent.result("repo.info", {})
    assert info["workspaceRoots"] == [os.path.realpath(repo)]
    assert info["allowWrite"] is False
    assert "git-status" in info["commands"]
    assert info["maxFileBytes"] == 8192


# -- repo.tree -----------------------------------------------------------------------------------
def test_tree_lists_everything_not_ignored(agent, repo):
    t = agent.result("repo.tree", {"path": "."})
    paths = [e["path"] for e in t["entries"]]
    assert paths == sorted(paths)
    for p in [
        "app.py",
        "pkg",
        "pkg/core.py",
        "pkg/util.py",
        "docs/guide.md",
        "scripts/tool.py",
        "README.md",
        ".gitignore",
        "big.txt",
        "data.bin",
    ]:
        assert p in paths, p
    for p in ["build", "build/out.txt", "app.log", "secret.txt", ".git", "escape/secret.txt"]:
        assert p not in paths, p
    assert not any(p.startswith(".git/") for p in paths)
    types = {e["path"]: e["type"] for e in t["entries"]}
    assert types["pkg"] == "dir" and types["app.py"] == "file"
    assert types["escape"] == "symlink" and types["link_to_core"] == "symlink"  # listed, never followed
    sizes = {e["path"]: e.get("size") for e in t["entries"]}
    assert sizes["big.txt"] == len(BIG)
    assert t["truncated"] is False and t["count"] == len(paths)
    assert t["root"] == os.path.realpath(repo)


def test_tree_depth_limit_and_subfolder(agent):
    t = agent.result("repo.tree", {"path": ".", "depth": 1})
    assert all("/" not in e["path"] for e in t["entries"])
    assert "pkg" in [e["path"] for e in t["entries"]]
    t = agent.result("repo.tree", {"path": "pkg"})
    assert [e["path"] for e in t["entries"]] == ["pkg/__init__.py", "pkg/core.py", "pkg/util.py"]
    t = agent.result("repo.tree", {"path": ".", "limit": 3})
    assert t["truncated"] is True and t["count"] == 3


def test_tree_of_an_ignored_folder_is_refused(agent):
    e = agent.error("repo.tree", {"path": "build"})
    assert e["code"] == INVALID_PARAMS and "build" in e["message"] and "ignored" in e["message"]


# -- repo.file.read ------------------------------------------------------------------------------
def test_read_text(agent):
    r = agent.result("repo.file.read", {"path": "pkg/core.py"})
    assert r["content"] == FILES_V1["pkg/core.py"]
    assert r["size"] == len(FILES_V1["pkg/core.py"].encode())
    assert r["binary"] is False and r["truncated"] is False and r["encoding"] == "utf-8"


def test_read_binary(agent):
    r = agent.result("repo.file.read", {"path": "data.bin"})
    assert r["binary"] is True and r["content"] is None and r["size"] == len(BINARY)
    r = agent.result("repo.file.read", {"path": "data.bin", "encoding": "base64"})
    assert base64.b64decode(r["content"]) == BINARY and r["binary"] is True


def test_read_truncates_at_max_file_bytes(agent):
    r = agent.result("repo.file.read", {"path": "big.txt"})
    assert r["truncated"] is True and r["size"] == len(BIG)
    assert r["content"] == BIG[:8192] and r["bytes"] == 8192
    r = agent.result("repo.file.read", {"path": "big.txt", "offset": 8192})
    assert r["truncated"] is False and r["content"] == BIG[8192:]


def test_read_inside_symlink_is_fine(agent):
    r = agent.result("repo.file.read", {"path": "link_to_core"})
    assert r["content"] == FILES_V1["pkg/core.py"] and r["path"] == "pkg/core.py"


def test_read_errors(agent):
    for path, word in [
        ("pkg", "directory"),
        ("nope.txt", "does not exist"),
        ("secret.txt", "ignored"),
        ("build/out.txt", "ignored"),
        (".git/config", ".git"),
        (".git", ".git"),
    ]:
        e = agent.error("repo.file.read", {"path": path})
        assert e["code"] == INVALID_PARAMS, (path, e)
        assert path in e["message"] and word in e["message"], (path, e)


# -- repo.search ---------------------------------------------------------------------------------
def test_search_literal_case_insensitive_by_default(agent):
    r = agent.result("repo.search", {"query": "needle"})
    hits = {(m["path"], m["line"]) for m in r["matches"]}
    assert hits == {("README.md", 3), ("docs/guide.md", 3)}  # never the ignored files or outside
    m = next(m for m in r["matches"] if m["path"] == "README.md")
    assert m["text"] == "A needle in a haystack." and m["column"] == 3
    assert r["truncated"] is False
    assert r["filesSkipped"] >= 2  # data.bin (binary) and big.txt (over maxFileBytes)


def test_search_case_sensitive_regex_path_and_limits(agent):
    r = agent.result("repo.search", {"query": "Needle", "caseSensitive": True})
    assert [(m["path"], m["line"]) for m in r["matches"]] == [("docs/guide.md", 3)]
    r = agent.result("repo.search", {"query": r"^def \w+\(", "regex": True, "path": "pkg"})
    assert {m["text"] for m in r["matches"]} == {
        "def evens(xs: Iterable[int]) -> list[int]:",
        "def label(x):",
        "def pick(a, b, c):",
        "def helper():",
    }
    assert all(m["path"] == "pkg/util.py" for m in r["matches"])
    r = agent.result("repo.search", {"query": "import", "maxResults": 2})
    assert r["count"] == 2 and r["truncated"] is True
    r = agent.result("repo.search", {"query": "a.c", "path": "app.py"})  # literal: no regex dot
    assert r["matches"] == []


def test_search_bad_regex(agent):
    e = agent.error("repo.search", {"query": "(unclosed", "regex": True})
    assert e["code"] == INVALID_PARAMS and "(unclosed" in e["message"]


# -- repo.analyze --------------------------------------------------------------------------------
def _lines(text: str) -> int:
    return text.count("\n") + (0 if text.endswith("\n") or not text else 1)


def test_analyze(agent):
    a = agent.result("repo.analyze", {"path": "."})
    assert a["files"] == 10  # .gitignore README.md app.py big.txt data.bin guide.md 3x pkg tool.py
    assert a["directories"] == 3  # docs pkg scripts (build and .git are ignored)
    assert a["symlinks"] == 2
    every = {**FILES_V1, **FILES_V2}
    every["app.py"] = every["app.py"].replace('"demo"', '"changed"')  # the uncommitted change
    assert a["bytes"] == sum(len(t.encode()) for t in every.values()) + len(BIG) + len(BINARY)
    py = [t for p, t in every.items() if p.endswith(".py")]
    assert a["languages"]["Python"] == {"files": 5, "lines": sum(_lines(t) for t in py)}
    assert a["languages"]["Markdown"] == {"files": 2, "lines": 6}
    assert a["languages"]["Text"] == {"files": 1, "lines": 1}
    p = a["python"]
    assert p["modules"] == 5 and p["classes"] == 2 and p["functions"] == 10
    # __init__ 1, run 5, save 3, evens 2, label 4, pick 3, helper 1, inner 2, main 2, go 1
    assert p["averageComplexity"] == 2.4 and p["maxComplexity"] == 5
    assert p["mostComplex"][0]["function"] == "run" and p["mostComplex"][0]["module"] == "pkg.core"
    assert p["importGraph"] == {
        "app": ["pkg", "pkg.core", "pkg.util", "sys"],
        "pkg": ["pkg.core"],
        "pkg.core": ["json", "os", "pkg.util"],
        "pkg.util": ["typing"],
        "tool": ["app", "pkg.util"],
    }
    assert p["parseErrors"] == []


def test_analyze_subfolder_and_single_file(agent):
    a = agent.result("repo.analyze", {"path": "pkg"})
    assert a["files"] == 3 and a["python"]["modules"] == 3 and a["python"]["functions"] == 8
    a = agent.result("repo.analyze", {"path": "app.py"})
    # `from pkg import util` names the module pkg.util only when pkg/util.py is in the analysed tree
    assert a["files"] == 1 and a["python"]["importGraph"] == {"app": ["pkg", "pkg.core", "sys"]}


def test_analyze_streams_progress(agent):
    rid = agent.request("repo.analyze", {"path": ".", "progressEvery": 2}, meta={"progressToken": "tok-1"})
    final = agent.response(rid)
    progress = [m for m in agent.seen if m.get("method") == "$/progress" and m["params"]["token"] == "tok-1"]
    agent.seen = [m for m in agent.seen if m not in progress]
    assert final["result"]["files"] == 10
    values = [m["params"]["value"] for m in progress]
    scans = [v for v in values if v["phase"] == "scan"]
    assert [v["files"] for v in scans] == [2, 4, 6, 8, 10]
    assert values[-1] == {"phase": "done", "files": 10, "bytes": final["result"]["bytes"]}
    assert any(v["phase"] == "python" for v in values)


def test_analyze_without_token_answers_the_analysis(agent):
    a = agent.result("repo.analyze", {"path": "pkg", "progressEvery": 1})
    assert isinstance(a, dict) and a["files"] == 3


# -- repo.log / repo.diff ------------------------------------------------------------------------
def test_log(agent):
    r = agent.result("repo.log", {"path": "."})
    commits = r["commits"]
    assert [c["subject"] for c in commits] == ["Add docs and tool", "Initial commit"]
    for c, date in zip(commits, reversed(DATES), strict=True):
        assert (c["author"], c["email"]) == AUTHOR
        assert c["date"] == date
        assert len(c["hash"]) == 40
    assert [c["subject"] for c in agent.result("repo.log", {"path": ".", "limit": 1})["commits"]] == [
        "Add docs and tool"
    ]
    assert [c["subject"] for c in agent.result("repo.log", {"path": "app.py"})["commits"]] == ["Initial commit"]
    assert [c["subject"] for c in agent.result("repo.log", {"path": "docs"})["commits"]] == ["Add docs and tool"]


def test_diff_working_tree_vs_head(agent):
    r = agent.result("repo.diff", {"path": "."})
    assert r["files"] == ["app.py"]
    assert '-    engine = Engine("demo")' in r["diff"] and '+    engine = Engine("changed")' in r["diff"]
    assert r["diff"].startswith("diff --git a/app.py b/app.py")
    assert r["truncated"] is False
    assert "link_to_core" in r["untracked"] and "secret.txt" not in r["untracked"]
    assert agent.result("repo.diff", {"path": "pkg"})["diff"] == ""


def test_diff_against_a_rev(agent):
    first = agent.result("repo.log", {"path": "."})["commits"][-1]["hash"]
    r = agent.result("repo.diff", {"path": ".", "rev": first})
    assert set(r["files"]) == {"app.py", "docs/guide.md", "scripts/tool.py"}
    r = agent.result("repo.diff", {"path": ".", "rev": f"{first}..HEAD"})
    assert set(r["files"]) == {"docs/guide.md", "scripts/tool.py"}
    assert "+Find the Needle here." in r["diff"]
    r = agent.result("repo.diff", {"path": "docs", "rev": "HEAD~1"})
    assert r["files"] == ["docs/guide.md"]


def test_diff_refuses_option_like_revs(agent, sandbox):
    for rev in ["--output=/tmp/x", "-p", "HEAD; rm -rf /", "a b"]:
        e = agent.error("repo.diff", {"path": ".", "rev": rev})
        assert e["code"] == INVALID_PARAMS and rev in e["message"]


def test_diff_truncated(tight):
    r = tight.result("repo.diff", {"path": ".", "rev": "HEAD~1"})
    assert r["truncated"] is True and len(r["diff"].encode()) <= 200 and r["bytes"] == 200


def test_diff_untracked_paths_are_relative_to_the_top_level(agent, repo):
    (repo / "pkg" / "scratch.py").write_text("x = 1\n")
    try:
        r = agent.result("repo.diff", {"path": "pkg"})
        assert r["untracked"] == ["pkg/scratch.py"] and r["files"] == []
    finally:
        (repo / "pkg" / "scratch.py").unlink()
