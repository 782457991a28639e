"""Running method calls: one task per call, handler kinds (async, sync in a thread, generators
streaming progress), cancellation and deadlines, and the error answer when a handler fails (a
mixin of ``_Runtime``)."""

from __future__ import annotations

import asyncio
import inspect
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .context import Context
from .errors import _UNSET, ErrorCodes, PluginError
from .methods import MethodSpec
from .stdio import _diag

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import _Runtime

_CANCEL_MESSAGES = {
    "cancelled": "request cancelled",
    "deadline": "deadline passed",
    "shutdown": "request cancelled: the plugin is shutting down",
    "exit": "request cancelled: the plugin is exiting",
}


@dataclass
class _Call:
    id: Any
    ctx: Context
    notification: bool = False
    started: bool = False
    inner: asyncio.Future[Any] | None = None
    outer: asyncio.Task[Any] | None = None
    timer: asyncio.TimerHandle | None = None


class _Calls:
    def _start_call(self: _Runtime, rid: Any, method: str, params: Any, notification: bool = False) -> None:
        assert self.loop is not None
        spec = self.plugin._methods.get(method)
        if spec is None:
            if not notification:
                names = list(self.plugin._methods)
                self.reply_error(
                    rid,
                    ErrorCodes.MethodNotFound,
                    f"unknown method {method!r}; {self.plugin.name} provides: "
                    f"{', '.join(names) if names else '(nothing)'}",
                    {"methods": names},
                )
            return
        if not notification and rid in self.inflight:
            self.reply_error(rid, ErrorCodes.InvalidRequest, f"request id {rid!r} is already in flight")
            return
        if params is None:
            params = {}
        if not isinstance(params, dict):
            if not notification:
                self.reply_error(rid, ErrorCodes.InvalidParams, "params must be an object")
            return
        self._set_initialized()  # a call means the daemon considers us ready
        meta = params.get("_meta")
        clean = {k: v for k, v in params.items() if k != "_meta"}
        ctx = Context(self, rid, method, meta if isinstance(meta, dict) else {}, spec.streaming)
        call = _Call(rid, ctx, notification)
        if not notification:
            self.inflight[rid] = call
        # The handler's task exists from the start, so a cancel arriving in the same loop
        # iteration still reaches it (see _cancel_call).
        call.inner = self.loop.create_task(self._invoke(spec, clean, call))
        call.outer = self.loop.create_task(self._serve(call, spec))
        if notification:
            self.background.add(call.outer)
            call.outer.add_done_callback(self.background.discard)

    def _cancel_call(self: _Runtime, call: _Call, reason: str) -> None:
        inner = call.inner
        if inner is None or inner.done():
            return
        call.ctx._mark_cancelled(reason)
        if call.started:
            inner.cancel()
        else:  # let the handler start, so it observes the cancellation itself
            assert self.loop is not None
            self.loop.call_soon(inner.cancel)

    async def _serve(self: _Runtime, call: _Call, spec: MethodSpec) -> None:
        assert self.loop is not None and call.inner is not None
        ctx = call.ctx
        if ctx.deadline is not None and not call.notification:
            call.timer = self.loop.call_later(max(0.0, ctx.time_left() or 0.0), self._cancel_call, call, "deadline")
        answer = not call.notification
        try:
            result = await call.inner
        except asyncio.CancelledError:
            if not ctx.cancelled:
                raise
            if answer:
                self.reply_error(
                    call.id,
                    ErrorCodes.RequestCancelled,
                    _CANCEL_MESSAGES.get(ctx.cancel_reason or "", "request cancelled"),
                )
        except PluginError as e:
            if answer:
                self.reply_error(call.id, e.code, e.message, e.data if e.has_data else _UNSET)
        except Exception as e:  # any handler error becomes the call's error answer
            _diag(f"method {spec.name!r} raised:\n" + traceback.format_exc())
            if answer:
                self.reply_error(
                    call.id, ErrorCodes.PluginError, str(e) or type(e).__name__, {"type": type(e).__name__}
                )
        else:
            if answer:
                self.reply(call.id, result)
        finally:
            ctx._finished = True
            if call.timer is not None:
                call.timer.cancel()
            if answer and self.inflight.get(call.id) is call:
                del self.inflight[call.id]

    async def _invoke(self: _Runtime, spec: MethodSpec, params: dict[str, Any], call: _Call) -> Any:
        call.started = True
        ctx = call.ctx
        args = spec.args(params, ctx)
        result: Any = None
        if spec.kind == "asyncgen":
            agen = spec.handler(*args)
            try:
                async for value in agen:
                    ctx.progress(value)
            finally:
                await agen.aclose()
        elif spec.kind == "gen":

            def drain() -> None:
                gen = spec.handler(*args)
                try:
                    for value in gen:
                        if ctx.cancelled:
                            break
                        ctx.progress(value)
                finally:
                    gen.close()

            if spec.thread:
                await self._in_thread(drain)
            else:
                drain()
        elif spec.kind == "async":
            result = await spec.handler(*args)
        else:
            result = await self._in_thread(spec.handler, *args) if spec.thread else spec.handler(*args)
            if inspect.isawaitable(result):
                result = await result
        if spec.streaming:
            if ctx.progress_token is None:
                return list(ctx._chunks)
            return result if result is not None else ctx.result
        return result

    def _in_thread(self: _Runtime, fn: Callable[..., Any], *args: Any) -> asyncio.Future[Any]:
        """Run fn in a daemon thread (one per call, so a stuck handler never blocks exit)."""
        assert self.loop is not None
        loop = self.loop
        fut: asyncio.Future[Any] = loop.create_future()

        def settle(ok: bool, value: Any) -> None:
            if fut.done():
                return
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

        def target() -> None:
            try:
                value = fn(*args)
            except BaseException as e:  # delivered to the awaiting task
                ok, value = False, e
            else:
                ok = True
            try:
                loop.call_soon_threadsafe(settle, ok, value)
            except RuntimeError:  # loop closed: nobody is waiting
                pass

        threading.Thread(target=target, name=f"bkg-call-{getattr(fn, '__name__', 'fn')}", daemon=True).start()
        return fut
