"""The runtime serving one ``Plugin`` on stdio: its state, the message plumbing (send, reply, emit)
and the main coroutine. What it does with messages lives in the mixins it is made of: dispatch.py
(routing), lifecycle.py (handshake and shutdown), calls.py (running handlers, cancellation,
deadlines) and outbound.py (``bkg/call`` to the daemon)."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .calls import _Call, _Calls
from .dispatch import _Dispatch
from .errors import _UNSET, ErrorCodes
from .framing import encode_body
from .lifecycle import _Lifecycle
from .outbound import _Outbound
from .transport import _read_frames, _Writer

if TYPE_CHECKING:  # pragma: no cover
    from .plugin import Plugin


class _Runtime(_Dispatch, _Lifecycle, _Calls, _Outbound):
    def __init__(self, plugin: Plugin, in_fd: int, out_fd: int) -> None:
        self.plugin = plugin
        self.in_fd = in_fd
        self.loop: asyncio.AbstractEventLoop | None = None
        # new -> activating -> ready -> stopping; or mismatch / failed
        self.state = "new"
        self.initialized = False
        self.config: dict[str, Any] = {}
        self.data_dir: str | None = os.environ.get("BKG_DATA_DIR")
        self.instance_id: str | None = os.environ.get("BKG_INSTANCE_ID")
        self.daemon_version: str | None = None
        self.protocol_version: str | None = None
        self.inflight: dict[Any, _Call] = {}
        self.background: set[asyncio.Task[Any]] = set()
        self.pending_out: dict[str, asyncio.Future[Any]] = {}
        self.next_out = 0
        self.held_emits: list[dict[str, Any]] = []
        self.emit_lock = threading.Lock()
        self.activated = False
        self.deactivated = False
        self.shutdown_task: asyncio.Task[Any] | None = None
        self.done: asyncio.Future[int] | None = None
        self.writer = _Writer(out_fd, self._writer_broken)

    # -- plumbing -----------------------------------------------------------------------------
    async def main(self) -> int:
        self.loop = asyncio.get_running_loop()
        self.done = self.loop.create_future()
        threading.Thread(target=self._read_loop, name="bkg-reader", daemon=True).start()
        code = await self.done
        await self._teardown()
        return code

    def finish(self, code: int) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_result(code)

    def _writer_broken(self) -> None:
        self._post(self.finish, 0)

    def _post(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self.loop
        if loop is None:
            return
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # loop closed
            pass

    def _read_loop(self) -> None:
        _read_frames(self.in_fd, lambda kind, payload: self._post(self._on_input, kind, payload))

    def send(self, msg: dict[str, Any]) -> None:
        self.writer.send(msg)

    def notify(self, method: str, params: Any) -> None:
        self.send({"jsonrpc": "2.0", "method": method, "params": params})

    def reply(self, rid: Any, result: Any) -> None:
        try:
            self.send({"jsonrpc": "2.0", "id": rid, "result": result})
        except (TypeError, ValueError, RecursionError) as e:
            self.reply_error(rid, ErrorCodes.PluginError, f"the handler's result is not JSON-serialisable: {e}")

    def reply_error(self, rid: Any, code: int, message: str, data: Any = _UNSET) -> None:
        err: dict[str, Any] = {"code": int(code), "message": message}
        if data is not _UNSET:
            err["data"] = data
        try:
            self.send({"jsonrpc": "2.0", "id": rid, "error": err})
        except (TypeError, ValueError, RecursionError):
            err.pop("data", None)
            err["message"] = f"{message} (error data was not JSON-serialisable)"
            self.send({"jsonrpc": "2.0", "id": rid, "error": err})

    def emit(self, params: dict[str, Any]) -> None:
        with self.emit_lock:
            if not self.initialized:
                encode_body(params)  # fail now, in the caller, if it cannot be sent
                self.held_emits.append(params)
                return
        self.notify("bkg/emit", params)

    def _set_initialized(self) -> None:
        with self.emit_lock:
            if self.initialized:
                return
            self.initialized = True
            held, self.held_emits = self.held_emits, []
        for p in held:
            self.notify("bkg/emit", p)
