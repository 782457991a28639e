"""Containment (.., absolute paths, symlinks), the command allowlist, timeouts, output caps,
and writes being off by default."""

from __future__ import annotations

import os

import pytest

INVALID_PARAMS = -32602
PERMISSION_DENIED = -33003
PLUGIN_ERROR = -33010


def escapes(sandbox) -> list[str]:
    outside = sandbox["outside"]
    return [
        "../outside/secret.txt",  # ..
        "pkg/../../outside",  # .. in the middle
        "..",
        str(outside / "secret.txt"),  # absolute, outside
        "/etc/passwd",
        "escape",  # a symlink to a folder outside
        "escape/secret.txt",  # through it
    ]


CALLS = [
    ("repo.tree", lambda p: {"path": p}),
    ("repo.file.read", lambda p: {"path": p}),
    ("repo.search", lambda p: {"query": "NEEDLE", "path": p}),
    ("repo.analyze", lambda p: {"path": p}),
    ("repo.log", lambda p: {"path": p}),
    ("repo.diff", lambda p: {"path": p}),
    ("repo.command", lambda p: {"name": "pwd", "cwd": p}),
]


@pytest.mark.parametrize("method,params", CALLS, ids=[c[0] for c in CALLS])
def test_paths_outside_the_roots_are_refused(agent, sandbox, method, params):
    for path in escapes(sandbox):
        e = agent.error(method, params(path))
        assert e["code"] == INVALID_PARAMS, (method, path, e)
        assert path in e["message"] and "outside" in e["message"], (method, path, e)
        assert e["data"]["path"] == path


def test_escaping_symlink_message_says_it_resolves_outside(agent):
    e = agent.error("repo.file.read", {"path": "escape/secret.txt"})
    assert "resolves (through a symlink) outside" in e["message"]
    assert "NEEDLE" not in str(e)


def test_absolute_path_inside_the_root_is_fine(agent, repo):
    r = agent.result("repo.file.read", {"path": str(repo / "README.md")})
    assert r["path"] == "README.md" and "needle" in r["content"]
    r = agent.result("repo.tree", {"path": "pkg/../docs"})  # .. that stays inside
    assert [e["path"] for e in r["entries"]] == ["docs/guide.md"]


# -- repo.command --------------------------------------------------------------------------------
def test_command_runs_allowlisted_argv_without_a_shell(agent, repo):
    r = agent.result("repo.command", {"name": "echo", "args": ["hello", "$(whoami)", ";", "ls", "|", "cat"]})
    assert r["stdout"] == "hello $(whoami) ; ls | cat\n"
    assert r["exitCode"] == 0 and r["truncated"] is False
    r = agent.result("repo.command", {"name": "pwd"})
    assert r["stdout"].strip() == os.path.realpath(repo)
    r = agent.result("repo.command", {"name": "pwd", "cwd": "pkg"})
    assert r["stdout"].strip() == os.path.realpath(repo / "pkg")


def test_command_git_status(agent):
    r = agent.result("repo.command", {"name": "git-status"})
    assert " M app.py" in r["stdout"].splitlines()
    assert r["argv"] == ["git", "status", "--short"]


def test_command_failure_is_a_result(agent):
    r = agent.result("repo.command", {"name": "fail"})
    assert r["exitCode"] == 3 and r["stderr"] == "bad"


def test_command_not_on_the_allowlist(agent):
    for name in ["rm", "sh", "git"]:
        e = agent.error("repo.command", {"name": name, "args": ["-rf", "/"]})
        assert e["code"] == PERMISSION_DENIED
        assert name in e["message"] and "git-status" in e["message"] and "echo" in e["message"]
        assert "git-status" in e["data"]["allowed"]


def test_command_missing_program(agent):
    e = agent.error("repo.command", {"name": "missing"})
    assert e["code"] == PLUGIN_ERROR and "definitely-not-a-real-program-xyz" in e["message"]


def test_command_timeout(tight):
    e = tight.error("repo.command", {"name": "sleep"}, timeout=10)
    assert e["code"] == PLUGIN_ERROR
    assert "timed out after 300 ms" in e["message"]
    assert e["data"]["timeoutMs"] == 300


def test_command_output_is_capped(capped):
    # not the 300 ms client: on a loaded machine Python alone can take that long to start
    r = capped.result("repo.command", {"name": "spew"})
    assert r["truncated"] is True and r["stdoutTruncated"] is True
    assert r["stdout"] == "x" * 200 and r["exitCode"] == 0


def test_no_commands_configured(spawn, repo):
    c = spawn({"workspaceRoots": [str(repo)]})
    e = c.error("repo.command", {"name": "ls"})
    assert e["code"] == PERMISSION_DENIED and "none" in e["message"] and e["data"]["allowed"] == []


