"""gitignore semantics of repoagent.ignore (pure unit tests; no plugin process), plus nested
.gitignore files and negation through the real plugin."""

from __future__ import annotations

import sys

import pytest
from conftest import PLUGIN_DIR

sys.path.insert(0, str(PLUGIN_DIR))
from repoagent.ignore import IgnoreMatcher, compile_rule  # noqa: E402


def matches(pattern: str, path: str, is_dir: bool = False) -> bool:
    rule = compile_rule(pattern)
    assert rule is not None
    name = path.rsplit("/", 1)[-1]
    return bool(rule.regex.match(path if rule.anchored else name)) and (is_dir or not rule.dir_only)


@pytest.mark.parametrize(
    "pattern,path,is_dir,expected",
    [
        ("*.log", "a.log", False, True),
        ("*.log", "deep/dir/a.log", False, True),
        ("*.log", "a.logx", False, False),
        ("build/", "build", True, True),
        ("build/", "build", False, False),  # dir-only pattern, a file named build
        ("build/", "src/build", True, True),  # no inner slash: any depth
        ("/build", "src/build", True, False),  # anchored
        ("/build", "build", True, True),
        ("doc/frotz", "doc/frotz", True, True),
        ("doc/frotz", "a/doc/frotz", True, False),  # inner slash: anchored
        ("**/foo", "a/b/foo", False, True),
        ("**/foo", "foo", False, True),
        ("a/**/b", "a/b", False, True),
        ("a/**/b", "a/x/y/b", False, True),
        ("abc/**", "abc/x/y", False, True),
        ("abc/**", "abc", True, False),
        ("?.txt", "a.txt", False, True),
        ("?.txt", "ab.txt", False, False),
        ("[ab].py", "a.py", False, True),
        ("[!ab].py", "a.py", False, False),
        ("[!ab].py", "c.py", False, True),
        ("*.py", "pkg/x.py", False, True),
        ("pkg/*.py", "pkg/sub/x.py", False, False),  # * does not cross /
        ("\\#hash", "#hash", False, True),
        ("trailing   ", "trailing", False, True),
    ],
)
def test_patterns(pattern, path, is_dir, expected):
    assert matches(pattern, path, is_dir) is expected


def test_comments_and_blanks_are_not_rules():
    assert compile_rule("# a comment") is None
    assert compile_rule("") is None
    assert compile_rule("   ") is None


def test_matcher_nested_files_negation_and_config(tmp_path):
    (tmp_path / ".gitignore").write_text("*.log\n!keep.log\ntmp/\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / ".gitignore").write_text("local.txt\n/only-here.txt\n!important.log\n")
    m = IgnoreMatcher(str(tmp_path), ["*.secret", "!ok.secret"])
    assert m.is_ignored("a.log", False)
    assert not m.is_ignored("keep.log", False)
    assert m.is_ignored("tmp", True) and m.is_ignored("tmp/x/y.txt", False)
    assert m.is_ignored("sub/local.txt", False) and m.is_ignored("sub/deeper/local.txt", False)
    assert not m.is_ignored("local.txt", False)  # sub's rules stay in sub
    assert m.is_ignored("sub/only-here.txt", False) and not m.is_ignored("sub/x/only-here.txt", False)
    assert not m.is_ignored("sub/important.log", False)  # a deeper .gitignore re-includes
    assert m.is_ignored("x.secret", False) and not m.is_ignored("ok.secret", False)
    assert m.is_ignored(".git", True) and m.is_ignored("a/.git/config", False)
    assert not m.is_ignored("src/main.py", False)


def test_config_globs_cannot_be_reincluded_by_gitignore(tmp_path):
    (tmp_path / ".gitignore").write_text("!*.pem\n")
    m = IgnoreMatcher(str(tmp_path), ["*.pem"])
    assert m.is_ignored("key.pem", False)


def test_nested_gitignore_through_the_plugin(spawn, tmp_path):
    (tmp_path / ".gitignore").write_text("*.tmp\n")
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / ".gitignore").write_text("!keep.tmp\nhidden/\n")
    (tmp_path / "a" / "keep.tmp").write_text("kept\n")
    (tmp_path / "a" / "drop.tmp").write_text("dropped\n")
    (tmp_path / "a" / "hidden").mkdir()
    (tmp_path / "a" / "hidden" / "x.txt").write_text("x\n")
    (tmp_path / "top.tmp").write_text("top\n")
    c = spawn({"workspaceRoots": [str(tmp_path)]})
    paths = [e["path"] for e in c.result("repo.tree", {"path": "."})["entries"]]
    assert paths == [".gitignore", "a", "a/.gitignore", "a/keep.tmp"]
    assert c.error("repo.file.read", {"path": "a/hidden/x.txt"})["code"] == -32602
