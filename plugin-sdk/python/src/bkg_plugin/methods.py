"""The method registry's entries: how a handler is called (its kind and arity) and how it is announced."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .context import Context


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
    if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None)):  # noqa: B004 - an async __call__, not a callable check
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
