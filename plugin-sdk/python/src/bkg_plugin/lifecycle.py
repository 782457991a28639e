"""The lifecycle: the ``initialize`` handshake (protocol version check, activate hooks), then
``shutdown``/``exit`` (grace period, cancelling in-flight calls, deactivate hooks) (a mixin of
``_Runtime``)."""

from __future__ import annotations

import asyncio
import inspect
import traceback
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .context import LifecycleContext
from .errors import _UNSET, ErrorCodes, PluginError
from .methods import _kind, _positional_arity
from .stdio import _diag

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import _Runtime

PROTOCOL_VERSION = "1.0.0"
PROTOCOL_MAJOR = 1


def _protocol_major(version: Any) -> int | None:
    if not isinstance(version, str):
        return None
    head = version.strip().lstrip("v").split(".")[0]
    return int(head) if head.isdigit() else None


class _Lifecycle:
    async def _initialize(self: _Runtime, rid: Any, params: Any) -> None:
        if self.state not in ("new", "mismatch"):
            self.reply_error(rid, ErrorCodes.InvalidRequest, "initialize was already received")
            return
        p = params if isinstance(params, dict) else {}
        version = p.get("protocolVersion")
        if _protocol_major(version) != PROTOCOL_MAJOR:
            self.state = "mismatch"
            self.reply_error(
                rid,
                ErrorCodes.ProtocolMismatch,
                f"protocol mismatch: the daemon speaks {version!r}, this plugin speaks {PROTOCOL_VERSION}",
                {"daemon": version, "plugin": PROTOCOL_VERSION},
            )
            return
        self.protocol_version = version
        info = p.get("plugin") if isinstance(p.get("plugin"), dict) else {}
        if isinstance(info.get("instanceId"), str):
            self.instance_id = info["instanceId"]
        if isinstance(info.get("dataDir"), str):
            self.data_dir = info["dataDir"]
        daemon = p.get("daemon") if isinstance(p.get("daemon"), dict) else {}
        self.daemon_version = daemon.get("version")
        cfg = p.get("config")
        self.config = cfg if cfg is not None else {}
        self.state = "activating"
        try:
            for hook in self.plugin._activate:
                await self._call_hook(hook)
        except PluginError as e:
            self.state = "failed"
            self.reply_error(rid, e.code, f"activate failed: {e.message}", e.data if e.has_data else _UNSET)
            return
        except Exception as e:  # any hook error fails initialize with its message
            self.state = "failed"
            _diag("activate failed:\n" + traceback.format_exc())
            self.reply_error(rid, ErrorCodes.PluginError, f"activate failed: {e or type(e).__name__}")
            return
        self.activated = True
        self.state = "ready"
        self.reply(rid, self.plugin.describe())

    async def _shutdown(self: _Runtime, rid: Any) -> None:
        if self.shutdown_task is None:
            assert self.loop is not None
            self.shutdown_task = self.loop.create_task(self._stop("shutdown", self.plugin.shutdown_grace, 3.0))
        await asyncio.shield(self.shutdown_task)
        self.reply(rid, None)

    async def _stop(self: _Runtime, reason: str, grace: float, deactivate_timeout: float) -> None:
        self.state = "stopping"
        outers = [c.outer for c in self.inflight.values() if c.outer is not None]
        if outers and grace > 0:
            await asyncio.wait(outers, timeout=grace)
        for call in list(self.inflight.values()):
            self._cancel_call(call, reason)
        outers = [c.outer for c in self.inflight.values() if c.outer is not None]
        if outers:
            await asyncio.wait(outers, timeout=1.0)
        await self._deactivate(deactivate_timeout)

    async def _deactivate(self: _Runtime, timeout: float) -> None:
        if self.deactivated or not self.activated:
            return
        self.deactivated = True
        for hook in self.plugin._deactivate:
            try:
                await asyncio.wait_for(self._call_hook(hook), timeout)
            except asyncio.TimeoutError:
                _diag(f"deactivate hook {getattr(hook, '__name__', hook)!r} timed out after {timeout}s")
            except Exception:  # one failing hook must not stop the shutdown
                _diag("deactivate hook failed:\n" + traceback.format_exc())

    async def _teardown(self: _Runtime) -> None:
        try:
            if self.shutdown_task is not None:
                await asyncio.wait([self.shutdown_task], timeout=1.5)
            await self._stop("exit", 0.0, 1.5)
        finally:
            for fut in self.pending_out.values():
                fut.cancel()
            self.writer.close(1.0)

    async def _call_hook(self: _Runtime, hook: Callable[..., Any]) -> None:
        args = (LifecycleContext(self),)[: _positional_arity(hook)]
        if _kind(hook) == "async":
            await hook(*args)
            return
        r = await self._in_thread(hook, *args)
        if inspect.isawaitable(r):
            await r
