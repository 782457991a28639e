"""Test helpers: a throwaway git repository, and a framed JSON-RPC client that plays the daemon
against the real plugin process (python3 main.py), like plugin-sdk/python/tests/conftest.py."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
PLUGIN_DIR = HERE.parent
MAIN = PLUGIN_DIR / "main.py"
REPO_ROOT = PLUGIN_DIR.parent.parent
PY = os.environ.get("BKG_TEST_PYTHON") or sys.executable

AUTHOR = ("Ada Lovelace", "ada@example.com")
DATES = ["2024-01-02T03:04:05+00:00", "2024-02-03T04:05:06+00:00"]

Msg = dict[str, Any]

# -- the sample repository ------------------------------------------------------------------------
FILES_V1: dict[str, str] = {
    ".gitignore": "build/\n*.log\nsecret.txt\n",
    "README.md": "# Sample\n\nA needle in a haystack.\n",
    "pkg/__init__.py": '"""The sample package."""\nfrom .core import Engine\n\n__all__ = ["Engine"]\n',
    "pkg/core.py": """import json
import os

from . import util


class Engine:
    def __init__(self, name):
        self.name = name

    def run(self, items):
        total = 0
        for item in items:
            if item > 0 and item < 100:
                total += item
            elif item == 0:
                continue
        return total

    async def save(self, path):
        try:
            with open(path, "w") as f:
                json.dump({"name": self.name}, f)
        except OSError:
            return False
        return os.path.exists(path)


class Plugin(Engine):
    pass
""",
    "pkg/util.py": """from typing import Iterable


def evens(xs: Iterable[int]) -> list[int]:
    return [x for x in xs if x % 2 == 0]


def label(x):
    match x:
        case 0:
            return "zero"
        case 1:
            return "one"
        case _:
            return "many"


def pick(a, b, c):
    return a or b or c


def helper():
    def inner(y):
        return y if y else 0
    return inner
""",
    "app.py": """import sys

import pkg
from pkg.core import Engine
from pkg import util


def main(argv):
    engine = Engine("demo")
    while argv:
        argv = argv[1:]
    return engine.run([1, 2, 3])


if __name__ == "__main__":
    main(sys.argv)
