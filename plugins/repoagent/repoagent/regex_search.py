"""Regex matching for repo.search under a time budget, in a child process that can be killed.

The budget (``regexTimeoutMs``) counts the time the child spends matching, summed over the files
of one call; reading and walking the tree are not counted, nor is the child's start-up. When the
budget is spent, or the call is cancelled, the child is killed (its own process group) and the
plugin's other calls never waited on it: this thread only sleeps in ``select``.
"""

from __future__ import annotations

import json
import os
import select
import signal
import struct
import subprocess
import sys
import time
from collections.abc import Callable

from bkg_plugin import ErrorCodes, PluginError

from .workspace import invalid

WORKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "regex_worker.py")
STARTUP_TIMEOUT_S = 30.0  # a loaded machine can be slow to start Python; not part of the budget
POLL_S = 0.05  # how often a wait looks at cancellation
_LEN = struct.Struct(">I")


class _Stopped(Exception):
    """The child did not answer in time (``budget``) or the call was cancelled (``cancelled``)."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class RegexSearch:
    """One child process matching one compiled pattern, for the duration of one call.

    Not thread-safe (one call, one thread). ``close()`` is idempotent and always kills the child;
    call it in a ``finally``."""

    def __init__(
        self, pattern: str, flags: int, *, budget_ms: int, max_chars: int, cancelled: Callable[[], bool]
    ) -> None:
        self.pattern = pattern
        self.budget_ms = budget_ms
        self.spent_s = 0.0
        self.cancelled = cancelled
        self.proc = subprocess.Popen(
            [sys.executable, "-I", "-S", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
            start_new_session=True,
        )
        try:
            self._send(json.dumps({"pattern": pattern, "flags": flags, "maxChars": max_chars}).encode())
            reply = json.loads(self._receive(time.monotonic() + STARTUP_TIMEOUT_S, "start"))
        except _Stopped as e:
            self.close()
            if e.why == "start":
                raise PluginError(
                    ErrorCodes.PluginError, f"the regex worker did not start within {STARTUP_TIMEOUT_S:.0f} s"
                ) from None
            raise
        except BaseException:
            self.close()
            raise
        if "error" in reply:
            self.close()
            raise invalid(f"invalid regular expression {pattern!r}: {reply['error']}", query=pattern)

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except OSError:
                self.proc.kill()
        self.proc.wait()
        for f in (self.proc.stdin, self.proc.stdout):
            if f is not None:
                f.close()

    def search(self, data: bytes, want: int, rel: str) -> list[tuple[int, int, str]] | None:
        """The first ``want`` matching lines of one file as (line, column, text); None when the
        call was cancelled. Raises PluginError (-33010) naming the pattern, the budget and the
        file when the budget is spent; the child is then gone."""
        left = self.budget_ms / 1000.0 - self.spent_s
        start = time.monotonic()
        try:
            self._send(_LEN.pack(want) + data)
            reply = self._receive(start + max(left, 0.0), "budget")
        except _Stopped as e:
            self.close()
            if e.why == "cancelled":
                return None
            raise PluginError(
                ErrorCodes.PluginError,
                f"regular expression {self.pattern!r} used up its time budget of {self.budget_ms} ms "
                f"(regexTimeoutMs) while searching {rel!r} and was stopped; it probably backtracks "
                "catastrophically (nested quantifiers such as (a+)+): simplify it or search a smaller path",
                {"query": self.pattern, "budgetMs": self.budget_ms, "path": rel},
            ) from None
        finally:
            self.spent_s += time.monotonic() - start
        return [(int(n), int(c), str(t)) for n, c, t in json.loads(reply)]

    # -- framing ------------------------------------------------------------------------------
    def _send(self, payload: bytes) -> None:
        assert self.proc.stdin is not None
        view = memoryview(_LEN.pack(len(payload)) + payload)
        try:
            while view:  # a raw pipe write may be partial
                view = view[self.proc.stdin.write(view) :]
        except (BrokenPipeError, OSError):
            raise PluginError(ErrorCodes.PluginError, "the regex worker exited unexpectedly") from None

    def _receive(self, deadline: float, why: str) -> bytes:
        head = self._read(_LEN.size, deadline, why)
        return self._read(_LEN.unpack(head)[0], deadline, why)

    def _read(self, n: int, deadline: float, why: str) -> bytes:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        buf = bytearray()
        while len(buf) < n:
            if self.cancelled():
                raise _Stopped("cancelled")
            left = deadline - time.monotonic()
            if left <= 0:
                raise _Stopped(why)
            ready, _, _ = select.select([fd], [], [], min(left, POLL_S))
            if not ready:
                continue
            chunk = os.read(fd, n - len(buf))
            if not chunk:
                raise PluginError(ErrorCodes.PluginError, "the regex worker exited unexpectedly")
            buf += chunk
        return bytes(buf)
