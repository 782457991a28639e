"""A tiny framed JSON-RPC client that plays the daemon against a plugin subprocess."""

from __future__ import annotations

import contextlib
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
ROOT = HERE.parent
CONFORMANCE = ROOT / "examples" / "conformance_plugin.py"
SDK_TEST_PLUGIN = HERE / "plugins" / "sdk_test_plugin.py"
# The interpreter that runs the plugins (the SDK supports 3.10+): BKG_TEST_PYTHON=python3.10 ...
PLUGIN_PYTHON = os.environ.get("BKG_TEST_PYTHON") or sys.executable

Msg = dict[str, Any]


def encode(msg: Any) -> bytes:
    body = json.dumps(msg, ensure_ascii=False).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Client:
    def __init__(self, script: Path, env: dict[str, str] | None = None, data_dir: str | None = None) -> None:
        full_env = dict(os.environ)
        full_env.pop("PYTHONPATH", None)  # the scripts must find the SDK on their own
        full_env["PYTHONUNBUFFERED"] = "1"
        if data_dir:
            full_env["BKG_DATA_DIR"] = data_dir
        full_env.update(env or {})
        self.proc = subprocess.Popen(
            [PLUGIN_PYTHON, str(script)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=full_env,
            cwd=str(ROOT),
            start_new_session=True,
        )
        self.inbox: queue.Queue[Any] = queue.Queue()
        self.seen: list[Any] = []  # received, not yet consumed
        self.raw_stdout = bytearray()  # everything the plugin wrote to stdout
        self.stderr_lines: list[str] = []
        self.next_id = 100
        self.bad_stdout: str | None = None
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- io -------------------------------------------------------------------------------------
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
                    self.raw_stdout += line
                    if line in (b"\r\n", b"\n"):
                        break
                    if not line.endswith(b"\r\n") or b":" not in line:
                        self.bad_stdout = f"not a frame header: {line!r}"
                        self.inbox.put(None)
                        return
                    name, _, value = line.decode("ascii").partition(":")
                    headers[name.strip().lower()] = value.strip()
                if "content-length" not in headers:
                    self.bad_stdout = f"frame without Content-Length: {headers}"
                    self.inbox.put(None)
                    return
                body = out.read(int(headers["content-length"]))
                self.raw_stdout += body
                self.inbox.put(json.loads(body.decode("utf-8")))
        except Exception as e:  # pragma: no cover  # reported as bad_stdout, failing the test
            self.bad_stdout = f"reader crashed: {e!r}"
            self.inbox.put(None)

    def _read_stderr(self) -> None:
        err = self.proc.stderr
        assert err is not None
        for line in err:
            self.stderr_lines.append(line.decode("utf-8", "replace").rstrip("\n"))

    def send(self, msg: Any) -> None:
        self.send_raw(encode(msg))

    def send_raw(self, data: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()

    # -- messages -------------------------------------------------------------------------------
    def request(self, method: str, params: Any = None, meta: dict[str, Any] | None = None, rid: Any = None) -> Any:
        if rid is None:
            self.next_id += 1
            rid = self.next_id
        msg: Msg = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None or meta is not None:
            p = dict(params or {})
            if meta is not None:
                p["_meta"] = meta
            msg["params"] = p
        self.send(msg)
        return rid

    def notify(self, method: str, params: Any = None) -> None:
        msg: Msg = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            msg["params"] = params
        self.send(msg)

    def expect(self, pred: Callable[[Msg], bool], timeout: float = 5.0) -> Msg:
        """The first received message matching pred (consumed), waiting up to timeout."""
        for i, m in enumerate(self.seen):
            if pred(m):
                return self.seen.pop(i)
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    f"timed out; unconsumed messages: {self.seen!r}; stderr: {self.stderr_lines[-20:]}"
                )
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

    def response(self, rid: Any, timeout: float = 5.0) -> Msg:
        return self.expect(lambda m: m.get("id") == rid and "method" not in m, timeout)

    def call(self, method: str, params: Any = None, meta: dict[str, Any] | None = None, timeout: float = 5.0) -> Msg:
        return self.response(self.request(method, params, meta), timeout)

    def result(self, method: str, params: Any = None, meta: dict[str, Any] | None = None, timeout: float = 5.0) -> Any:
        r = self.call(method, params, meta, timeout)
        assert "result" in r, r
        return r["result"]

    def error(self, method: str, params: Any = None, meta: dict[str, Any] | None = None, timeout: float = 5.0) -> Msg:
        r = self.call(method, params, meta, timeout)
        assert "error" in r, r
        return r["error"]

    def notification(self, method: str, timeout: float = 5.0) -> Msg:
        return self.expect(lambda m: m.get("method") == method and "id" not in m, timeout)

    def drain(self, wait: float = 0.2) -> list[Msg]:
        end = time.monotonic() + wait
        while True:
            left = end - time.monotonic()
            if left <= 0:
                break
            try:
                m = self.inbox.get(timeout=left)
            except queue.Empty:
                break
            if m is None:
                break
            self.seen.append(m)
        out, self.seen = self.seen, []
        return out

    # -- lifecycle ------------------------------------------------------------------------------
    def initialize(
        self, version: str = "1.0.0", config: Any = None, data_dir: str = "/tmp", initialized: bool = True
    ) -> Msg:
        rid = self.request(
            "initialize",
            {
                "protocolVersion": version,
                "daemon": {"version": "0.1.0"},
                "plugin": {"name": "test", "instanceId": "test#1", "dataDir": data_dir},
                "config": {} if config is None else config,
            },
            rid=0,
        )
        r = self.response(rid, timeout=10)
        if initialized and "result" in r:
            self.notify("initialized", {})
        return r

    def wait_exit(self, timeout: float = 5.0) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            with contextlib.suppress(Exception):
                if f:
                    f.close()


@pytest.fixture
def spawn():
    clients: list[Client] = []

    def make(script: Path = CONFORMANCE, **kw: Any) -> Client:
        c = Client(script, **kw)
        clients.append(c)
        return c

    yield make
    for c in clients:
        c.kill()


@pytest.fixture
def plugin(spawn) -> Client:
    """A started, initialized conformance plugin."""
    c = spawn(CONFORMANCE)
    r = c.initialize()
    assert "result" in r, r
    return c