""",
}
FILES_V2: dict[str, str] = {
    "docs/guide.md": "# Guide\n\nFind the Needle here.\n",
    "scripts/tool.py": "import app\nimport pkg.util\n\n\ndef go():\n    return app.main([])\n",
}
BIG = "0123456789" * 1000  # 10000 bytes, over the test maxFileBytes (8192)
BINARY = bytes(range(256)) * 4
IGNORED: dict[str, str] = {
    "build/out.txt": "NEEDLE in build\n",
    "app.log": "NEEDLE in a log\n",
    "secret.txt": "NEEDLE secret\n",
}


def git_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "HOME": str(home),
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "LC_ALL": "C",
        }
    )
    env.pop("PYTHONPATH", None)
    return env


def git(repo: Path, *args: str, env: dict[str, str], date: str | None = None) -> str:
    e = dict(env)
    if date:
        e["GIT_AUTHOR_DATE"] = e["GIT_COMMITTER_DATE"] = date
    r = subprocess.run(
        ["git", "-c", f"user.name={AUTHOR[0]}", "-c", f"user.email={AUTHOR[1]}", *args],
        cwd=repo,
        env=e,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert r.returncode == 0, f"git {args}: {r.stderr}"
    return r.stdout


def write(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def make_repo(base: Path, env: dict[str, str]) -> Path:
    """A git repo with two commits by AUTHOR, an uncommitted change to app.py, ignored files, a
    binary, a big file, and two symlinks: `escape` (to a folder outside) and `link_to_core`."""
    repo = base / "repo"
    outside = base / "outside"
    outside.mkdir(parents=True)
    (outside / "secret.txt").write_text("NEEDLE outside\n")
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main", env=env)
    write(repo, FILES_V1)
    (repo / "big.txt").write_text(BIG)
    (repo / "data.bin").write_bytes(BINARY)
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", "Initial commit", env=env, date=DATES[0])
    write(repo, FILES_V2)
    git(repo, "add", "-A", env=env)
    git(repo, "commit", "-q", "-m", "Add docs and tool", env=env, date=DATES[1])
    write(repo, IGNORED)
    app = repo / "app.py"
    app.write_text(app.read_text().replace('Engine("demo")', 'Engine("changed")'))
    os.symlink(outside, repo / "escape")
    os.symlink(repo / "pkg" / "core.py", repo / "link_to_core")
    return repo


# -- the framed client ----------------------------------------------------------------------------
def encode(msg: Any) -> bytes:
    body = json.dumps(msg, ensure_ascii=False).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Client:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [PY, str(MAIN)],
            cwd=str(cwd),
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.seen: list[Msg] = []
        self.stderr_lines: list[str] = []
        self.bad_stdout: str | None = None
        self.next_id = 0
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        out = self.proc.stdout
        assert out is not None
        try:
            while True:
                headers: dict[str, str] = {}
                while True:
                    line = out.readline()
                    if not line:
                        self.inbox.put(None)
                        return
                    if line in (b"\r\n", b"\n"):
                        break
                    if not line.endswith(b"\r\n") or b":" not in line:
                        self.bad_stdout = f"not a frame header: {line!r}"
                        self.inbox.put(None)
                        return
                    name, _, value = line.decode("ascii").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = out.read(int(headers["content-length"]))
                self.inbox.put(json.loads(body.decode("utf-8")))
        except Exception as e:  # pragma: no cover
            self.bad_stdout = f"reader crashed: {e!r}"
            self.inbox.put(None)

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip("\n"))

    def send(self, msg: Any) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(encode(msg))
        self.proc.stdin.flush()

    def request(self, method: str, params: Any = None, meta: dict[str, Any] | None = None) -> int:
        self.next_id += 1
        p = dict(params or {})
        if meta is not None:
            p["_meta"] = meta
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": p})
        return self.next_id

    def expect(self, pred: Callable[[Msg], bool], timeout: float = 10.0) -> Msg:
        for i, m in enumerate(self.seen):
            if pred(m):
                return self.seen.pop(i)
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out; unconsumed: {self.seen!r}; stderr: {self.stderr_lines[-20:]}")
            try:
                m = self.inbox.get(timeout=left)
            except queue.Empty:
                continue
            if m is None:
                raise AssertionError(
                    f"plugin stdout ended ({self.bad_stdout or 'eof'}); stderr: {self.stderr_lines[-20:]}"
                )
            if pred(m):
                return m
            self.seen.append(m)

    def response(self, rid: Any, timeout: float = 10.0) -> Msg:
        return self.expect(lambda m: m.get("id") == rid and "method" not in m, timeout)

    def call(self, method: str, params: Any = None, meta: dict[str, Any] | None = None, timeout: float = 10.0) -> Msg:
        return self.response(self.request(method, params, meta), timeout)

    def result(self, method: str, params: Any = None, **kw: Any) -> Any:
        r = self.call(method, params, **kw)
        assert "result" in r, r
        return r["result"]

    def error(self, method: str, params: Any = None, **kw: Any) -> Msg:
        r = self.call(method, params, **kw)
        assert "error" in r, r
        return r["error"]

    def initialize(self, config: Any) -> Msg:
        self.next_id += 1
        rid = self.next_id
        self.send(
            {
                "jsonrpc": "2.0",
                "id": rid,
                "method": "initialize",
                "params": {
                    "protocolVersion": "1.0.0",
                    "daemon": {"version": "0.1.0"},
                    "plugin": {"name": "repoagent", "instanceId": "repoagent#1", "dataDir": "/tmp"},
                    "config": config,
                },
            }
        )
        r = self.response(rid, timeout=15)
        if "result" in r:
            self.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
        return r

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                assert self.proc.stdin is not None
                self.proc.stdin.close()  # stdin closing: the plugin must exit by itself
                self.proc.wait(timeout=3)
            except Exception:
                self.proc.kill()
                self.proc.wait()
        for f in (self.proc.stdout, self.proc.stderr):
            try:
                if f:
                    f.close()
            except Exception:
                pass


# -- fixtures ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def sandbox(tmp_path_factory) -> dict[str, Any]:
    base = tmp_path_factory.mktemp("repoagent")
    home = base / "home"
    home.mkdir()
    env = git_env(home)
    repo = make_repo(base, env)
    return {"base": base, "repo": repo, "outside": base / "outside", "env": env}


@pytest.fixture(scope="session")
def repo(sandbox) -> Path:
    return sandbox["repo"]


def commands() -> dict[str, list[str]]:
    return {
        "git-status": ["git", "status", "--short"],
        "echo": [PY, "-c", "import sys; print(' '.join(sys.argv[1:]))"],
        "pwd": [PY, "-c", "import os; print(os.getcwd())"],
        "fail": [PY, "-c", "import sys; sys.stderr.write('bad'); sys.exit(3)"],
        "sleep": [PY, "-c", "import time; time.sleep(30)"],
        "spew": [PY, "-c", "import sys; sys.stdout.write('x' * 500000)"],
        "missing": ["definitely-not-a-real-program-xyz"],
        "ls": ["ls", "-la"],
        "git-log": ["git", "log", "--oneline"],
        "git-diff": ["git", "diff"],
        "git-any": ["git"],
        "git-config": ["git", "config"],
        "git-grep": ["git", "grep", "-n"],
        "find": ["find"],
        "git-branch": ["git", "branch", "--list"],
        "git-branch-any": ["git", "branch"],
    }


@pytest.fixture(scope="session")
def spawn(sandbox):
    """spawn(config, cwd=repo) -> an initialized Client (closed at the end of the session)."""
    clients: list[Client] = []

    def make(config: Any, cwd: Path | None = None, init: bool = True) -> Client:
        c = Client(cwd or sandbox["repo"], sandbox["env"])
        clients.append(c)
        if init:
            r = c.initialize(config)
            assert "result" in r, r
        return c

    yield make
    for c in clients:
        c.close()


@pytest.fixture(scope="session")
def agent(spawn, repo) -> Client:
    """The read-only plugin over the sample repo (allowWrite left at its default)."""
    return spawn(
        {
            "workspaceRoots": [str(repo)],
            "commands": commands(),
            "maxFileBytes": 8192,
            "commandTimeoutMs": 5000,
            "maxOutputBytes": 65536,
        }
    )


@pytest.fixture(scope="session")
def tight(spawn, repo) -> Client:
    """Small limits: 300 ms command timeout (only for a command that never ends by itself),
    200 output bytes."""
    return spawn(
        {"workspaceRoots": [str(repo)], "commands": commands(), "commandTimeoutMs": 300, "maxOutputBytes": 200}
    )


@pytest.fixture(scope="session")
def capped(spawn, repo) -> Client:
    """200 output bytes and a timeout no healthy command reaches, even on a loaded machine."""
    return spawn(
        {"workspaceRoots": [str(repo)], "commands": commands(), "commandTimeoutMs": 60000, "maxOutputBytes": 200}
    )


def child_pids(pid: int) -> list[int]:
    """The live child processes of process ``pid`` (Linux /proc)."""
    kids: list[int] = []
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(k) for k in f.read().split()]
        except FileNotFoundError:  # the thread ended since the listing (the SDK has one per call)
            continue
    return kids


def wait_until(pred: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Polls pred (bounded in count and time) until it holds; returns its last value."""
    end = time.monotonic() + timeout
    for _ in range(10000):
        if pred():
            return True
        if time.monotonic() > end:
            break
        time.sleep(0.01)
    return pred()
