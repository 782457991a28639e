"""Params are checked against each method's schema inside the plugin (issue item 11:
repo.file.read with offset 1e15 answered the OS's "[Errno 22] Invalid argument")."""

from __future__ import annotations

import pytest

INVALID_PARAMS = -32602


def test_bug_huge_offset_is_a_clear_invalid_params(agent, repo):
    size = (repo / "README.md").stat().st_size
    for offset in (1e15, 10**15, size + 1):
        e = agent.error("repo.file.read", {"path": "README.md", "offset": offset})
        assert e["code"] == INVALID_PARAMS, (offset, e)
        assert "past the end of 'README.md'" in e["message"] and f"from 0 to {size}" in e["message"], e
        assert "Errno" not in e["message"]
        assert e["data"]["size"] == size


def test_offset_at_the_end_reads_nothing(agent, repo):
    size = (repo / "README.md").stat().st_size
    r = agent.result("repo.file.read", {"path": "README.md", "offset": size})
    assert r["bytes"] == 0 and r["content"] == "" and r["truncated"] is False


@pytest.mark.parametrize(
    "method,params,field,says",
    [
        ("repo.file.read", {"path": "README.md", "offset": 1e16}, "params.offset", "from 0 to 9007199254740991"),
        ("repo.file.read", {"path": "README.md", "offset": 2**64}, "params.offset", "from 0 to 9007199254740991"),
        ("repo.file.read", {"path": "README.md", "offset": -1}, "params.offset", "got -1"),
        ("repo.file.read", {"path": "README.md", "offset": 1.5}, "params.offset", "got 1.5"),
        ("repo.file.read", {"path": "README.md", "offset": "10"}, "params.offset", "got a string"),
        ("repo.file.read", {"path": "README.md", "offset": True}, "params.offset", "got a boolean"),
        ("repo.file.read", {"path": "README.md", "encoding": "latin-1"}, "params.encoding", "one of"),
        ("repo.tree", {"path": ".", "limit": 0}, "params.limit", "from 1 to 100000"),
        ("repo.tree", {"path": ".", "limit": 100001}, "params.limit", "from 1 to 100000"),
        ("repo.tree", {"path": ".", "depth": "2"}, "params.depth", "got a string"),
        ("repo.search", {"query": "x", "maxResults": 1e6}, "params.maxResults", "from 1 to 10000"),
        ("repo.search", {"query": "x", "regex": "yes"}, "params.regex", "true or false"),
        ("repo.search", {"query": ""}, "params.query", "must not be empty"),
        ("repo.search", {"path": "."}, "params.query", "is required"),
        ("repo.analyze", {"path": ".", "progressEvery": -1}, "params.progressEvery", "got -1"),
        ("repo.log", {"path": ".", "limit": 1001}, "params.limit", "from 1 to 1000"),
        ("repo.log", {"path": 7}, "params.path", "must be a string"),
        ("repo.command", {"name": "echo", "args": "hello"}, "params.args", "must be an array"),
        ("repo.command", {"name": "echo", "args": [1]}, "params.args[0]", "must be a string"),
        ("repo.tree", {"path": ".", "limt": 5}, "params.limt", "not a known parameter"),
    ],
)
def test_params_are_checked_against_the_method_schema(agent, method, params, field, says):
    e = agent.error(method, params)
    assert e["code"] == INVALID_PARAMS, e
    assert e["message"].startswith(field) and says in e["message"], e
    assert e["data"]["field"] == field


def test_integral_floats_are_integers(agent):
    # a JSON 1.0 is the integer 1 (JSON Schema agrees), so it is accepted where an integer is
    r = agent.result("repo.log", {"path": ".", "limit": 1.0})
    assert len(r["commits"]) == 1
    r = agent.result("repo.tree", {"path": ".", "depth": 1.0, "limit": 2.0})
    assert r["count"] == 2 and r["truncated"] is True
