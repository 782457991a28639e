"""allowWrite: true in a separate plugin process over its own copy of the repository."""

from __future__ import annotations

import base64
import subprocess

import pytest
from conftest import commands, make_repo

INVALID_PARAMS = -32602
PLUGIN_ERROR = -33010


@pytest.fixture(scope="module")
def wrepo(sandbox, tmp_path_factory):
    base = tmp_path_factory.mktemp("writable")
    return make_repo(base, sandbox["env"])


@pytest.fixture(scope="module")
def writer(spawn, wrepo):
    return spawn(
        {
            "workspaceRoots": [str(wrepo)],
            "allowWrite": True,
            "commands": commands(),
            "commitIdentity": {"name": "Repo Agent", "email": "agent@example.com"},
        }
    )


def git_out(repo, *args, env):
    return subprocess.run(["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True).stdout


def test_patch_write_append_delete(writer, wrepo):
    r = writer.result(
        "repo.patch",
        {
            "changes": [
                {"path": "notes/new.txt", "mode": "write", "content": "one\n"},
                {"path": "notes/new.txt", "mode": "append", "content": "two\n"},
                {"path": "README.md", "mode": "write", "content": "# Rewritten\n"},
                {"path": "big.txt", "mode": "delete"},
                {
                    "path": "blob.bin",
                    "mode": "write",
                    "content": base64.b64encode(b"\x00\x01\x02").decode(),
                    "encoding": "base64",
                },
            ]
        },
    )
    assert [a["mode"] for a in r["applied"]] == ["write", "append", "write", "delete", "write"]
    assert (wrepo / "notes" / "new.txt").read_text() == "one\ntwo\n"
    assert (wrepo / "README.md").read_text() == "# Rewritten\n"
    assert not (wrepo / "big.txt").exists()
    assert (wrepo / "blob.bin").read_bytes() == b"\x00\x01\x02"
    assert writer.result("repo.file.read", {"path": "notes/new.txt"})["content"] == "one\ntwo\n"


def test_patch_is_checked_before_anything_is_written(writer, wrepo, sandbox):
    for bad in ["../outside/evil.txt", str(sandbox["outside"] / "evil.txt"), "escape/evil.txt", ".git/config"]:
        e = writer.error(
            "repo.patch",
            {
                "changes": [
                    {"path": "first.txt", "mode": "write", "content": "should not appear"},
                    {"path": bad, "mode": "write", "content": "evil"},
                ]
            },
        )
        assert e["code"] == INVALID_PARAMS and bad in e["message"], e
    assert not (wrepo / "first.txt").exists()
    assert not (sandbox["outside"] / "evil.txt").exists()
    e = writer.error("repo.patch", {"changes": [{"path": "gone.txt", "mode": "delete"}]})
    assert e["code"] == INVALID_PARAMS and "gone.txt" in e["message"]
    e = writer.error("repo.patch", {"changes": [{"path": "pkg", "mode": "delete"}]})
    assert e["code"] == INVALID_PARAMS and "directory" in e["message"]


def test_commit_paths_then_everything(writer, wrepo, sandbox):
    env = sandbox["env"]
    writer.result("repo.patch", {"changes": [{"path": "pkg/extra.py", "mode": "write", "content": "X = 1\n"}]})
    r = writer.result("repo.commit", {"message": "Add extra module", "paths": ["pkg/extra.py"]})
    assert r["subject"] == "Add extra module" and r["files"] == ["pkg/extra.py"] and len(r["commit"]) == 40
    log = writer.result("repo.log", {"path": "."})["commits"]
    assert log[0]["subject"] == "Add extra module"
    assert (log[0]["author"], log[0]["email"]) == ("Repo Agent", "agent@example.com")
    # other changes are still uncommitted
    assert "app.py" in writer.result("repo.diff", {"path": "."})["files"]

    r = writer.result("repo.commit", {"message": "Everything else"})
    assert "app.py" in r["files"]
    assert git_out(wrepo, "status", "--porcelain", "--untracked-files=no", env=env) == ""
    assert "secret.txt" not in git_out(wrepo, "ls-files", env=env)  # ignored files stay out
    e = writer.error("repo.commit", {"message": "empty"})
    assert e["code"] == PLUGIN_ERROR and "nothing to commit" in e["message"]
    e = writer.error("repo.commit", {"message": "escape", "paths": ["../outside"]})
    assert e["code"] == INVALID_PARAMS


def test_writer_still_refuses_commands_off_the_list(writer):
    assert writer.error("repo.command", {"name": "rm"})["code"] == -33003


@pytest.fixture(scope="module")
def guarded(spawn, wrepo):
    (wrepo / ".bkg").mkdir(exist_ok=True)
    (wrepo / ".bkg" / "root.token").write_text("daemon-secret\n")
    return spawn(
        {
            "workspaceRoots": [str(wrepo)],
            "allowWrite": True,
            "ignore": [".bkg/", "*.pem"],
            "commitIdentity": {"name": "Repo Agent", "email": "agent@example.com"},
        }
    )


@pytest.mark.parametrize("path", [".bkg/root.token", ".bkg/new.txt", ".bkg", "keys/server.pem", "server.pem"])
def test_bug_patch_cannot_write_what_the_ignore_config_excludes(guarded, wrepo, path):
    # the daemon keeps root.token in .bkg/: a write there would hand out the root credential
    e = guarded.error("repo.patch", {"changes": [{"path": path, "mode": "write", "content": "x"}]})
    assert e["code"] == INVALID_PARAMS and repr(path) in e["message"], e
    assert "ignore config" in e["message"] or "directory" in e["message"], e
    assert (wrepo / ".bkg" / "root.token").read_text() == "daemon-secret\n"
    assert not (wrepo / "keys").exists() and not (wrepo / "server.pem").exists()


def test_bug_commit_cannot_stage_what_the_ignore_config_excludes(guarded, wrepo):
    (wrepo / "server.pem").write_text("PRIVATE KEY\n")
    try:
        e = guarded.error("repo.commit", {"message": "leak", "paths": ["server.pem"]})
        assert e["code"] == INVALID_PARAMS and "'server.pem'" in e["message"] and "ignore config" in e["message"]
    finally:
        (wrepo / "server.pem").unlink()


def test_patch_still_writes_gitignored_files(guarded, wrepo):
    r = guarded.result("repo.patch", {"changes": [{"path": "build/fresh.txt", "mode": "write", "content": "ok"}]})
    assert r["count"] == 1 and (wrepo / "build" / "fresh.txt").read_text() == "ok"


def test_bug_commit_all_does_not_stage_what_the_ignore_config_excludes(guarded, wrepo, sandbox):
    # .bkg/ and *.pem are excluded by the config but not by .gitignore: `git add -A` alone
    # would commit the daemon's root.token and the key
    head = git_out(wrepo, "rev-parse", "HEAD", env=sandbox["env"])
    (wrepo / "server.pem").write_text("PRIVATE KEY\n")
    try:
        e = guarded.error("repo.commit", {"message": "everything"})
        assert e["code"] == INVALID_PARAMS and "'server.pem'" in e["message"], e
        assert e["data"]["excluded"] == [".bkg/root.token", "server.pem"]
        assert git_out(wrepo, "rev-parse", "HEAD", env=sandbox["env"]) == head
        assert git_out(wrepo, "diff", "--cached", "--name-only", env=sandbox["env"]) == ""
    finally:
        (wrepo / "server.pem").unlink()
