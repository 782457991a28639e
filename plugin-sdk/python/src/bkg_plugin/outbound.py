"""``bkg/call``: calls the plugin makes to the daemon (``ctx.call``), matched to their responses
by id; cancelling the awaiting task cancels the call at the daemon too (a mixin of ``_Runtime``)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from .errors import ErrorCodes, PluginError

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import _Runtime


class _Outbound:
    async def call_out(
        self: _Runtime,
        method: str,
        params: Any,
        timeout_ms: int | None,
        default_timeout_ms: int | None,
        parent: str | None = None,
        traceparent: str | None = None,
    ) -> Any:
        if self.loop is None or asyncio.get_running_loop() is not self.loop:
            raise RuntimeError("ctx.call() must be awaited on the plugin's event loop (use call_sync from threads)")
        if not self.initialized:
            raise PluginError(ErrorCodes.InternalError, "bkg/call is allowed only after 'initialized'")
        if not isinstance(method, str) or not method:
            raise ValueError("method must be a non-empty string like 'echo.reverse'")
        self.next_out += 1
        oid = f"c{self.next_out}"
        body: dict[str, Any] = {"method": method, "params": dict(params) if params is not None else {}}
        given = [x for x in (timeout_ms, default_timeout_ms) if x is not None]
        if given:
            body["timeoutMs"] = int(min(given))
        if parent is not None:
            body["parent"] = parent  # the daemon links deadline, cancellation and trace to it
        if traceparent is not None:
            body["traceparent"] = traceparent
        fut: asyncio.Future[Any] = self.loop.create_future()
        self.pending_out[oid] = fut
        try:
            self.send({"jsonrpc": "2.0", "id": oid, "method": "bkg/call", "params": body})
            reply = await fut
        except asyncio.CancelledError:
            if self.pending_out.pop(oid, None) is not None:
                self.notify("$/cancelRequest", {"id": oid})  # cancellation goes both ways
            raise
        finally:
            self.pending_out.pop(oid, None)
        err = reply.get("error")
        if err is not None:
            if not isinstance(err, dict):
                raise PluginError(ErrorCodes.InternalError, f"malformed error from bkg/call: {err!r}")
            code = err.get("code")
            if not isinstance(code, int) or isinstance(code, bool):
                code = ErrorCodes.InternalError
            message = str(err.get("message", ""))
            if "data" in err:
                raise PluginError(code, message, err["data"])
            raise PluginError(code, message)
        return reply.get("result")
