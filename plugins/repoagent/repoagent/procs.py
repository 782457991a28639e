"""Running child processes without a shell, with a timeout, output caps and cancellation."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass
class RunResult:
    stdout: bytes
    stderr: bytes
    exit_code: int | None
    stdout_truncated: bool
    stderr_truncated: bool
    timed_out: bool
    cancelled: bool
    elapsed_ms: int

    @property
    def truncated(self) -> bool:
        return self.stdout_truncated or self.stderr_truncated

    def text(self, which: str = "stdout") -> str:
        return _decode(self.stdout if which == "stdout" else self.stderr)


def _decode(b: bytes) -> str:
    return b.decode("utf-8", errors="replace")


class _Capped:
    """Drains a pipe to its end, keeping the first ``limit`` bytes (so the child never blocks)."""

    def __init__(self, pipe, limit: int) -> None:
        self.buf = bytearray()
        self.limit = limit
        self.truncated = False
        self.thread = threading.Thread(target=self._run, args=(pipe,), daemon=True)
        self.thread.start()

    def _run(self, pipe) -> None:
        try:
            while True:
                chunk = pipe.read1(65536) if hasattr(pipe, "read1") else pipe.read(65536)
                if not chunk:
                    break
                room = self.limit - len(self.buf)
                if room > 0:
                    self.buf += chunk[:room]
                if len(chunk) > max(room, 0):
                    self.truncated = True
        except (OSError, ValueError):
            pass
        finally:
            try:
                pipe.close()
            except OSError:
                pass


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError, OSError):
        try:
            proc.kill()
        except OSError:
            pass


def run_capped(
    argv: Sequence[str],
    cwd: str,
    *,
    timeout_s: float,
    max_bytes: int,
    cancelled: Callable[[], bool] = lambda: False,
    env: dict[str, str] | None = None,
) -> RunResult:
    """Run argv (no shell) in cwd. On timeout or cancellation the child's whole process group is
    killed. stdout and stderr are each capped at max_bytes (the rest is read and dropped).
    Raises FileNotFoundError / PermissionError when argv[0] cannot be started."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    start = time.monotonic()
    proc = subprocess.Popen(
        list(argv),
        cwd=cwd,
        env=full_env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: a timeout kills its children too
    )
    out = _Capped(proc.stdout, max_bytes)
    err = _Capped(proc.stderr, max_bytes)
    timed_out = was_cancelled = False
    deadline = start + timeout_s
    while True:
        try:
            proc.wait(timeout=0.02)
            break
        except subprocess.TimeoutExpired:
            pass
        if cancelled():
            was_cancelled = True
            _kill_group(proc)
        elif time.monotonic() >= deadline:
            timed_out = True
            _kill_group(proc)
        if timed_out or was_cancelled:
            try:
                proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                pass
            break
    # grandchildren may still hold the pipes open: do not wait for them forever
    if timed_out or was_cancelled:
        _kill_group(proc)
    for c in (out, err):
        c.thread.join(timeout=1.0 if (timed_out or was_cancelled) else 5.0)
    return RunResult(
        stdout=bytes(out.buf),
        stderr=bytes(err.buf),
        exit_code=proc.returncode if not (timed_out or was_cancelled) else None,
        stdout_truncated=out.truncated,
        stderr_truncated=err.truncated,
        timed_out=timed_out,
        cancelled=was_cancelled,
        elapsed_ms=int((time.monotonic() - start) * 1000),
    )
