"""The plugin definition (``Plugin``) and the stdio runtime that serves it."""
from __future__ import annotations

import asyncio
import inspect
import os
import queue
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, NoReturn

from .context import Context, LifecycleContext
from .errors import _UNSET, ErrorCodes, PluginError
from .framing import FrameDecoder, FramingError, decode_body, encode_body, frame

PROTOCOL_VERSION = "1.0.0"
PROTOCOL_MAJOR = 1

_RESERVED_NAMES = {"initialize", "initialized", "shutdown", "exit"}
_CANCEL_MESSAGES = {
    "cancelled": "request cancelled",
    "deadline": "deadline passed",
    "shutdown": "request cancelled: the plugin is shutting down",
    "exit": "request cancelled: the plugin is exiting",
}


def _positional_arity(fn: Callable[..., Any]) -> int:
    """How many of (params, ctx) to pass: 0, 1 or 2."""
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return 2
    n = 0
    for p in sig.parameters.values():
        if p.kind is p.VAR_POSITIONAL:
            return 2
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            n += 1
    return min(n, 2)


def _kind(fn: Callable[..., Any]) -> str:
    if inspect.isasyncgenfunction(fn):
        return "asyncgen"
    if inspect.isgeneratorfunction(fn):
        return "gen"
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None)):
        return "async"
    return "sync"


@dataclass
class MethodSpec:
    name: str
    handler: Callable[..., Any]
    description: str | None = None
    params: dict[str, Any] | None = None
    streaming: bool = False
    thread: bool = True
    kind: str = "sync"
    arity: int = 2

    def describe(self) -> dict[str, Any]:
        d: dict[str, Any] = {"name": self.name}
        if self.description:
            d["description"] = self.description
        if self.params is not None:
            d["paramsSchema"] = self.params
        if self.streaming:
            d["streaming"] = True
        return d

    def args(self, params: dict[str, Any], ctx: Context) -> tuple[Any, ...]:
        return (params, ctx)[: self.arity]


