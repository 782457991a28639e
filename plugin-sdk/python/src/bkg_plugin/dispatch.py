"""Routing incoming messages: JSON-RPC validation, then requests, notifications and responses to
the part of the runtime that handles them (a mixin of ``_Runtime``)."""

from __future__ import annotations

import time
import traceback
from typing import TYPE_CHECKING, Any

from .errors import ErrorCodes
from .lifecycle import PROTOCOL_VERSION
from .stdio import _diag

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import _Runtime


class _Dispatch:
    def _on_input(self: _Runtime, kind: str, payload: Any) -> None:
        try:
            if kind == "eof":
                self.finish(0)
            elif kind == "bad":
                _diag(payload)
                self.reply_error(None, ErrorCodes.ParseError, payload)
            else:
                self._dispatch(payload)
        except Exception:  # never let one message take the loop down
            _diag("internal error while handling a message:\n" + traceback.format_exc())

    def _dispatch(self: _Runtime, msg: Any) -> None:
        if not isinstance(msg, dict):
            what = "batches are not supported" if isinstance(msg, list) else "a message must be a JSON object"
            self.reply_error(None, ErrorCodes.InvalidRequest, what)
            return
        has_id = "id" in msg
        rid = msg.get("id")
        valid_id = isinstance(rid, (int, str)) and not isinstance(rid, bool)
        if msg.get("jsonrpc") != "2.0":
            if has_id:
                self.reply_error(rid if valid_id else None, ErrorCodes.InvalidRequest, 'jsonrpc must be "2.0"')
            return
        method = msg.get("method")
        if method is None:
            if has_id and ("result" in msg or "error" in msg):
                self._on_response(msg)
            else:
                self.reply_error(
                    rid if valid_id else None, ErrorCodes.InvalidRequest, "not a request, notification or response"
                )
            return
        if not isinstance(method, str):
            if has_id:
                self.reply_error(rid if valid_id else None, ErrorCodes.InvalidRequest, "method must be a string")
            return
        params = msg.get("params")
        if not has_id:
            self._on_notification(method, params)
        elif not valid_id:
            self.reply_error(None, ErrorCodes.InvalidRequest, "id must be an integer or a string")
        else:
            self._on_request(rid, method, params)

    def _spawn(self: _Runtime, coro: Any) -> None:
        assert self.loop is not None
        task = self.loop.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _on_request(self: _Runtime, rid: Any, method: str, params: Any) -> None:
        if method == "initialize":
            self._spawn(self._initialize(rid, params))
        elif method == "bkg/ping":
            self.reply(rid, {"now": int(time.time() * 1000)})
        elif method == "shutdown":
            self._spawn(self._shutdown(rid))
        elif self.state == "ready":
            self._start_call(rid, method, params)
        elif self.state == "mismatch":
            self.reply_error(
                rid, ErrorCodes.ProtocolMismatch, f"protocol mismatch: this plugin speaks {PROTOCOL_VERSION}"
            )
        elif self.state == "stopping":
            self.reply_error(rid, ErrorCodes.PluginUnavailable, "the plugin is shutting down")
        elif self.state == "failed":
            self.reply_error(rid, ErrorCodes.PluginUnavailable, "the plugin failed to activate")
        else:
            self.reply_error(
                rid,
                ErrorCodes.PluginUnavailable,
                f"the plugin is not initialized yet (got {method!r} before initialize)",
            )

    def _on_notification(self: _Runtime, method: str, params: Any) -> None:
        if method == "initialized":
            self._set_initialized()
        elif method == "exit":
            self.finish(0)
        elif method == "$/cancelRequest":
            rid = params.get("id") if isinstance(params, dict) else None
            call = self.inflight.get(rid) if isinstance(rid, (int, str)) and not isinstance(rid, bool) else None
            if call is not None:
                self._cancel_call(call, "cancelled")
        elif method.startswith(("$/", "bkg/")):
            pass
        elif self.state == "ready" and method in self.plugin._methods:
            self._start_call(None, method, params, notification=True)

    def _on_response(self: _Runtime, msg: dict[str, Any]) -> None:
        fut = self.pending_out.pop(msg.get("id"), None)  # type: ignore[arg-type]
        if fut is None:
            _diag(f"ignoring a response for unknown id {msg.get('id')!r}")
        elif not fut.done():
            fut.set_result(msg)
