"""repo.command's extra args and cwd are checked like file paths (issue item 10: `ls /root`,
`ls .bkg` and `cwd: ".bkg"` were accepted), and options that write files, run programs or
read another repository are refused."""

from __future__ import annotations

import os

import pytest

INVALID_PARAMS = -32602
PERMISSION_DENIED = -33003


def _refused(agent, name, args, code=INVALID_PARAMS, **extra):
    e = agent.error("repo.command", {"name": name, "args": args, **extra})
    assert e["code"] == code, (args, e)
    return e


@pytest.mark.parametrize(
    "args,bad",
    [
        (["/root"], "/root"),
        (["/etc"], "/etc"),
        (["-la", "/root"], "/root"),
        (["--color=auto", "../.."], "../.."),
        (["--", "/etc"], "/etc"),
        (["--", "-weird", "/etc"], "/etc"),
        ([".."], ".."),
        (["pkg/../../outside"], "pkg/../../outside"),
        (["escape"], "escape"),  # a symlink that points out of the root
        (["escape/secret.txt"], "escape/secret.txt"),
        ([".git"], ".git"),
        (["build"], "build"),  # an ignored folder (.gitignore: build/)
        (["build/out.txt"], "build/out.txt"),
        (["build/not-there-yet"], "build/not-there-yet"),
        (["secret.txt"], "secret.txt"),  # an ignored file
        (["--hide=/etc"], "--hide=/etc"),  # a path as the value of a long option
    ],
)
def test_bug_ls_path_args_outside_the_workspace_or_ignored_are_refused(agent, args, bad):
    e = _refused(agent, "ls", args)
    assert repr(bad) in e["message"] and "refused" in e["message"], e
    assert e["data"]["arg"] == bad and e["data"]["index"] == args.index(bad)
    assert "workspace roots" in e["data"]["rule"]
    assert "NEEDLE" not in str(e)


def test_bug_cwd_in_an_ignored_folder_is_refused(agent):
    e = agent.error("repo.command", {"name": "pwd", "cwd": "build"})
    assert e["code"] == INVALID_PARAMS and "'build' is ignored" in e["message"], e
    e = agent.error("repo.command", {"name": "ls", "cwd": ".git"})
    assert e["code"] == INVALID_PARAMS and ".git" in e["message"], e


def test_operands_are_resolved_against_cwd(agent):
    # from pkg, ".." is the root (fine) and "../.." is outside (refused)
    r = agent.result("repo.command", {"name": "ls", "args": [".."], "cwd": "pkg"})
    assert "app.py" in r["stdout"], r
    e = _refused(agent, "ls", ["../.."], cwd="pkg")
    assert e["data"]["arg"] == "../.."


def test_ls_inside_the_workspace_still_works(agent):
    for args in (["pkg"], ["--color=never", "pkg"], ["--", "pkg"], ["-1", "pkg", "docs"], ["-la"]):
        r = agent.result("repo.command", {"name": "ls", "args": args})
        assert r["exitCode"] == 0, (args, r)
        assert "core.py" in r["stdout"] or "app.py" in r["stdout"], (args, r)


def test_short_options_with_an_attached_value_are_refused(agent):
    e = _refused(agent, "ls", ["-I/etc"])
    assert "attached value" in e["message"] and e["data"]["arg"] == "-I/etc"


def test_ls_recursion_is_refused(agent):
    for arg in ("-R", "-laR", "--recursive", "--recur"):
        e = _refused(agent, "ls", [arg], PERMISSION_DENIED)
        assert "recurses into ignored folders" in e["message"], e


@pytest.mark.parametrize(
    "arg",
    [
        "--output=out.txt",
        "--output",
        "--outp=out.txt",
        "--ext-diff",
        "--git-dir=.",
        "--work-tree=.",
        "--no-index",
        "-O",
        "-pO",
        "--orderfile=x",
    ],
)
def test_git_options_that_write_run_or_escape_are_refused(agent, repo, arg):
    e = _refused(agent, "git-diff", [arg], PERMISSION_DENIED)
    assert repr(arg) in e["message"] and "not allowed" in e["message"], e
    assert not (repo / "out.txt").exists()


def test_git_path_values_outside_are_refused(agent):
    e = _refused(agent, "git-log", ["-C", "/tmp"])
    assert e["data"]["arg"] == "/tmp"
    e = _refused(agent, "git-log", ["--", "../outside"])
    assert e["data"]["arg"] == "../outside"


def test_git_harmless_args_still_work(agent):
    r = agent.result("repo.command", {"name": "git-log", "args": ["-n1", "--format=%s", "HEAD", "--", "docs"]})
    assert r["exitCode"] == 0 and r["stdout"] == "Add docs and tool\n", r
    r = agent.result("repo.command", {"name": "git-diff", "args": ["--stat", "--output-indicator-new=+"]})
    assert r["exitCode"] == 0 and "app.py" in r["stdout"], r


def test_bare_git_prefix_refuses_extra_args(agent):
    e = _refused(agent, "git-any", ["-c", "alias.x=!id", "x"], PERMISSION_DENIED)
    assert "subcommand" in e["message"], e


def test_args_must_be_strings(agent):
    e = _refused(agent, "ls", [1])
    assert "string" in e["message"]
    e = _refused(agent, "ls", ["a\x00b"])
    assert "NUL" in e["message"]


def test_relative_operand_naming_nothing_is_allowed(agent, repo):
    # a rev or pattern that is not a file passes: it would name a path inside the root
    r = agent.result("repo.command", {"name": "echo", "args": ["HEAD~1", "main..HEAD"]})
    assert r["stdout"] == "HEAD~1 main..HEAD\n"
    assert not os.path.exists(repo / "HEAD~1")


@pytest.mark.parametrize(
    "name,args,says",
    [
        ("git-config", ["core.hooksPath", "hooks"], "'git config', which is not one of the read-only"),
        ("git-branch-any", ["evil-branch"], "without --list"),
    ],
)
def test_git_subcommands_that_write_or_run_programs_take_no_args(agent, repo, name, args, says):
    e = _refused(agent, name, args, PERMISSION_DENIED)
    assert says in e["message"], e
    r = agent.result("repo.command", {"name": "git-branch", "args": ["evil-branch"]})
    assert r["exitCode"] == 0 and r["stdout"] == ""  # a --list pattern: lists nothing, creates nothing
    r = agent.result("repo.command", {"name": "git-branch", "args": ["ma*"]})
    assert "main" in r["stdout"]


def test_git_grep_cannot_read_ignored_files(agent):
    for args in (["--untracked", "--no-exclude-standard", "NEEDLE"], ["--no-exclude", "--untracked", "NEEDLE"]):
        e = _refused(agent, "git-grep", args, PERMISSION_DENIED)
        assert "--no-exclude-standard" in e["message"], e
    r = agent.result("repo.command", {"name": "git-grep", "args": ["--untracked", "-i", "needle"]})
    assert "README.md" in r["stdout"] and "secret" not in r["stdout"] and "build/" not in r["stdout"], r


def test_find_cannot_run_programs_or_delete(agent, repo):
    for args in ([".", "-exec", "touch", "pwned", ";"], [".", "-delete"], [".", "-fprint", "out.txt"]):
        e = _refused(agent, "find", args, PERMISSION_DENIED)
        assert "runs a program, deletes or writes files" in e["message"], e
    assert not (repo / "pwned").exists() and not (repo / "out.txt").exists()
    r = agent.result("repo.command", {"name": "find", "args": ["pkg", "-name", "*.py"]})
    assert "pkg/core.py" in r["stdout"].splitlines(), r