class Plugin:
    """A bkg plugin: a name, a version, methods and lifecycle hooks.

    ``Plugin(name, version, events=None, shutdown_grace=0.0, protect_stdout=True)``. ``events``
    are the event names announced in ``initialize``. On ``shutdown``, in-flight calls get
    ``shutdown_grace`` seconds to finish before they are cancelled. ``protect_stdout``: take the
    real stdout for the protocol at once and point fd 1 / ``sys.stdout`` at stderr (``run()``
    does it anyway; pass False to construct a Plugin in a test without touching stdio).
    """

    def __init__(self, name: str, version: str, *, events: list[str] | None = None,
                 shutdown_grace: float = 0.0, protect_stdout: bool = True) -> None:
        if protect_stdout:
            # From here on a stray print() lands on stderr, not in the protocol stream.
            _protect_stdout()
        if not name or not isinstance(name, str):
            raise ValueError("a plugin needs a name")
        self.name = name
        self.version = version
        self.events: list[str] = list(events or [])
        self.shutdown_grace = float(shutdown_grace)
        self._methods: dict[str, MethodSpec] = {}
        self._activate: list[Callable[..., Any]] = []
        self._deactivate: list[Callable[..., Any]] = []

    # -- definition ---------------------------------------------------------------------------
    def method(self, fn: Callable[..., Any] | None = None, *, name: str | None = None,
               description: str | None = None, params: dict[str, Any] | None = None,
               streaming: bool | None = None, thread: bool = True) -> Any:
        """Register a method handler; usable as ``@plugin.method`` or ``@plugin.method(...)``.

        - ``name``: wire name (default: the function's name).
        - ``description``, ``params`` (JSON Schema, sent as ``paramsSchema``; the daemon enforces it).
        - ``streaming``: declare ``"streaming": true`` (implied for generator functions).
        - ``thread``: run a *synchronous* handler in a worker thread (default) or inline on the
          event loop (``thread=False``, only for cheap code: it blocks pings and other calls).
        """
        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            self.add_method(name or f.__name__, f, description=description, params=params,
                            streaming=streaming, thread=thread)
            return f

        return register(fn) if fn is not None else register

    def add_method(self, name: str, handler: Callable[..., Any], *, description: str | None = None,
                   params: dict[str, Any] | None = None, streaming: bool | None = None,
                   thread: bool = True) -> None:
        if not callable(handler):
            raise TypeError("handler must be callable")
        if not isinstance(name, str) or not name:
            raise ValueError("method name must be a non-empty string")
        if name in _RESERVED_NAMES or name.startswith(("bkg/", "$/", "rpc.")):
            raise ValueError(f"method name {name!r} is reserved by the protocol")
        if name in self._methods:
            raise ValueError(f"method {name!r} is already defined")
        if params is not None and not isinstance(params, dict):
            raise TypeError("params must be a JSON Schema object (dict)")
        kind = _kind(handler)
        if streaming is None:
            streaming = kind in ("asyncgen", "gen")
        self._methods[name] = MethodSpec(name, handler, description, params, bool(streaming),
                                         thread, kind, _positional_arity(handler))

    def on_activate(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Hook run during ``initialize`` (before the answer), given a ``LifecycleContext``."""
        self._activate.append(fn)
        return fn

    def on_deactivate(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Hook run once on ``shutdown``, ``exit`` or stdin closing, given a ``LifecycleContext``."""
        self._deactivate.append(fn)
        return fn

    @property
    def methods(self) -> dict[str, MethodSpec]:
        return dict(self._methods)

    def describe(self) -> dict[str, Any]:
        """The ``initialize`` result."""
        d: dict[str, Any] = {
            "protocolVersion": PROTOCOL_VERSION,
            "name": self.name,
            "version": self.version,
            "methods": [m.describe() for m in self._methods.values()],
        }
        if self.events:
            d["events"] = list(self.events)
        return d

    # -- running ------------------------------------------------------------------------------
    def run(self) -> NoReturn:
        """Serve the protocol on stdin/stdout until ``exit`` or stdin closes, then exit.

        Takes the real stdin/stdout for the protocol: afterwards fd 1 and ``sys.stdout`` point to
        stderr (a stray ``print()`` cannot corrupt the stream) and fd 0 reads /dev/null.
        """
        in_fd, out_fd = _take_stdio()
        rt = _Runtime(self, in_fd, out_fd)
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        code = 0
        try:
            code = loop.run_until_complete(rt.main())
        except KeyboardInterrupt:
            code = 130
        finally:
            _close_loop(loop)
        _exit(code)


# ---------------------------------------------------------------------------------------------
# runtime


def _diag(msg: str) -> None:
    try:
        sys.stderr.write(f"[bkg_plugin] {msg}\n")
        sys.stderr.flush()
    except Exception:  # pragma: no cover - stderr gone
        pass


_stdio_lock = threading.Lock()
_protocol_out_fd: int | None = None
_protocol_in_fd: int | None = None


def _protect_stdout() -> int:
    """Keep a private copy of fd 1 for the protocol; point fd 1 and ``sys.stdout`` at stderr, so
    print(), os.write(1, ...) and child processes cannot corrupt the stream. Idempotent."""
    global _protocol_out_fd
    with _stdio_lock:
        if _protocol_out_fd is None:
            try:
                sys.stdout.flush()
            except Exception:
                pass
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
    try:
        tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            loop.run_until_complete(asyncio.wait(tasks, timeout=1.0))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(asyncio.wait([loop.create_task(loop.shutdown_default_executor())],
                                             timeout=0.5))
    except Exception:  # pragma: no cover
        pass
    finally:
        try:
            loop.close()
        except Exception:  # pragma: no cover
            pass


def _exit(code: int) -> NoReturn:
    for f in (sys.stderr, sys.__stdout__):
        try:
            f.flush()
        except Exception:
            pass
    busy = [t for t in threading.enumerate()
            if t is not threading.main_thread() and not t.daemon and t.is_alive()]
    if busy:  # a worker thread is stuck in user code: do not wait for it (exit within 2 s)
        os._exit(code)
    sys.exit(code)


class _Writer:
    """The single writer of stdout frames: a thread draining a queue, so frames never interleave
    and a slow reader never blocks the event loop."""

    def __init__(self, fd: int, on_broken: Callable[[], None]) -> None:
        self._fd = fd
        self._q: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._on_broken = on_broken
        self.broken = False
        self._thread = threading.Thread(target=self._run, name="bkg-writer", daemon=True)
        self._thread.start()

    def send(self, msg: Any) -> None:
        body = encode_body(msg)  # raises TypeError/ValueError for non-JSON values
        if not self.broken:
            self._q.put((frame(body), body))

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is None:
                return
            try:
                for part in item:
                    view = memoryview(part)
                    while view:
                        n = os.write(self._fd, view)
                        view = view[n:]
            except OSError as e:
                self.broken = True
                _diag(f"stdout closed ({e}); stopping")
                self._on_broken()
                return

    def close(self, timeout: float) -> None:
        self._q.put(None)
        self._thread.join(timeout)


@dataclass
class _Call:
    id: Any
    ctx: Context
    notification: bool = False
    started: bool = False
    inner: "asyncio.Future[Any] | None" = None
    outer: "asyncio.Task[Any] | None" = None
    timer: "asyncio.TimerHandle | None" = None


def _protocol_major(version: Any) -> int | None:
    if not isinstance(version, str):
        return None
    head = version.strip().lstrip("v").split(".")[0]
    return int(head) if head.isdigit() else None


class _Runtime:
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
        decoder = FrameDecoder()
        while True:
            try:
                chunk = os.read(self.in_fd, 1 << 20)
            except InterruptedError:  # pragma: no cover
                continue
            except OSError:
                chunk = b""
            if not chunk:
                self._post(self._on_input, "eof", None)
                return
            for item in decoder.feed(chunk):
                if isinstance(item, FramingError):
                    self._post(self._on_input, "bad", f"framing error: {item}")
                    continue
                try:
                    msg = decode_body(item)
                except ValueError as e:
                    self._post(self._on_input, "bad", f"invalid JSON: {e}")
                    continue
                self._post(self._on_input, "msg", msg)

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

    # -- dispatch -----------------------------------------------------------------------------
    def _on_input(self, kind: str, payload: Any) -> None:
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

    def _dispatch(self, msg: Any) -> None:
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
                self.reply_error(rid if valid_id else None, ErrorCodes.InvalidRequest, "not a request, notification or response")
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

    def _spawn(self, coro: Any) -> None:
        assert self.loop is not None
        task = self.loop.create_task(coro)
        self.background.add(task)
        task.add_done_callback(self.background.discard)

    def _on_request(self, rid: Any, method: str, params: Any) -> None:
        if method == "initialize":
            self._spawn(self._initialize(rid, params))
        elif method == "bkg/ping":
            self.reply(rid, {"now": int(time.time() * 1000)})
        elif method == "shutdown":
            self._spawn(self._shutdown(rid))
        elif self.state == "ready":
            self._start_call(rid, method, params)
        elif self.state == "mismatch":
            self.reply_error(rid, ErrorCodes.ProtocolMismatch,
                             f"protocol mismatch: this plugin speaks {PROTOCOL_VERSION}")
        elif self.state == "stopping":
            self.reply_error(rid, ErrorCodes.PluginUnavailable, "the plugin is shutting down")
        elif self.state == "failed":
            self.reply_error(rid, ErrorCodes.PluginUnavailable, "the plugin failed to activate")
        else:
            self.reply_error(rid, ErrorCodes.PluginUnavailable,
                             f"the plugin is not initialized yet (got {method!r} before initialize)")

    def _on_notification(self, method: str, params: Any) -> None:
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

    def _on_response(self, msg: dict[str, Any]) -> None:
        fut = self.pending_out.pop(msg.get("id"), None)  # type: ignore[arg-type]
        if fut is None:
            _diag(f"ignoring a response for unknown id {msg.get('id')!r}")
        elif not fut.done():
            fut.set_result(msg)

    # -- lifecycle ----------------------------------------------------------------------------
    async def _initialize(self, rid: Any, params: Any) -> None:
        if self.state not in ("new", "mismatch"):
            self.reply_error(rid, ErrorCodes.InvalidRequest, "initialize was already received")
            return
        p = params if isinstance(params, dict) else {}
        version = p.get("protocolVersion")
        if _protocol_major(version) != PROTOCOL_MAJOR:
            self.state = "mismatch"
            self.reply_error(rid, ErrorCodes.ProtocolMismatch,
                             f"protocol mismatch: the daemon speaks {version!r}, "
                             f"this plugin speaks {PROTOCOL_VERSION}",
                             {"daemon": version, "plugin": PROTOCOL_VERSION})
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
        except Exception as e:
            self.state = "failed"
            _diag("activate failed:\n" + traceback.format_exc())
            self.reply_error(rid, ErrorCodes.PluginError, f"activate failed: {e or type(e).__name__}")
            return
        self.activated = True
        self.state = "ready"
        self.reply(rid, self.plugin.describe())

    async def _shutdown(self, rid: Any) -> None:
        if self.shutdown_task is None:
            assert self.loop is not None
            self.shutdown_task = self.loop.create_task(self._stop("shutdown", self.plugin.shutdown_grace, 3.0))
        await asyncio.shield(self.shutdown_task)
        self.reply(rid, None)

    async def _stop(self, reason: str, grace: float, deactivate_timeout: float) -> None:
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

    async def _deactivate(self, timeout: float) -> None:
        if self.deactivated or not self.activated:
            return
        self.deactivated = True
        for hook in self.plugin._deactivate:
            try:
                await asyncio.wait_for(self._call_hook(hook), timeout)
            except asyncio.TimeoutError:
                _diag(f"deactivate hook {getattr(hook, '__name__', hook)!r} timed out after {timeout}s")
            except Exception:
                _diag("deactivate hook failed:\n" + traceback.format_exc())

    async def _teardown(self) -> None:
        try:
            if self.shutdown_task is not None:
                await asyncio.wait([self.shutdown_task], timeout=1.5)
            await self._stop("exit", 0.0, 1.5)
        finally:
            for fut in self.pending_out.values():
                fut.cancel()
            self.writer.close(1.0)

    async def _call_hook(self, hook: Callable[..., Any]) -> None:
        args = (LifecycleContext(self),)[: _positional_arity(hook)]
        if _kind(hook) == "async":
            await hook(*args)
            return
        r = await self._in_thread(hook, *args)
        if inspect.isawaitable(r):
            await r

    # -- calls --------------------------------------------------------------------------------
    def _start_call(self, rid: Any, method: str, params: Any, notification: bool = False) -> None:
        assert self.loop is not None
        spec = self.plugin._methods.get(method)
        if spec is None:
            if not notification:
                names = list(self.plugin._methods)
                self.reply_error(rid, ErrorCodes.MethodNotFound,
                                 f"unknown method {method!r}; {self.plugin.name} provides: "
                                 f"{', '.join(names) if names else '(nothing)'}",
                                 {"methods": names})
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

    def _cancel_call(self, call: _Call, reason: str) -> None:
        inner = call.inner
        if inner is None or inner.done():
            return
        call.ctx._mark_cancelled(reason)
        if call.started:
            inner.cancel()
        else:  # let the handler start, so it observes the cancellation itself
            assert self.loop is not None
            self.loop.call_soon(inner.cancel)

    async def _serve(self, call: _Call, spec: MethodSpec) -> None:
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
                self.reply_error(call.id, ErrorCodes.RequestCancelled,
                                 _CANCEL_MESSAGES.get(ctx.cancel_reason or "", "request cancelled"))
        except PluginError as e:
            if answer:
                self.reply_error(call.id, e.code, e.message, e.data if e.has_data else _UNSET)
        except Exception as e:
            _diag(f"method {spec.name!r} raised:\n" + traceback.format_exc())
            if answer:
                self.reply_error(call.id, ErrorCodes.PluginError, str(e) or type(e).__name__,
                                 {"type": type(e).__name__})
        else:
            if answer:
                self.reply(call.id, result)
        finally:
            ctx._finished = True
            if call.timer is not None:
                call.timer.cancel()
            if answer and self.inflight.get(call.id) is call:
                del self.inflight[call.id]

    async def _invoke(self, spec: MethodSpec, params: dict[str, Any], call: _Call) -> Any:
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

    def _in_thread(self, fn: Callable[..., Any], *args: Any) -> "asyncio.Future[Any]":
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
            except BaseException as e:  # noqa: BLE001 - delivered to the awaiting task
                ok, value = False, e
            else:
                ok = True
            try:
                loop.call_soon_threadsafe(settle, ok, value)
            except RuntimeError:  # loop closed: nobody is waiting
                pass

        threading.Thread(target=target, name=f"bkg-call-{getattr(fn, '__name__', 'fn')}", daemon=True).start()
        return fut

    async def call_out(self, method: str, params: Any, timeout_ms: int | None,
                       default_timeout_ms: int | None, parent: str | None = None) -> Any:
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
