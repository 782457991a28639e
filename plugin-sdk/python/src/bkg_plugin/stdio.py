"""The process's stdio: the protocol takes private copies of fds 0 and 1, so user code printing or
reading stdin cannot corrupt the stream; diagnostics go to stderr; the exit path flushes and never
waits for a stuck worker thread."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import threading
from typing import NoReturn


def _diag(msg: str) -> None:
    with contextlib.suppress(Exception):  # stderr gone: nowhere left to say it
        sys.stderr.write(f"[bkg_plugin] {msg}\n")
        sys.stderr.flush()


_stdio_lock = threading.Lock()
_protocol_out_fd: int | None = None
_protocol_in_fd: int | None = None


def _protect_stdout() -> int:
    """Keep a private copy of fd 1 for the protocol; point fd 1 and ``sys.stdout`` at stderr, so
    print(), os.write(1, ...) and child processes cannot corrupt the stream. Idempotent."""
    global _protocol_out_fd
    with _stdio_lock:
        if _protocol_out_fd is None:
            with contextlib.suppress(Exception):
                sys.stdout.flush()
            out_fd = os.dup(1)
            try:
                os.dup2(2, 1)
            except OSError:
                null = os.open(os.devnull, os.O_WRONLY)
                os.dup2(null, 1)
                os.close(null)
            sys.stdout = sys.stderr
            _protocol_out_fd = out_fd
        return _protocol_out_fd


def _take_stdio() -> tuple[int, int]:
    """The protocol's fds: private copies of 0 and 1. Afterwards fd 0 reads /dev/null (user code
    reading stdin cannot steal frames) and fd 1 is stderr."""
    global _protocol_in_fd
    out_fd = _protect_stdout()
    with _stdio_lock:
        if _protocol_in_fd is None:
            _protocol_in_fd = os.dup(0)
            try:
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.close(null)
            except OSError:  # pragma: no cover
                pass
        return _protocol_in_fd, out_fd


def _close_loop(loop: asyncio.AbstractEventLoop) -> None:
    # Best effort on the way out: a failure here must not change the exit code.
    try:
        with contextlib.suppress(Exception):
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for t in tasks:
                t.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=1.0))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(asyncio.wait([loop.create_task(loop.shutdown_default_executor())], timeout=0.5))
    finally:
        with contextlib.suppress(Exception):
            loop.close()


def _exit(code: int) -> NoReturn:
    for f in (sys.stderr, sys.__stdout__):
        with contextlib.suppress(Exception):
            f.flush()
    busy = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if busy:  # a worker thread is stuck in user code: do not wait for it (exit within 2 s)
        os._exit(code)
    sys.exit(code)
