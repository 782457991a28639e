"""SDK behaviour beyond the conformance contract, via tests/plugins/sdk_test_plugin.py."""

from __future__ import annotations

import time

import pytest
from conftest import SDK_TEST_PLUGIN


@pytest.fixture
def sdk(spawn, tmp_path):
    c = spawn(SDK_TEST_PLUGIN)
    c.data_dir = str(tmp_path)
    r = c.initialize(config={"greeting": "hi", "nested": {"a": [1]}}, data_dir=str(tmp_path), initialized=False)
    assert "result" in r, r
    return c


def test_initialize_result_and_activate(sdk, tmp_path):
    # the emit made during activate is held back until `initialized`
    early = sdk.drain(0.3)
    assert [m["params"] for m in early] == [{"level": "info", "msg": "activated", "n": 1}]  # bkg/log only
    sdk.notify("initialized", {})
    assert sdk.notification("bkg/emit")["params"] == {"event": "sdktest.tick", "data": {"phase": "activate"}}
    assert sdk.result("info") == {
        "config": {"greeting": "hi", "nested": {"a": [1]}},
        "data_dir": str(tmp_path),
        "instance_id": "test#1",
        "plugin": "sdktest",
    }


def test_describe(spawn):
    c = spawn(SDK_TEST_PLUGIN)
    res = c.initialize()["result"]
    assert res["name"] == "sdktest" and res["version"] == "2.3.4"
    assert res["events"] == ["sdktest.tick"]
    methods = {m["name"]: m for m in res["methods"]}
    assert methods["countdown"].get("streaming") is True
    assert methods["progressive"].get("streaming") is True
    assert "streaming" not in methods["syncAdd"]


def test_activate_failure(spawn):
    c = spawn(SDK_TEST_PLUGIN)
    r = c.initialize(config={"failActivate": True}, initialized=False)
    assert r["error"] == {"code": 4001, "message": "activate failed: refusing to start", "data": {"why": "config"}}
    c.notify("exit")
    assert c.wait_exit(3) == 0


def test_stray_output_goes_to_stderr(sdk):
    sdk.notify("initialized", {})
    assert sdk.result("noisy") == "ok"
    assert sdk.result("syncAdd", {"a": 1, "b": 2})["sum"] == 3
    sdk.result("shutdown")
    sdk.notify("exit")
    assert sdk.wait_exit(3) == 0
    time.sleep(0.2)
    assert sdk.bad_stdout is None
    assert b"stray" not in bytes(sdk.raw_stdout)
    err = "\n".join(sdk.stderr_lines)
    for s in (
        "stray print at import time",
        "stray print in a handler",
        "stray sys.stdout.write",
        "stray os.write(1)",
        "stray child process output",
    ):
        assert s in err


def test_generic_exception_is_plugin_error(sdk):
    err = sdk.error("boom")
    assert err["code"] == -33010 and err["message"] == "kaput" and err["data"] == {"type": "ValueError"}
    err = sdk.error("unserialisable")
    assert err["code"] == -33010 and "JSON" in err["message"]


def test_sync_handlers(sdk):
    r = sdk.result("syncAdd", {"a": 2, "b": 40})
    assert r["sum"] == 42 and r["thread"] != "MainThread"
    assert sdk.result("inlineAdd", {"a": 1, "b": 1}) == 2
    # a blocking sync handler does not block the loop
    rid = sdk.request("syncSleep", {"ms": 1000})
    t0 = time.monotonic()
    sdk.result("bkg/ping", {})
    assert time.monotonic() - t0 < 0.7  # well under the 1 s the sync handler blocks its thread
    sdk.notify("$/cancelRequest", {"id": rid})
    assert sdk.response(rid)["error"]["code"] == -32800


def test_sync_call_from_thread(sdk):
    sdk.notify("initialized", {})
    rid = sdk.request("syncCall", {"method": "a.b", "params": {"q": 1}})
    req = sdk.expect(lambda m: m.get("method") == "bkg/call")
    assert req["params"] == {"method": "a.b", "params": {"q": 1}}
    sdk.send({"jsonrpc": "2.0", "id": req["id"], "result": [1, 2]})
    assert sdk.response(rid)["result"] == [1, 2]


TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_trace_context(sdk):
    r = sdk.result("traceInfo", {}, {"traceparent": TP})
    assert r["trace"] == {
        "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7",
        "sampled": True,
    }
    assert r["traceparent"] == TP
    # malformed, oversized or absent: no trace (the raw value stays readable)
    for bad in ["00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", TP[:-1], "x" * 10_000, 7]:
        assert sdk.result("traceInfo", {}, {"traceparent": bad})["trace"] is None
    assert sdk.result("traceInfo", {})["trace"] is None
    unsampled = sdk.result("traceInfo", {}, {"traceparent": TP[:-2] + "00"})["trace"]
    assert unsampled["sampled"] is False


