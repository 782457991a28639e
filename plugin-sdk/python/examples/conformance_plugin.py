#!/usr/bin/env python3
"""The bkg conformance plugin (plugin-sdk/conformance/CONTRACT.md), built with bkg_plugin.

Run from a clean checkout, no install needed:  python3 plugin-sdk/python/examples/conformance_plugin.py
(it finds the SDK in ../src when bkg_plugin is not importable).
"""

from __future__ import annotations

import asyncio
import os
import sys

try:
    import bkg_plugin  # noqa: F401
except ImportError:  # running from a checkout: use the SDK next to this file
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))

from bkg_plugin import Context, ErrorCodes, Plugin, PluginError

plugin = Plugin("conformance", "0.1.0")

# tags of `sleep` calls that observed cancellation ($/cancelRequest or their deadline)
cancelled_tags: set[str] = set()


@plugin.method(description="Returns its params, without _meta", params={"type": "object"})
async def echo(params: dict, ctx: Context):
    return params


@plugin.method(
    description="Reverses a string by code point",
    params={"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
)
async def reverse(params: dict, ctx: Context):
    return params["text"][::-1]


@plugin.method(
    description="Answers an error with code (default -33010), message and data",
    params={
        "type": "object",
        "required": ["message"],
        "properties": {"message": {"type": "string"}, "code": {"type": "number"}},
    },
)
async def fail(params: dict, ctx: Context):
    code = int(params.get("code", ErrorCodes.PluginError))
    if "data" in params:
        raise PluginError(code, params["message"], params["data"])
    raise PluginError(code, params["message"])


@plugin.method(
    description="Waits ms milliseconds; stops early, answering -32800, when cancelled",
    params={
        "type": "object",
        "required": ["ms"],
        "properties": {"ms": {"type": "number", "minimum": 0}, "tag": {"type": "string"}},
    },
)
async def sleep(params: dict, ctx: Context):
    ms = params["ms"]
    try:
        await asyncio.sleep(ms / 1000.0)
    except asyncio.CancelledError:
        if "tag" in params:
            cancelled_tags.add(params["tag"])
        raise  # the SDK answers -32800
    return {"slept": ms}


@plugin.method(
    name="wasCancelled",
    description="Whether a sleep with this tag observed cancellation",
    params={"type": "object", "required": ["tag"], "properties": {"tag": {"type": "string"}}},
)
async def was_cancelled(params: dict, ctx: Context):
    return {"cancelled": params["tag"] in cancelled_tags}


@plugin.method(
    description="Streams {i: 0..n-1} as $/progress, then returns {count: n}",
    params={"type": "object", "required": ["n"], "properties": {"n": {"type": "number", "minimum": 0}}},
    streaming=True,
)
async def stream(params: dict, ctx: Context):
    n = int(params["n"])
    for i in range(n):
        yield {"i": i}
    ctx.result = {"count": n}  # the result when the caller streams (progressToken given)


@plugin.method(
    name="callOther",
    description="bkg/call to another plugin's method; returns its result",
    params={
        "type": "object",
        "required": ["method"],
        "properties": {"method": {"type": "string"}, "params": {"type": "object"}},
    },
)
async def call_other(params: dict, ctx: Context):
    return await ctx.call(params["method"], params.get("params", {}))


@plugin.method(
    name="emit",
    description="Publishes an event (bkg/emit)",
    params={"type": "object", "required": ["event"], "properties": {"event": {"type": "string"}}},
)
async def emit_(params: dict, ctx: Context):
    if "data" in params:
        ctx.emit(params["event"], params["data"])
    else:
        ctx.emit(params["event"])


@plugin.method(
    name="log",
    description="Writes a structured log line (bkg/log)",
    params={
        "type": "object",
        "required": ["level", "msg"],
        "properties": {"level": {"type": "string"}, "msg": {"type": "string"}},
    },
)
async def log_(params: dict, ctx: Context):
    ctx.log(params["level"], params["msg"])


@plugin.method(
    description="Returns the number of code points in blob",
    params={"type": "object", "required": ["blob"], "properties": {"blob": {"type": "string"}}},
)
async def size(params: dict, ctx: Context):
    return {"length": len(params["blob"])}


@plugin.method(
    description="Returns a string of `bytes` ASCII x characters",
    params={"type": "object", "required": ["bytes"], "properties": {"bytes": {"type": "number", "minimum": 0}}},
)
async def blob(params: dict, ctx: Context):
    return "x" * int(params["bytes"])


@plugin.method(description="Returns the _meta object the SDK received")
async def meta(params: dict, ctx: Context):
    return ctx.meta


if __name__ == "__main__":
    plugin.run()
