"""The conformance plugin (examples/conformance_plugin.py) against docs/protocol.md and
plugin-sdk/conformance/CONTRACT.md, talking the real protocol to a subprocess."""

from __future__ import annotations

import time

from conftest import CONFORMANCE

CONTRACT_METHODS = {
    "echo",
    "reverse",
    "fail",
    "sleep",
    "wasCancelled",
    "stream",
    "callOther",
    "emit",
    "log",
    "size",
    "blob",
    "meta",
}


def now_ms() -> int:
    return int(time.time() * 1000)


def test_handshake(spawn):
    c = spawn(CONFORMANCE)
    r = c.initialize()
    res = r["result"]
    assert res["protocolVersion"] == "1.0.0"
    assert res["name"] == "conformance"
    assert isinstance(res["version"], str)
    methods = {m["name"]: m for m in res["methods"]}
    assert CONTRACT_METHODS <= set(methods)
    assert methods["reverse"]["paramsSchema"] == {
        "type": "object",
        "required": ["text"],
        "properties": {"text": {"type": "string"}},
    }
    assert methods["stream"]["streaming"] is True
    assert "streaming" not in methods["reverse"]
    before = now_ms()
    pong = c.result("bkg/ping", {})
    assert before - 1000 <= pong["now"] <= now_ms() + 1000


def test_protocol_mismatch(spawn):
    c = spawn(CONFORMANCE)
    r = c.initialize(version="2.0.0", initialized=False)
    assert r["error"]["code"] == -33006
    assert "2.0.0" in r["error"]["message"] and "1.0.0" in r["error"]["message"]
    # it waits for exit; calls meanwhile are refused
    assert c.error("reverse", {"text": "x"})["code"] == -33006
    c.notify("exit")
    assert c.wait_exit(3) == 0


def test_reverse_and_echo(plugin):
    assert plugin.result("reverse", {"text": "abc"}, {"caller": "cli", "deadline": now_ms() + 5000}) == "cba"
    assert plugin.result("echo", {"a": 1, "b": [True, None]}, {"caller": "cli"}) == {"a": 1, "b": [True, None]}
    assert plugin.result("echo") == {}


def test_unknown_method_names_known_ones(plugin):
    err = plugin.error("nope", {})
    assert err["code"] == -32601
    assert "nope" in err["message"] and "reverse" in err["message"] and "wasCancelled" in err["message"]


def test_fail_codes(plugin):
    err = plugin.error("fail", {"message": "boom"})
    assert err == {"code": -33010, "message": "boom"}
    err = plugin.error("fail", {"message": "mine", "code": 4242, "data": {"why": [1, 2]}})
    assert err == {"code": 4242, "message": "mine", "data": {"why": [1, 2]}}
    err = plugin.error("fail", {"message": "nulldata", "data": None})
    assert err == {"code": -33010, "message": "nulldata", "data": None}


def test_cancellation_observed(plugin):
    t0 = time.monotonic()
    rid = plugin.request("sleep", {"ms": 10000, "tag": "c1"})
    time.sleep(0.1)
    plugin.notify("$/cancelRequest", {"id": rid})
    err = plugin.response(rid, timeout=3)["error"]
    assert err["code"] == -32800
    assert time.monotonic() - t0 < 2
    assert plugin.result("wasCancelled", {"tag": "c1"}) == {"cancelled": True}
    assert plugin.result("wasCancelled", {"tag": "never"}) == {"cancelled": False}
    # a cancel for an unknown or finished id is ignored
    plugin.notify("$/cancelRequest", {"id": rid})
    plugin.notify("$/cancelRequest", {"id": 999999})
    assert plugin.result("sleep", {"ms": 10, "tag": "c2"}) == {"slept": 10}
    assert plugin.result("wasCancelled", {"tag": "c2"}) == {"cancelled": False}


def test_cancel_sent_right_after_request(plugin):
    rid = plugin.request("sleep", {"ms": 10000, "tag": "fast"})
    plugin.notify("$/cancelRequest", {"id": rid})
    assert plugin.response(rid, timeout=3)["error"]["code"] == -32800
    assert plugin.result("wasCancelled", {"tag": "fast"}) == {"cancelled": True}