def test_call_passes_the_trace_on(sdk):
    sdk.notify("initialized", {})
    rid = sdk.request("syncCall", {"method": "a.b"}, {"traceparent": TP, "callId": "k1"})
    req = sdk.expect(lambda m: m.get("method") == "bkg/call")
    assert req["params"]["traceparent"] == TP and req["params"]["parent"] == "k1"
    sdk.send({"jsonrpc": "2.0", "id": req["id"], "result": 1})
    assert sdk.response(rid)["result"] == 1


def test_sync_generator_and_progress(sdk):
    assert sdk.result("countdown", {"n": 3}) == [3, 2, 1]
    rid = sdk.request("countdown", {"n": 2}, {"progressToken": "t"})
    assert sdk.notification("$/progress")["params"] == {"token": "t", "value": 2}
    assert sdk.notification("$/progress")["params"] == {"token": "t", "value": 1}
    assert sdk.response(rid)["result"] is None
    # a coroutine calling ctx.progress: its return value is the result when streamed
    rid = sdk.request("progressive", {}, {"progressToken": 5})
    vals = [sdk.notification("$/progress")["params"]["value"] for _ in range(3)]
    assert vals == [{"step": 0}, {"step": 1}, {"step": 2}]
    assert sdk.response(rid)["result"] == {"done": 3}
    assert sdk.result("progressive", {}) == [{"step": 0}, {"step": 1}, {"step": 2}]


def test_handler_may_answer_with_what_it_has(sdk):
    rid = sdk.request("partial")
    time.sleep(0.1)
    sdk.notify("$/cancelRequest", {"id": rid})
    assert sdk.response(rid)["result"] == {"partial": True, "reason": "cancelled"}
    err = sdk.error("ownCancelError", {}, {"deadline": int(time.time() * 1000) + 100})
    assert err == {"code": 4500, "message": "saw deadline, cancelled=True"}


def test_requests_before_initialize_and_twice(spawn):
    c = spawn(SDK_TEST_PLUGIN)
    assert c.error("syncAdd", {"a": 1, "b": 1})["code"] == -33000
    assert "result" in c.initialize()
    r = c.initialize()
    assert r["error"]["code"] == -32600


def test_invalid_messages(sdk):
    sdk.send({"jsonrpc": "2.0", "id": 5})
    assert sdk.response(5)["error"]["code"] == -32600
    sdk.send([{"jsonrpc": "2.0", "id": 6, "method": "syncAdd"}])
    assert sdk.expect(lambda m: m.get("id") is None and "error" in m)["error"]["code"] == -32600
    sdk.send({"jsonrpc": "2.0", "id": 7, "method": "syncAdd", "params": [1, 2]})
    assert sdk.response(7)["error"]["code"] == -32602
    sdk.send_raw(b"Content-Type: application/json; charset=latin-1\r\nContent-Length: 2\r\n\r\n{}")
    assert sdk.expect(lambda m: m.get("id") is None and "error" in m)["error"]["code"] == -32700
    assert sdk.result("inlineAdd", {"a": 2, "b": 2}) == 4


def test_shutdown_runs_deactivate(sdk, tmp_path):
    assert sdk.result("shutdown") is None
    assert (tmp_path / "deactivated").read_text() == "yes"
    assert sdk.error("syncAdd", {"a": 1, "b": 1})["code"] == -33000
    sdk.notify("exit")
    assert sdk.wait_exit(3) == 0


def test_eof_runs_deactivate_and_does_not_wait_for_stuck_threads(sdk, tmp_path):
    sdk.request("hangSync")
    time.sleep(0.1)
    t0 = time.monotonic()
    sdk.close_stdin()
    assert sdk.wait_exit(3) == 0
    assert time.monotonic() - t0 < 2
    assert (tmp_path / "deactivated").read_text() == "yes"


def test_echo_example(spawn):
    from conftest import ROOT

    c = spawn(ROOT / "examples" / "echo_plugin.py")
    res = c.initialize(config={"suffix": "!"})["result"]
    assert [m["name"] for m in res["methods"]] == ["reverse", "stream", "upper"]
    assert c.result("reverse", {"text": "abc"}) == "cba!"
    assert c.error("reverse", {"text": ""}) == {
        "code": 4000,
        "message": "nothing to reverse",
        "data": {"field": "text"},
    }
    assert c.result("upper", {"text": "abc"}) == "ABC"
    rid = c.request("stream", {"n": 2}, {"progressToken": "t"})
    assert c.response(rid)["result"] == {"count": 2}
    c.close_stdin()
    assert c.wait_exit(3) == 0
