#!/usr/bin/env python3
"""A small example plugin: the shape of the Python SDK in one page.

Manifest (plugin.json next to this file):
  {"name": "echo", "version": "1.0.0", "command": ["python3", "echo_plugin.py"],
   "provides": ["reverse", "stream", "upper"], "config": {"suffix": "!"}}
"""

from __future__ import annotations

import asyncio
import os
import sys

try:
    import bkg_plugin  # noqa: F401
except ImportError:  # running from a checkout without pip install
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "src"))

from bkg_plugin import Context, LifecycleContext, Plugin, PluginError

plugin = Plugin("echo", "1.0.0", events=["echo.tick"])


@plugin.on_activate
async def activate(ctx: LifecycleContext):
    ctx.log("info", "starting", data_dir=ctx.data_dir, config=ctx.config)


@plugin.on_deactivate
async def deactivate(ctx: LifecycleContext):
    ctx.log("info", "stopping")


@plugin.method(
    description="Reverses text",
    params={"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
)
async def reverse(params: dict, ctx: Context):
    if params["text"] == "":
        raise PluginError(4000, "nothing to reverse", {"field": "text"})
    return params["text"][::-1] + ctx.config.get("suffix", "")


@plugin.method(
    description="Counts to n, one $/progress value per step",
    params={"type": "object", "required": ["n"], "properties": {"n": {"type": "integer"}}},
)
async def stream(params: dict, ctx: Context):
    for i in range(params["n"]):
        await asyncio.sleep(0.01)
        yield {"i": i}
    ctx.emit("echo.tick", {"count": params["n"]})
    ctx.result = {"count": params["n"]}


@plugin.method(description="Upper-cases text (a sync handler: runs in a worker thread)")
def upper(params: dict, ctx: Context):
    return params.get("text", "").upper()


if __name__ == "__main__":
    plugin.run()
