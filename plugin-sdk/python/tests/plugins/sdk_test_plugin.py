#!/usr/bin/env python3
"""A plugin exercising SDK features beyond the conformance contract (used by test_sdk.py)."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, os.pardir, "src"))

from bkg_plugin import Context, LifecycleContext, Plugin, PluginError

plugin = Plugin("sdktest", "2.3.4", events=["sdktest.tick"])

print("stray print at import time")  # must end up on stderr, not in the protocol stream
state: dict = {"activated": None}


@plugin.on_activate
async def activate(ctx: LifecycleContext):
    if ctx.config.get("failActivate"):
        raise PluginError(4001, "refusing to start", {"why": "config"})
    state["activated"] = {
        "config": ctx.config,
        "data_dir": ctx.data_dir,
        "instance_id": ctx.instance_id,
        "plugin": ctx.plugin,
    }
    ctx.emit("sdktest.tick", {"phase": "activate"})  # held back until `initialized`
    ctx.log("info", "activated", n=1)


@plugin.on_deactivate
def deactivate(ctx):  # a sync hook
    if ctx.data_dir:
        with open(os.path.join(ctx.data_dir, "deactivated"), "w") as f:
            f.write("yes")


@plugin.method
async def info(params, ctx: Context):
    return state["activated"]


@plugin.method
async def noisy(params, ctx):
    print("stray print in a handler")
    sys.stdout.write("stray sys.stdout.write\n")
    sys.stdout.flush()
    os.write(1, b"stray os.write(1)\n")
    # Blocking on the loop on purpose: a child's stdout must not reach the protocol stream.
    subprocess.run(["sh", "-c", "echo stray child process output"], check=True)
    return "ok"


@plugin.method
async def boom(params, ctx):
    raise ValueError("kaput")


@plugin.method(name="syncAdd")
def sync_add(params):  # sync, params only: runs in a worker thread
    return {"sum": params["a"] + params["b"], "thread": __import__("threading").current_thread().name}


@plugin.method(name="inlineAdd", thread=False)
def inline_add(params, ctx):
    return params["a"] + params["b"]


@plugin.method(name="syncSleep")
def sync_sleep(params, ctx: Context):
    end = time.monotonic() + params["ms"] / 1000
    while time.monotonic() < end:
        if ctx.cancelled:
            return "stopped"
        time.sleep(0.01)
    return "done"


@plugin.method(name="syncCall")
def sync_call(params, ctx: Context):
    return ctx.call_sync(params["method"], params.get("params"))


@plugin.method(name="traceInfo")
async def trace_info(params, ctx: Context):
    t = ctx.trace
    info = None if t is None else {"trace_id": t.trace_id, "span_id": t.span_id, "sampled": t.sampled}
    return {"trace": info, "traceparent": ctx.traceparent}


@plugin.method
def countdown(params, ctx):  # a sync generator: streaming implied
    yield from range(params["n"], 0, -1)


@plugin.method(streaming=True)
async def progressive(params, ctx: Context):
    for i in range(3):
        ctx.progress({"step": i})
    return {"done": 3}


@plugin.method
async def partial(params, ctx: Context):
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        return {"partial": True, "reason": ctx.cancel_reason}  # "or with whatever it has"
    return {"partial": False}


@plugin.method(name="ownCancelError")
async def own_cancel_error(params, ctx: Context):
    watcher = asyncio.ensure_future(ctx.wait_cancelled())  # e.g. a helper task watching for it
    try:
        await asyncio.sleep(30)
    except asyncio.CancelledError:
        await asyncio.wait_for(watcher, 1)
        raise PluginError(4500, f"saw {ctx.cancel_reason}, cancelled={ctx.cancelled}") from None


@plugin.method
async def unserialisable(params, ctx):
    return {"x": object()}


@plugin.method(name="hangSync")
def hang_sync(params, ctx):
    time.sleep(60)  # never stops: exit must not wait for it


if __name__ == "__main__":
    plugin.run()
