"""repo.diff, repo.log and repo.commit stay inside the workspace root when that root is a folder
inside a larger git repository (audit: a path named ":(top)" was git pathspec magic, and
repo.diff, which accepts paths that do not exist, showed the diff of the whole repository)."""

from __future__ import annotations

INVALID_PARAMS = -32602


def test_bug_pathspec_magic_cannot_reach_above_the_root(spawn, repo):
    # the root is pkg/; app.py, above it, has an uncommitted change
    c = spawn({"workspaceRoots": [str(repo / "pkg")]})
    for path in (":(top)", ":(top)app.py", ":/", ":(glob)**", ":!core.py"):
        r = c.result("repo.diff", {"path": path})
        assert "app.py" not in r["diff"] and r["files"] == [], (path, r)
        assert "changed" not in r["diff"], (path, r)
    # a plain path still works
    r = c.result("repo.diff", {"path": ".", "rev": "HEAD~1"})
    assert r["files"] == [], r


def test_revs_naming_a_blob_or_tree_are_refused(agent):
    for rev in ("HEAD:app.py", "HEAD:../outside", ":/Initial", "HEAD~1..HEAD:pkg"):
        e = agent.error("repo.diff", {"path": ".", "rev": rev})
        assert e["code"] == INVALID_PARAMS and repr(rev) in e["message"] and "no ':'" in e["message"], e