# -- writes are off by default -------------------------------------------------------------------
def test_patch_and_commit_refused_without_allow_write(agent, repo):
    e = agent.error("repo.patch", {"changes": [{"path": "new.txt", "mode": "write", "content": "x"}]})
    assert e["code"] == PERMISSION_DENIED and "allowWrite is off" in e["message"]
    assert not (repo / "new.txt").exists()
    e = agent.error("repo.commit", {"message": "nope"})
    assert e["code"] == PERMISSION_DENIED and "allowWrite is off" in e["message"]


# -- config --------------------------------------------------------------------------------------
def test_default_root_is_the_process_cwd(spawn, repo):
    c = spawn({}, cwd=repo)
    assert c.result("repo.info", {})["workspaceRoots"] == [os.path.realpath(repo)]
    assert "app.py" in [e["path"] for e in c.result("repo.tree", {"path": ".", "depth": 1})["entries"]]


def test_relative_roots_resolve_against_cwd_and_multiple_roots(spawn, repo, sandbox):
    c = spawn({"workspaceRoots": ["pkg", "../outside"]}, cwd=repo)
    roots = c.result("repo.info", {})["workspaceRoots"]
    assert roots == [os.path.realpath(repo / "pkg"), os.path.realpath(sandbox["outside"])]
    assert [e["path"] for e in c.result("repo.tree", {"path": "."})["entries"]] == ["__init__.py", "core.py", "util.py"]
    # an absolute path inside the second root is accepted and named relative to it
    r = c.result("repo.file.read", {"path": str(sandbox["outside"] / "secret.txt")})
    assert r["path"] == "secret.txt" and r["root"] == os.path.realpath(sandbox["outside"])
    e = c.error("repo.file.read", {"path": "../app.py"})
    assert e["code"] == INVALID_PARAMS


def test_config_ignore_globs(spawn, repo):
    c = spawn({"workspaceRoots": [str(repo)], "ignore": ["*.md", "/scripts/"]})
    paths = [e["path"] for e in c.result("repo.tree", {"path": "."})["entries"]]
    assert "README.md" not in paths and "docs/guide.md" not in paths and "docs" in paths
    assert "scripts" not in paths and "app.py" in paths
    assert c.result("repo.search", {"query": "needle"})["matches"] == []
    assert c.error("repo.file.read", {"path": "README.md"})["code"] == INVALID_PARAMS


def test_bad_config_fails_initialize(spawn, sandbox):
    c = spawn(None, init=False)
    r = c.initialize({"workspaceRoots": [str(sandbox["base"] / "does-not-exist")]})
    assert "error" in r and "does-not-exist" in r["error"]["message"]
    c = spawn(None, init=False)
    r = c.initialize({"commands": {"bad": "git status"}})
    assert "error" in r and "commands.bad" in r["error"]["message"]


def test_plugin_exits_when_stdin_closes(spawn, repo):
    c = spawn({"workspaceRoots": [str(repo)]})
    assert c.proc.stdin is not None
    c.proc.stdin.close()
    assert c.proc.wait(timeout=3) == 0


def test_manifest_matches_the_plugin(agent):
    import json

    from conftest import PLUGIN_DIR, REPO_ROOT

    path = REPO_ROOT / "manifests" / "repoagent.json"
    m = json.loads(path.read_text())
    assert m["name"] == path.stem == "repoagent"
    assert (path.parent / m["cwd"]).resolve() == PLUGIN_DIR
    assert (PLUGIN_DIR / m["command"][-1]).is_file()
    assert sorted(m["provides"]) == sorted(
        [
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
    )
    # workspaceRoots, relative to the plugin's cwd, is the repository root
    assert [(PLUGIN_DIR / r).resolve() for r in m["config"]["workspaceRoots"]] == [REPO_ROOT.resolve()]
    assert m["config"].get("allowWrite", False) is False


def test_cancelling_a_running_command(agent):
    from conftest import child_pids, wait_until

    rid = agent.request("repo.command", {"name": "sleep"})
    # the command is in flight once the plugin has a child process (not after a fixed sleep)
    assert wait_until(lambda: child_pids(agent.proc.pid) != [])
    agent.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": rid}})
    r = agent.response(rid, timeout=10)
    assert r["error"]["code"] == -32800
    # and its process is killed
    assert wait_until(lambda: child_pids(agent.proc.pid) == [])
    # the plugin keeps serving
    assert agent.result("repo.command", {"name": "echo", "args": ["ok"]})["stdout"] == "ok\n"
