"""Contexts handed to handlers and lifecycle hooks."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import ErrorCodes, PluginError
from .trace import Trace, parse_traceparent

if TYPE_CHECKING:  # pragma: no cover
    from .runtime import _Runtime

_NO_DATA: Any = object()
LOG_LEVELS = ("trace", "debug", "info", "warn", "error", "fatal")


class LifecycleContext:
    """What ``on_activate`` / ``on_deactivate`` hooks (and, through ``Context``, handlers) see.

    Attributes: ``plugin`` (name), ``version``, ``instance_id``, ``data_dir``, ``config`` (the
    manifest's ``config`` object, unchanged), ``daemon_version``, ``protocol_version``.
    """

    def __init__(self, rt: _Runtime) -> None:
        self._rt = rt

    # -- identity / configuration -------------------------------------------------------------
    @property
    def plugin(self) -> str:
        return self._rt.plugin.name

    @property
    def version(self) -> str:
        return self._rt.plugin.version

    @property
    def instance_id(self) -> str | None:
        return self._rt.instance_id

    @property
    def data_dir(self) -> str | None:
        return self._rt.data_dir

    @property
    def config(self) -> dict[str, Any]:
        return self._rt.config

    @property
    def daemon_version(self) -> str | None:
        return self._rt.daemon_version

    @property
    def protocol_version(self) -> str | None:
        return self._rt.protocol_version

    # -- plugin -> daemon ---------------------------------------------------------------------
    def log(self, level: str, msg: str, **fields: Any) -> None:
        """Send ``bkg/log``. ``level``: trace, debug, info, warn, error, fatal. Thread-safe."""
        if level not in LOG_LEVELS:
            raise ValueError(f"log level must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
        params: dict[str, Any] = dict(fields)
        params["level"] = level
        params["msg"] = str(msg)
        self._rt.notify("bkg/log", params)

    def emit(self, event: str, data: Any = _NO_DATA) -> None:
        """Send ``bkg/emit`` (``data`` omitted when not given). Held back until ``initialized``
        if sent earlier. Thread-safe."""
        params: dict[str, Any] = {"event": str(event)}
        if data is not _NO_DATA:
            params["data"] = data
        self._rt.emit(params)

    async def call(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        timeout_ms: int | None = None,
        traceparent: str | None = None,
    ) -> Any:
        """Call another plugin's method (``bkg/call``) and return its result.

        In a handler the call joins the handler's trace (``ctx.trace``); ``traceparent`` names
        another one, e.g. for a call made outside any handler that belongs to a trace.
        Raises ``PluginError`` carrying the remote error's code, message and data.
        """
        tp = traceparent if traceparent is not None else self._traceparent()
        return await self._rt.call_out(method, params, timeout_ms, self._default_timeout_ms(), self._parent(), tp)

    def call_sync(
        self,
        method: str,
        params: Mapping[str, Any] | None = None,
        timeout_ms: int | None = None,
        traceparent: str | None = None,
    ) -> Any:
        """``call`` for synchronous handlers running in a worker thread (blocks that thread)."""
        loop = self._rt.loop
        if loop is None:
            raise PluginError(ErrorCodes.InternalError, "the plugin is not running")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("call_sync() would block the event loop; use 'await ctx.call(...)'")
        fut = asyncio.run_coroutine_threadsafe(self.call(method, params, timeout_ms, traceparent), loop)
        return fut.result()

    def _default_timeout_ms(self) -> int | None:
        return None

    def _parent(self) -> str | None:
        """The daemon's handle of the call this context serves (``_meta.callId``), if any."""
        return None

    def _traceparent(self) -> str | None:
        """The trace context a ``call`` passes on when not given one."""
        return None


class Context(LifecycleContext):
    """The per-call context passed to a method handler as its second argument.

    Besides ``LifecycleContext``'s members: ``id`` (the request id), ``method``, ``meta`` (the
    ``_meta`` object the daemon added), ``deadline`` (epoch ms or None), ``caller``,
    ``progress_token``, ``traceparent`` (the raw value), ``trace`` (a ``Trace`` with ``trace_id``,
    ``span_id``, ``traceparent``, ``sampled``; None when the daemon sent none), ``cancelled`` /
    ``cancel_reason``, ``result`` (settable final result of a streaming handler),
    ``progress(value)``, ``time_left()``, ``wait_cancelled()``.
    """

    def __init__(
        self, rt: _Runtime, request_id: Any, method: str, meta: Mapping[str, Any], streaming: bool = False
    ) -> None:
        super().__init__(rt)
        self.id = request_id
        self.method = method
        self.meta: dict[str, Any] = dict(meta)
        self.result: Any = None
        self.streaming = streaming
        self._chunks: list[Any] = []
        self._finished = False
        self._cancel_flag = threading.Event()
        self._cancel_event: asyncio.Event | None = None
        self.cancel_reason: str | None = None
        d = self.meta.get("deadline")
        self.deadline: float | None = d if isinstance(d, (int, float)) and not isinstance(d, bool) else None
        c = self.meta.get("caller")
        self.caller: str | None = c if isinstance(c, str) else None
        self.progress_token: Any = self.meta.get("progressToken")
        t = self.meta.get("traceparent")
        self.traceparent: str | None = t if isinstance(t, str) else None

    @functools.cached_property
    def trace(self) -> Trace | None:
        """This call's trace, parsed from ``traceparent`` on first use (most handlers never look)."""
        return parse_traceparent(self.traceparent)

    # -- cancellation -------------------------------------------------------------------------
    @property
    def cancelled(self) -> bool:
        """True once the call was cancelled ($/cancelRequest, deadline, shutdown). Thread-safe."""
        return self._cancel_flag.is_set()

    @property
    def cancel_event(self) -> asyncio.Event:
        """An ``asyncio.Event`` set on cancellation (use from the event loop only)."""
        if self._cancel_event is None:
            self._cancel_event = asyncio.Event()
            if self._cancel_flag.is_set():
                self._cancel_event.set()
        return self._cancel_event

    async def wait_cancelled(self) -> None:
        """Return when the call is cancelled.

        The handler's own task is cancelled at the same moment (it sees ``CancelledError``), so
        this is for helper tasks the handler started, or code running under ``asyncio.shield``.
        """
        await self.cancel_event.wait()

    def _mark_cancelled(self, reason: str) -> None:
        if self._cancel_flag.is_set():
            return
        self.cancel_reason = reason
        self._cancel_flag.set()
        if self._cancel_event is not None:
            self._cancel_event.set()

    def time_left(self) -> float | None:
        """Seconds until ``deadline`` (may be negative), or None without a deadline."""
        if self.deadline is None:
            return None
        return (self.deadline - time.time() * 1000.0) / 1000.0

    def _default_timeout_ms(self) -> int | None:
        left = self.time_left()
        return None if left is None else max(1, int(left * 1000))

    def _parent(self) -> str | None:
        p = self.meta.get("callId")
        return p if isinstance(p, str) else None

    def _traceparent(self) -> str | None:
        return self.traceparent

    # -- streaming ----------------------------------------------------------------------------
    def progress(self, value: Any) -> None:
        """Stream one value: ``$/progress`` for ``progress_token``. Thread-safe.

        In a streaming method called without a token, the values are collected and the list is
        the call's result. In a non-streaming method without a token the value is dropped.
        """
        if self._finished:
            return
        if self.progress_token is not None:
            self._rt.notify("$/progress", {"token": self.progress_token, "value": value})
        elif self.streaming:
            self._chunks.append(value)