def test_deadline(plugin):
    t0 = time.monotonic()
    err = plugin.error("sleep", {"ms": 10000, "tag": "d1"}, {"deadline": now_ms() + 300, "caller": "cli"}, timeout=3)
    elapsed = time.monotonic() - t0
    assert err["code"] == -32800
    assert 0.2 < elapsed < 2
    assert plugin.result("wasCancelled", {"tag": "d1"}) == {"cancelled": True}
    # a deadline already passed stops the call at once
    err = plugin.error("sleep", {"ms": 10000, "tag": "d2"}, {"deadline": now_ms() - 1000}, timeout=3)
    assert err["code"] == -32800
    assert plugin.result("wasCancelled", {"tag": "d2"}) == {"cancelled": True}
    # a far deadline does not disturb a short call
    assert plugin.result("sleep", {"ms": 20, "tag": "d3"}, {"deadline": now_ms() + 60000}) == {"slept": 20}


def test_streaming_order(plugin):
    rid = plugin.request("stream", {"n": 50}, {"progressToken": "p-1", "caller": "cli"})
    values = []
    while True:
        m = plugin.expect(lambda m: m.get("id") == rid or m.get("method") == "$/progress")
        if m.get("id") == rid:
            assert m["result"] == {"count": 50}
            break
        assert m["params"]["token"] == "p-1"
        values.append(m["params"]["value"])
    assert values == [{"i": i} for i in range(50)]


def test_streaming_without_token_collects_chunks(plugin):
    assert plugin.result("stream", {"n": 3}) == [{"i": 0}, {"i": 1}, {"i": 2}]
    assert plugin.drain() == []  # no $/progress without a token


def test_call_other_round_trip(plugin):
    rid = plugin.request("callOther", {"method": "echo.reverse", "params": {"text": "hi"}})
    req = plugin.expect(lambda m: m.get("method") == "bkg/call")
    assert "id" in req and isinstance(req["id"], (int, str))
    assert req["params"]["method"] == "echo.reverse"
    assert req["params"]["params"] == {"text": "hi"}
    plugin.send({"jsonrpc": "2.0", "id": req["id"], "result": "ih"})
    assert plugin.response(rid)["result"] == "ih"

    # errors pass through with their code, message and data
    rid = plugin.request("callOther", {"method": "secret.thing"})
    req = plugin.expect(lambda m: m.get("method") == "bkg/call")
    assert req["params"]["params"] == {}
    plugin.send(
        {
            "jsonrpc": "2.0",
            "id": req["id"],
            "error": {"code": -33003, "message": "denied", "data": {"pattern": "echo.*"}},
        }
    )
    assert plugin.response(rid)["error"] == {"code": -33003, "message": "denied", "data": {"pattern": "echo.*"}}


def test_call_other_with_deadline_passes_timeout_and_cancels(plugin):
    rid = plugin.request("callOther", {"method": "slow.op"}, {"deadline": now_ms() + 400})
    req = plugin.expect(lambda m: m.get("method") == "bkg/call")
    assert 0 < req["params"]["timeoutMs"] <= 400
    # never answered: the deadline cancels the handler, which cancels its own bkg/call
    assert plugin.response(rid, timeout=3)["error"]["code"] == -32800
    cancel = plugin.notification("$/cancelRequest")
    assert cancel["params"] == {"id": req["id"]}


def test_emit_and_log(plugin):
    assert plugin.result("emit", {"event": "indexed", "data": {"docs": 3}}) is None
    assert plugin.notification("bkg/emit")["params"] == {"event": "indexed", "data": {"docs": 3}}
    assert plugin.result("emit", {"event": "bare"}) is None
    assert plugin.notification("bkg/emit")["params"] == {"event": "bare"}
    assert plugin.result("log", {"level": "warn", "msg": "careful"}) is None
    assert plugin.notification("bkg/log")["params"] == {"level": "warn", "msg": "careful"}


