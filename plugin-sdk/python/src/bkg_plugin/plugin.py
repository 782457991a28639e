"""The plugin definition (``Plugin``): its methods and lifecycle hooks, and ``run()``, which hands
it to the stdio runtime (runtime.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, NoReturn

from .lifecycle import PROTOCOL_VERSION
from .methods import MethodSpec, _kind, _positional_arity
from .runtime import _Runtime
from .stdio import _close_loop, _exit, _protect_stdout, _take_stdio

__all__ = ["PROTOCOL_VERSION", "MethodSpec", "Plugin"]

_RESERVED_NAMES = {"initialize", "initialized", "shutdown", "exit"}


class Plugin:
    """A bkg plugin: a name, a version, methods and lifecycle hooks.

    ``Plugin(name, version, events=None, shutdown_grace=0.0, protect_stdout=True)``. ``events``
    are the event names announced in ``initialize``. On ``shutdown``, in-flight calls get
    ``shutdown_grace`` seconds to finish before they are cancelled. ``protect_stdout``: take the
    real stdout for the protocol at once and point fd 1 / ``sys.stdout`` at stderr (``run()``
    does it anyway; pass False to construct a Plugin in a test without touching stdio).
    """

    def __init__(
        self,
        name: str,
        version: str,
        *,
        events: list[str] | None = None,
        shutdown_grace: float = 0.0,
        protect_stdout: bool = True,
    ) -> None:
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
    def method(
        self,
        fn: Callable[..., Any] | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        params: dict[str, Any] | None = None,
        streaming: bool | None = None,
        thread: bool = True,
    ) -> Any:
        """Register a method handler; usable as ``@plugin.method`` or ``@plugin.method(...)``.

        - ``name``: wire name (default: the function's name).
        - ``description``, ``params`` (JSON Schema, sent as ``paramsSchema``; the daemon enforces it).
        - ``streaming``: declare ``"streaming": true`` (implied for generator functions).
        - ``thread``: run a *synchronous* handler in a worker thread (default) or inline on the
          event loop (``thread=False``, only for cheap code: it blocks pings and other calls).
        """

        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            self.add_method(
                name or f.__name__, f, description=description, params=params, streaming=streaming, thread=thread
            )
            return f

        return register(fn) if fn is not None else register

    def add_method(
        self,
        name: str,
        handler: Callable[..., Any],
        *,
        description: str | None = None,
        params: dict[str, Any] | None = None,
        streaming: bool | None = None,
        thread: bool = True,
    ) -> None:
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
        self._methods[name] = MethodSpec(
            name, handler, description, params, bool(streaming), thread, kind, _positional_arity(handler)
        )

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
