//! The conformance plugin as a real subprocess, driven over its stdin/stdout.

mod common;

use common::*;
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const CONTRACT_METHODS: [&str; 12] =
    ["echo", "reverse", "fail", "sleep", "wasCancelled", "stream", "callOther", "emit", "log", "size", "blob", "meta"];

#[test]
fn handshake() {
    let mut p = PluginProc::spawn();
    let r = p.initialize("1.0.0");
    assert_eq!(r["jsonrpc"], "2.0");
    assert_eq!(r["id"], 0);
    let res = result(&r);
    assert_eq!(res["protocolVersion"], "1.0.0");
    assert_eq!(res["name"], "conformance");
    assert!(res["version"].is_string());
    let methods = res["methods"].as_array().unwrap();
    let names: Vec<&str> = methods.iter().map(|m| m["name"].as_str().unwrap()).collect();
    for m in CONTRACT_METHODS {
        assert!(names.contains(&m), "{m} missing from {names:?}");
    }
    let reverse = methods.iter().find(|m| m["name"] == "reverse").unwrap();
    assert_eq!(
        reverse["paramsSchema"],
        json!({"type":"object","required":["text"],"properties":{"text":{"type":"string"}}})
    );
    let stream = methods.iter().find(|m| m["name"] == "stream").unwrap();
    assert_eq!(stream["streaming"], true);
    let echo = methods.iter().find(|m| m["name"] == "echo").unwrap();
    assert!(echo.get("streaming").is_none());

    p.notify("initialized", json!({}));
    let r = p.call(1, "echo", json!({"a": 1}));
    assert_eq!(result(&r), &json!({"a": 1}));
    // A second initialize is refused.
    let r = p.initialize("1.0.0");
    assert_eq!(code(&r), -32600);
}