def test_meta(plugin):
    meta = {
        "deadline": now_ms() + 60000,
        "caller": "plugin:other",
        "progressToken": 7,
        "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    }
    assert plugin.result("meta", {"x": 1}, meta) == meta


def test_concurrency(plugin):
    t0 = time.monotonic()
    ids = [plugin.request("sleep", {"ms": 300}) for _ in range(10)]
    for rid in ids:
        assert plugin.response(rid, timeout=3)["result"] == {"slept": 300}
    elapsed = time.monotonic() - t0
    assert elapsed < 2.5, elapsed  # one at a time would take 3 s
    # a slow call does not delay a quick one, nor a ping
    slow = plugin.request("sleep", {"ms": 1500})
    t1 = time.monotonic()
    assert plugin.result("reverse", {"text": "ab"}) == "ba"
    plugin.result("bkg/ping", {})
    assert time.monotonic() - t1 < 1.0  # not behind the 1.5 s sleep
    assert plugin.response(slow, timeout=3)["result"] == {"slept": 1500}


def test_eight_mib_messages(plugin):
    n = 8 * 1024 * 1024
    assert plugin.result("size", {"blob": "x" * n}, timeout=15) == {"length": n}
    out = plugin.result("blob", {"bytes": n}, timeout=15)
    assert isinstance(out, str) and len(out) == n and set(out) == {"x"}
    assert plugin.result("reverse", {"text": "ok"}) == "ko"


def test_unicode(plugin):
    s = 'héllo wörld 日本語 😀👍🏽 \u0000 "quoted" \\ \u2028'
    assert plugin.result("reverse", {"text": s}) == "".join(reversed(s))
    assert plugin.result("size", {"blob": s}) == {"length": len(s)}
    assert plugin.result("size", {"blob": "😀" * 1000}) == {"length": 1000}
    assert plugin.result("echo", {"k😀": s}) == {"k😀": s}
    # Content-Length counts bytes: frames with multi-byte bodies arrive intact
    assert plugin.result("reverse", {"text": "ü" * 100000}) == "ü" * 100000


def test_framing_tolerance(plugin):
    # header names are case-insensitive; a Content-Type with charset utf-8 is accepted
    body = '{"jsonrpc":"2.0","id":"s1","method":"reverse","params":{"text":"éa"}}'.encode()
    plugin.send_raw(
        b"content-length: %d\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n" % len(body) + body
    )
    assert plugin.response("s1")["result"] == "aé"
    # two frames in one write, one frame split across writes
    a = b'{"jsonrpc":"2.0","id":"s2","method":"reverse","params":{"text":"12"}}'
    b = b'{"jsonrpc":"2.0","id":"s3","method":"reverse","params":{"text":"34"}}'
    data = b"Content-Length: %d\r\n\r\n%s" % (len(a), a) + b"Content-Length: %d\r\n\r\n%s" % (len(b), b)
    plugin.send_raw(data[:10])
    time.sleep(0.05)
    plugin.send_raw(data[10:])
    assert plugin.response("s2")["result"] == "21"
    assert plugin.response("s3")["result"] == "43"


def test_invalid_json_gets_parse_error(plugin):
    plugin.send_raw(b"Content-Length: 9\r\n\r\n{not json")
    err = plugin.expect(lambda m: m.get("id") is None and "error" in m)
    assert err["error"]["code"] == -32700
    assert plugin.result("reverse", {"text": "still ok"}) == "ko llits"


def test_shutdown_then_exit(plugin):
    rid = plugin.request("sleep", {"ms": 10000, "tag": "inflight"})
    time.sleep(0.05)
    t0 = time.monotonic()
    assert plugin.result("shutdown", None) is None
    # the in-flight call was cancelled and answered before the shutdown answer
    assert plugin.response(rid, timeout=1)["error"]["code"] == -32800
    assert time.monotonic() - t0 < 2
    plugin.notify("exit")
    assert plugin.wait_exit(3) == 0


def test_stdin_close_exits(plugin):
    plugin.request("sleep", {"ms": 10000})
    t0 = time.monotonic()
    plugin.close_stdin()
    code = plugin.wait_exit(3)
    assert time.monotonic() - t0 < 2
    assert code == 0


def test_stdin_close_before_initialize_exits(spawn):
    c = spawn(CONFORMANCE)
    time.sleep(0.2)
    c.close_stdin()
    assert c.wait_exit(3) == 0


def test_nothing_but_frames_on_stdout(plugin):
    plugin.result("reverse", {"text": "abc"})
    plugin.result("stream", {"n": 2}, {"progressToken": 1})
    plugin.result("log", {"level": "info", "msg": "x"})
    plugin.result("shutdown", None)
    plugin.notify("exit")
    assert plugin.wait_exit(3) == 0
    time.sleep(0.1)
    assert plugin.bad_stdout is None
