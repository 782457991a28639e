"""repo.search's regex mode runs under a time budget (issue item 10: `(a+)+$` hung the plugin for
~30 s per call, and every other call with it, since Python's re holds the GIL)."""

from __future__ import annotations

import pytest
from conftest import child_pids, wait_until

INVALID_PARAMS = -32602
PLUGIN_ERROR = -33010
CANCELLED = -32800
EVIL = r"(a+)+$"


@pytest.fixture
def evil_root(tmp_path):
    # 40 a's and a mismatch: 2**40 backtracking steps, far past any budget; evil.txt sorts
    # first, so the budget is spent on it however slow the machine is
    (tmp_path / "fine.txt").write_text("aaa\nplain text\n")
    (tmp_path / "evil.txt").write_text("a" * 40 + "!\n")
    return tmp_path


def test_bug_catastrophic_regex_is_stopped_at_the_budget(spawn, evil_root):
    c = spawn({"workspaceRoots": [str(evil_root)], "regexTimeoutMs": 300})
    e = c.error("repo.search", {"query": EVIL, "regex": True}, timeout=20)
    assert e["code"] == PLUGIN_ERROR, e
    assert repr(EVIL) in e["message"] and "300 ms (regexTimeoutMs)" in e["message"], e
    assert e["data"] == {"query": EVIL, "budgetMs": 300, "path": "evil.txt"}
    assert wait_until(lambda: child_pids(c.proc.pid) == [])
    # the plugin goes on serving, regexes included
    r = c.result("repo.search", {"query": "^a+$", "regex": True})
    assert [(m["path"], m["line"]) for m in r["matches"]] == [("fine.txt", 1)]


def test_bug_hung_regex_does_not_block_concurrent_calls(spawn, evil_root):
    # a budget no test waits for: only cancellation ends the regex call
    c = spawn({"workspaceRoots": [str(evil_root)], "regexTimeoutMs": 600000})
    rid = c.request("repo.search", {"query": EVIL, "regex": True})
    assert c.result("repo.info", {}, timeout=20)["regexTimeoutMs"] == 600000
    r = c.result("repo.file.read", {"path": "fine.txt"}, timeout=20)
    assert r["content"] == "aaa\nplain text\n"
    r = c.result("repo.search", {"query": "plain", "path": "fine.txt"}, timeout=20)
    assert r["count"] == 1
    assert not [m for m in c.seen if m.get("id") == rid], "the regex call cannot have finished"
    c.send({"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": rid}})
    assert c.response(rid, timeout=20)["error"]["code"] == CANCELLED
    assert wait_until(lambda: child_pids(c.proc.pid) == [])


def test_one_child_process_serves_every_file_of_a_call(spawn, tmp_path):
    for i in range(200):
        (tmp_path / f"f{i:03}.txt").write_text("alpha\nbeta\n" * 50)
    c = spawn({"workspaceRoots": [str(tmp_path)], "regexTimeoutMs": 60000})
    r = c.result("repo.search", {"query": r"^b\w+", "regex": True, "maxResults": 10000}, timeout=30)
    assert r["count"] == 200 * 50 and r["filesSearched"] == 200 and r["truncated"] is False


def test_regex_results_match_and_truncate_like_literal_search(agent):
    r = agent.result("repo.search", {"query": "needle", "regex": True, "maxResults": 1})
    assert r["count"] == 1 and r["truncated"] is True
    lit = agent.result("repo.search", {"query": "needle"})
    rx = agent.result("repo.search", {"query": "needle", "regex": True})
    assert rx["matches"] == lit["matches"] and len(lit["matches"]) >= 2


def test_regex_timeout_config(spawn, repo):
    c = spawn({"workspaceRoots": [str(repo)]})
    assert c.result("repo.info", {})["regexTimeoutMs"] == 2000
    c = spawn(None, init=False)
    r = c.initialize({"workspaceRoots": [str(repo)], "regexTimeoutMs": 0})
    assert "error" in r and "regexTimeoutMs" in r["error"]["message"], r