#[test]
fn protocol_mismatch() {
    let mut p = PluginProc::spawn();
    let r = p.initialize("2.0.0");
    assert_eq!(code(&r), -33006);
    let msg = error(&r)["message"].as_str().unwrap();
    assert!(msg.contains("2.0.0") && msg.contains("1.0.0"), "{msg}");
    // It waits for exit; calls meanwhile are refused, pings still answered.
    let r = p.request(1, "echo", json!({}));
    assert!(r.get("error").is_some(), "{r}");
    let r = p.request(2, "bkg/ping", json!({}));
    assert!(result(&r)["now"].is_u64());
    p.notify("exit", Value::Null);
    let status = p.wait_exit(Duration::from_secs(2)).expect("exits after exit");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn protocol_minor_versions_are_accepted() {
    let mut p = PluginProc::spawn();
    let r = p.initialize("1.7.3");
    assert_eq!(result(&r)["protocolVersion"], "1.0.0");
}

#[test]
fn reverse_by_code_point() {
    let mut p = PluginProc::ready();
    for (i, text) in
        ["abc", "", "héllo wörld", "日本語のテキスト", "🎉👍🏽 mixed ∑ ascii", "a\u{0301}b"].iter().enumerate()
    {
        let r = p.call(i as u64 + 1, "reverse", json!({ "text": text }));
        let want: String = text.chars().rev().collect();
        assert_eq!(result(&r), &json!(want), "reverse {text:?}");
    }
}

#[test]
fn echo_strips_meta_and_meta_reads_it() {
    let mut p = PluginProc::ready();
    let meta = json!({"deadline": now_ms() + 60_000, "caller": "client:3", "traceparent": "00-abc-def-01"});
    let r = p.request(1, "echo", json!({"x": [1, 2], "s": "t", "_meta": meta.clone()}));
    assert_eq!(result(&r), &json!({"x": [1, 2], "s": "t"}));
    let r = p.request(2, "meta", json!({"_meta": meta.clone()}));
    assert_eq!(result(&r), &meta);
    // Params may be missing: the handler gets an empty object.
    let r = p.send_and_wait_no_params(3, "echo");
    assert_eq!(result(&r), &json!({}));
}

trait NoParams {
    fn send_and_wait_no_params(&mut self, id: u64, method: &str) -> Value;
}

impl NoParams for PluginProc {
    fn send_and_wait_no_params(&mut self, id: u64, method: &str) -> Value {
        self.send(&json!({"jsonrpc":"2.0","id":id,"method":method}));
        self.response(&json!(id))
    }
}

#[test]
fn fail_codes() {
    let mut p = PluginProc::ready();
    let r = p.call(1, "fail", json!({"message": "boom"}));
    assert_eq!(error(&r), &json!({"code": -33010, "message": "boom"}));
    let r = p.call(2, "fail", json!({"message": "custom", "code": -1234, "data": {"why": [1, "two"]}}));
    assert_eq!(error(&r), &json!({"code": -1234, "message": "custom", "data": {"why": [1, "two"]}}));
    let r = p.call(3, "fail", json!({"message": "m", "code": 4000, "data": null}));
    assert_eq!(error(&r)["code"], 4000);
    assert_eq!(error(&r)["data"], Value::Null);
}

#[test]
fn unknown_method_names_the_known_ones() {
    let mut p = PluginProc::ready();
    let r = p.call(1, "nope", json!({}));
    assert_eq!(code(&r), -32601);
    let msg = error(&r)["message"].as_str().unwrap();
    assert!(msg.contains("nope"), "{msg}");
    for m in CONTRACT_METHODS {
        assert!(msg.contains(m), "{m} not named in {msg}");
    }
}

#[test]
fn string_ids_are_answered_with_the_same_id() {
    let mut p = PluginProc::ready();
    let r = p.request("req-7", "reverse", json!({"text": "ab"}));
    assert_eq!(r["id"], "req-7");
    assert_eq!(result(&r), "ba");
}

#[test]
fn cancellation_is_observed() {
    let mut p = PluginProc::ready();
    p.send_request(1, "sleep", json!({"ms": 10_000, "tag": "t1", "_meta": {"deadline": now_ms() + 60_000}}));
    std::thread::sleep(Duration::from_millis(100));
    let t = Instant::now();
    p.notify("$/cancelRequest", json!({"id": 1}));
    let r = p.response(&json!(1));
    assert_eq!(code(&r), -32800);
    assert!(t.elapsed() < Duration::from_secs(1), "answered after {:?}", t.elapsed());
    assert!(p.was_cancelled("t1", Duration::from_secs(1)), "the sleep observed its cancellation");
    let r = p.call(3, "wasCancelled", json!({"tag": "never"}));
    assert_eq!(result(&r), &json!({"cancelled": false}));
    // A cancel for an unknown or finished id is ignored.
    p.notify("$/cancelRequest", json!({"id": 1}));
    p.notify("$/cancelRequest", json!({"id": 999}));
    let r = p.call(4, "sleep", json!({"ms": 10, "tag": "t2"}));
    assert_eq!(result(&r), &json!({"slept": 10}));
    let r = p.call(5, "wasCancelled", json!({"tag": "t2"}));
    assert_eq!(result(&r), &json!({"cancelled": false}));
}

#[test]
fn deadline_cancels_by_itself() {
    let mut p = PluginProc::ready();
    let t = Instant::now();
    let r = p.request(
        1,
        "sleep",
        json!({"ms": 10_000, "tag": "d1", "_meta": {"deadline": now_ms() + 300, "caller": "cli"}}),
    );
    let took = t.elapsed();
    assert_eq!(code(&r), -32800);
    assert!(took >= Duration::from_millis(250) && took < Duration::from_millis(2000), "took {took:?}");
    assert!(p.was_cancelled("d1", Duration::from_secs(1)), "the sleep observed its cancellation");
    // A deadline already past cancels at once.
    let t = Instant::now();
    let r = p.request(3, "sleep", json!({"ms": 10_000, "tag": "d2", "_meta": {"deadline": now_ms() - 1000}}));
    assert_eq!(code(&r), -32800);
    assert!(t.elapsed() < Duration::from_millis(1000));
}

#[test]
fn streaming_in_order() {
    let mut p = PluginProc::ready();
    let n = 200;
    p.send_request(1, "stream", json!({"n": n, "_meta": {"progressToken": "p-1", "deadline": now_ms() + 30_000}}));
    let mut seen = 0;
    loop {
        let m = p.next();
        if m.get("method") == Some(&json!("$/progress")) {
            assert_eq!(m["params"]["token"], "p-1");
            assert_eq!(m["params"]["value"], json!({"i": seen}));
            seen += 1;
        } else {
            assert_eq!(m["id"], 1, "{m}");
            assert_eq!(result(&m), &json!({"count": n}));
            break;
        }
    }
    assert_eq!(seen, n);
    // A numeric token is echoed as a number.
    p.send_request(2, "stream", json!({"n": 1, "_meta": {"progressToken": 77}}));
    let m = p.next();
    assert_eq!(m["params"], json!({"token": 77, "value": {"i": 0}}));
    assert_eq!(result(&p.next()), &json!({"count": 1}));
}

#[test]
fn streaming_without_token_collects_chunks() {
    let mut p = PluginProc::ready();
    let r = p.call(1, "stream", json!({"n": 3}));
    assert_eq!(result(&r), &json!([{"i": 0}, {"i": 1}, {"i": 2}]));
    assert!(p.drain_backlog().is_empty());
}

#[test]
fn bkg_call_round_trip() {
    let mut p = PluginProc::ready();
    p.send_request(
        1,
        "callOther",
        json!({"method": "echo.reverse", "params": {"text": "hi"}, "_meta": {"deadline": now_ms() + 30_000}}),
    );
    let req = p.wait_method("bkg/call");
    assert_eq!(req["jsonrpc"], "2.0");
    assert_eq!(req["params"]["method"], "echo.reverse");
    assert_eq!(req["params"]["params"], json!({"text": "hi"}));
    // The nested call's timeout is bounded by the caller's deadline.
    let t = req["params"]["timeoutMs"].as_u64().expect("timeoutMs from the deadline");
    assert!(t > 25_000 && t <= 30_000, "{t}");
    let cid = req["id"].clone();
    assert!(cid.is_string() || cid.is_number());
    p.send(&json!({"jsonrpc":"2.0","id":cid,"result":"ih"}));
    let r = p.response(&json!(1));
    assert_eq!(result(&r), "ih");

    // Errors pass through with their code, message and data.
    p.send_request(2, "callOther", json!({"method": "secret.read"}));
    let req = p.wait_method("bkg/call");
    assert_eq!(req["params"]["method"], "secret.read");
    let cid2 = req["id"].clone();
    assert_ne!(cid2, cid, "call ids are unique");
    p.send(&json!({"jsonrpc":"2.0","id":cid2,"error":{"code":-33003,"message":"denied","data":{"pattern":"x.*"}}}));
    let r = p.response(&json!(2));
    assert_eq!(error(&r), &json!({"code":-33003,"message":"denied","data":{"pattern":"x.*"}}));
}

#[test]
fn cancelling_a_call_cancels_its_bkg_call() {
    let mut p = PluginProc::ready();
    p.send_request(1, "callOther", json!({"method": "slow.thing", "params": {}}));
    let req = p.wait_method("bkg/call");
    let cid = req["id"].clone();
    p.notify("$/cancelRequest", json!({"id": 1}));
    let cancel = p.wait_method("$/cancelRequest");
    assert_eq!(cancel["params"]["id"], cid);
    let r = p.response(&json!(1));
    assert_eq!(code(&r), -32800);
    // A late answer to the abandoned call is ignored.
    p.send(&json!({"jsonrpc":"2.0","id":cid,"result":"late"}));
    let r = p.call(2, "reverse", json!({"text": "ok"}));
    assert_eq!(result(&r), "ko");
}

#[test]
fn calls_are_concurrent() {
    let mut p = PluginProc::ready();
    let t = Instant::now();
    for i in 0..10u64 {
        p.send_request(i + 1, "sleep", json!({"ms": 300, "_meta": {"deadline": now_ms() + 30_000}}));
    }
    // A ping is answered while every call sleeps (before any of them is answered).
    let ping = p.request(100, "bkg/ping", json!({}));
    assert!(p.drain_backlog().is_empty(), "a sleep was answered before the ping");
    assert!(t.elapsed() < Duration::from_millis(1000), "ping waited {:?}", t.elapsed());
    let now = result(&ping)["now"].as_u64().unwrap();
    assert!(now.abs_diff(now_ms()) < 5_000);
    for i in 0..10u64 {
        let r = p.response(&json!(i + 1));
        assert_eq!(result(&r), &json!({"slept": 300}));
    }
    let took = t.elapsed();
    assert!(took < Duration::from_secs(2), "10 x 300 ms took {took:?}");
    assert!(took >= Duration::from_millis(300));
}

#[test]
fn eight_mib_messages() {
    let mut p = PluginProc::ready();
    let n = 8 * 1024 * 1024;
    // In: an 8 MiB blob, with multi-byte characters so bytes and code points differ.
    let mut blob = "x".repeat(n - 12);
    blob.push_str("éé€€🎉"); // 2+2+3+3+4 = 14 bytes, 5 code points
    let chars = blob.chars().count();
    let r = p.call(1, "size", json!({ "blob": blob }));
    assert_eq!(result(&r), &json!({ "length": chars }));
    // Out: an 8 MiB string.
    let r = p.call(2, "blob", json!({ "bytes": n }));
    let s = result(&r).as_str().unwrap();
    assert_eq!(s.len(), n);
    assert!(s.bytes().all(|b| b == b'x'));
    // Still healthy after.
    let r = p.call(3, "reverse", json!({"text": "ok"}));
    assert_eq!(result(&r), "ko");
}

#[test]
fn emit_and_log() {
    let mut p = PluginProc::ready();
    let r = p.call(1, "emit", json!({"event": "indexed", "data": {"docs": 3}}));
    assert_eq!(result(&r), &Value::Null);
    let e = p.wait_method("bkg/emit");
    assert_eq!(e["params"], json!({"event": "indexed", "data": {"docs": 3}}));
    assert!(e.get("id").is_none());
    let r = p.call(2, "log", json!({"level": "warn", "msg": "careful"}));
    assert_eq!(result(&r), &Value::Null);
    let l = p.wait_method("bkg/log");
    assert_eq!(l["params"]["level"], "warn");
    assert_eq!(l["params"]["msg"], "careful");
    assert!(l.get("id").is_none());
}

#[test]
fn shutdown_then_exit_code_0() {
    let mut p = PluginProc::ready();
    let r = p.request(7, "shutdown", Value::Null);
    assert_eq!(r, json!({"jsonrpc":"2.0","id":7,"result":null}));
    // New calls are refused once shutdown is received.
    let r = p.call(8, "echo", json!({}));
    assert!(r.get("error").is_some(), "{r}");
    p.notify("exit", Value::Null);
    let status = p.wait_exit(Duration::from_secs(2)).expect("exits within 2 s of exit");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn shutdown_lets_in_flight_calls_finish() {
    let mut p = PluginProc::ready();
    p.send_request(1, "sleep", json!({"ms": 300}));
    std::thread::sleep(Duration::from_millis(50));
    p.send_request(2, "shutdown", Value::Null);
    let first = p.next();
    assert_eq!(first["id"], 1, "the in-flight call is answered before shutdown: {first}");
    assert_eq!(result(&first), &json!({"slept": 300}));
    let second = p.next();
    assert_eq!(second["id"], 2);
    assert_eq!(result(&second), &Value::Null);
    p.notify("exit", Value::Null);
    assert_eq!(p.wait_exit(Duration::from_secs(2)).unwrap().code(), Some(0));
}

#[test]
fn exit_without_shutdown() {
    let mut p = PluginProc::ready();
    p.send_request(1, "sleep", json!({"ms": 60_000}));
    p.notify("exit", Value::Null);
    let status = p.wait_exit(Duration::from_secs(2)).expect("exits within 2 s");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn stdin_close_exits() {
    let mut p = PluginProc::ready();
    p.send_request(1, "sleep", json!({"ms": 60_000}));
    std::thread::sleep(Duration::from_millis(50));
    let t = Instant::now();
    p.close_stdin();
    let status = p.wait_exit(Duration::from_secs(2)).expect("exits within 2 s of stdin closing");
    assert!(t.elapsed() < Duration::from_secs(2));
    assert_eq!(status.code(), Some(0));
}

#[test]
fn stdin_close_before_initialize_exits() {
    let mut p = PluginProc::spawn();
    p.close_stdin();
    let status = p.wait_exit(Duration::from_secs(2)).expect("exits within 2 s");
    assert_eq!(status.code(), Some(0));
}

#[test]
fn bad_json_is_answered_and_survived() {
    let mut p = PluginProc::ready();
    p.send_raw(b"Content-Length: 7\r\n\r\n{oops!}");
    let r = p.next();
    assert_eq!(r["id"], Value::Null);
    assert_eq!(code(&r), -32700);
    // Not JSON-RPC: a request without jsonrpc "2.0".
    p.send(&json!({"id": 5, "method": "echo", "params": {}}));
    let r = p.response(&json!(5));
    assert_eq!(code(&r), -32600);
    let r = p.call(6, "reverse", json!({"text": "still here"}));
    assert_eq!(result(&r), "ereh llits");
}

#[test]
fn broken_framing_exits() {
    let mut p = PluginProc::ready();
    p.send_raw(b"this is not a frame\r\n\r\n");
    let status = p.wait_exit(Duration::from_secs(2)).expect("exits on a broken stream");
    assert_ne!(status.code(), Some(0));
    assert!(p.stderr_contains("broken input stream", Duration::from_secs(2)), "stderr: {}", p.stderr.lock().unwrap());
}

#[test]
fn case_insensitive_headers_and_content_type() {
    let mut p = PluginProc::ready();
    let body = br#"{"jsonrpc":"2.0","id":1,"method":"reverse","params":{"text":"abc"}}"#;
    let mut frame =
        format!("content-type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-LENGTH: {}\r\n\r\n", body.len())
            .into_bytes();
    frame.extend_from_slice(body);
    // Split the frame across writes, mid-header and mid-body.
    p.send_raw(&frame[..10]);
    std::thread::sleep(Duration::from_millis(20));
    p.send_raw(&frame[10..80]);
    std::thread::sleep(Duration::from_millis(20));
    p.send_raw(&frame[80..]);
    let r = p.response(&json!(1));
    assert_eq!(result(&r), "cba");
}

#[test]
fn ping_before_and_after_initialize() {
    let mut p = PluginProc::spawn();
    let r = p.request(1, "bkg/ping", json!({}));
    let now = result(&r)["now"].as_u64().unwrap();
    assert!(now.abs_diff(now_ms()) < 5_000);
    let r = p.initialize("1.0.0");
    assert!(r.get("result").is_some());
}

#[test]
fn stray_println_goes_to_stderr() {
    // The conformance plugin println!s in activate; the SDK must keep stdout for frames.
    let mut p = PluginProc::ready();
    let r = p.call(1, "reverse", json!({"text": "ab"}));
    assert_eq!(result(&r), "ba");
    assert!(p.stderr_contains("conformance: stray println from activate", Duration::from_secs(2)));
}
