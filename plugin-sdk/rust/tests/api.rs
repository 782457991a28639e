//! The SDK's API (hooks, typed methods, panics, grace periods, context accessors), served
//! in-process with `Plugin::serve` over a Unix socket pair.
#![cfg(unix)]

mod common;

use bkg_plugin::{json, CancelReason, Level, Plugin, PluginError, Value};
use common::*;
use std::io::Write;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::task::JoinHandle;

/// The test's end of the socket; dropping it closes the plugin's input.
struct Input(UnixStream);

impl Write for Input {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.write(b)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.flush()
    }
}

impl Drop for Input {
    fn drop(&mut self) {
        let _ = self.0.shutdown(std::net::Shutdown::Write);
    }
}

/// A two-worker runtime per test (the SDK needs no tokio macros, so neither do its tests).
fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn start(plugin: Plugin) -> (PluginProc, JoinHandle<i32>) {
    let (ours, theirs) = UnixStream::pair().unwrap();
    let server = tokio::spawn(plugin.serve(theirs.try_clone().unwrap(), theirs));
    let client = PluginProc::from_streams(ours.try_clone().unwrap(), Input(ours));
    (client, server)
}

async fn exit_code(server: JoinHandle<i32>) -> i32 {
    tokio::time::timeout(Duration::from_secs(3), server).await.expect("serve returns").unwrap()
}

/// Blocking client calls run on the blocking pool so the plugin's tasks keep running.
async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    tokio::task::spawn_blocking(f).await.unwrap()
}

#[test]
fn activate_sees_config_and_holds_events_until_initialized() {
    rt().block_on(async {
    let seen = Arc::new(Mutex::new(Value::Null));
    let s = seen.clone();
    let plugin = Plugin::new("hooks", "2.3.4").event("hooks.ready").on_activate(move |ctx| async move {
        *s.lock().unwrap() = json!({
            "config": ctx.config(),
            "dataDir": ctx.data_dir(),
            "instance": ctx.instance_id(),
            "name": ctx.plugin_name(),
            "daemon": ctx.daemon_version(),
        });
        ctx.emit("hooks.ready", json!({"early": true}));
        let err = ctx.call("x.y", json!({}), None).await.unwrap_err();
        ctx.log(Level::Info, "activated", json!({"callError": err.message}));
        Ok(())
    });
    let (mut c, server) = start(plugin);
    let (c, answer) = blocking(move || {
        let r = c.initialize("1.0.0");
        (c, r)
    })
    .await;
    let res = result(&answer);
    assert_eq!(res["name"], "hooks");
    assert_eq!(res["version"], "2.3.4");
    assert_eq!(res["events"], json!(["hooks.ready"]));
    assert_eq!(res["methods"], json!([]));
    assert_eq!(
        *seen.lock().unwrap(),
        json!({"config": {"answer": 42}, "dataDir": "/tmp", "instance": "conformance#1", "name": "conformance", "daemon": "0.1.0"})
    );
    let mut c = blocking(move || {
        let mut c = c;
        let log = c.wait_method("bkg/log");
        assert_eq!(log["params"]["msg"], "activated");
        assert!(log["params"]["callError"].as_str().unwrap().contains("not allowed in activate"));
        // No event before `initialized`...
        assert!(c.next_timeout(Duration::from_millis(200)).is_none());
        c.notify("initialized", json!({}));
        // ...and it arrives after it.
        let e = c.wait_method("bkg/emit");
        assert_eq!(e["params"], json!({"event": "hooks.ready", "data": {"early": true}}));
        c
    })
    .await;
    c.close_stdin();
    assert_eq!(exit_code(server).await, 0);
    })
}

#[test]
fn activate_failure_fails_initialize() {
    rt().block_on(async {
        let plugin = Plugin::new("bad", "1.0.0")
            .method("m", "", None, |_p, _c| async { Ok(Value::Null) })
            .on_activate(|_ctx| async { Err(PluginError::new(-4001, "no database").with_data(json!({"path": "/x"}))) });
        let (c, server) = start(plugin);
        let mut c = blocking(move || {
            let mut c = c;
            let r = c.initialize("1.0.0");
            assert_eq!(code(&r), -4001);
            assert!(error(&r)["message"].as_str().unwrap().contains("no database"));
            assert_eq!(error(&r)["data"], json!({"path": "/x"}));
            c.notify("initialized", json!({}));
            let r = c.request(1, "m", json!({}));
            assert_eq!(code(&r), -33000);
            c.notify("exit", Value::Null);
            c
        })
        .await;
        assert_eq!(exit_code(server).await, 0);
        c.close_stdin();
    })
}

#[test]
fn deactivate_runs_once_on_shutdown_before_the_answer() {
    rt().block_on(async {
        let runs = Arc::new(AtomicUsize::new(0));
        let r2 = runs.clone();
        let plugin = Plugin::new("d", "1.0.0").on_deactivate(move |ctx| async move {
            r2.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_millis(50)).await;
            ctx.info("deactivated");
            Ok(())
        });
        let (c, server) = start(plugin);
        blocking(move || {
            let mut c = c.handshake();
            c.send_request(9, "shutdown", Value::Null);
            let log = c.next();
            assert_eq!(log["method"], "bkg/log", "deactivate's log comes before the answer: {log}");
            assert_eq!(log["params"], json!({"level": "info", "msg": "deactivated"}));
            assert_eq!(c.next(), json!({"jsonrpc": "2.0", "id": 9, "result": null}));
            c.notify("exit", Value::Null);
        })
        .await;
        assert_eq!(exit_code(server).await, 0);
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    })
}

#[test]
fn deactivate_runs_on_stdin_close_and_is_bounded() {
    rt().block_on(async {
        let done = Arc::new(AtomicBool::new(false));
        let d2 = done.clone();
        let plugin =
            Plugin::new("d", "1.0.0").hook_timeout(Duration::from_millis(300)).on_deactivate(move |ctx| async move {
                assert!(ctx.cancelled(), "lifecycle contexts are cancelled when the plugin stops");
                d2.store(true, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_secs(30)).await; // over the bound
                Ok(())
            });
        let (c, server) = start(plugin);
        let t = Instant::now();
        blocking(move || {
            let mut c = c.handshake();
            c.close_stdin();
        })
        .await;
        assert_eq!(exit_code(server).await, 0);
        assert!(done.load(Ordering::SeqCst));
        assert!(t.elapsed() < Duration::from_secs(2), "{:?}", t.elapsed());
    })
}

#[test]
fn handler_errors_panics_and_typed_params() {
    rt().block_on(async {
        // Any DeserializeOwned type works (a #[derive(Deserialize)] struct in real plugins).
        type Add = std::collections::BTreeMap<String, i64>;
        let plugin = Plugin::new("t", "1.0.0")
            .method("panics", "", None, |_p, _c| async move {
                if true {
                    panic!("kaboom");
                }
                Ok(Value::Null)
            })
            .method("parse", "", None, |p, _c| async move {
                let n: i64 = p["s"].as_str().unwrap_or("").parse()?; // a std error -> -33010
                Ok(json!(n))
            })
            .typed_method("add", "", None, |p: Add, _c| async move { Ok(p["a"] + p["b"]) });
        let (c, server) = start(plugin);
        blocking(move || {
            let mut c = c.handshake();
            let r = c.call(1, "panics", json!({}));
            assert_eq!(code(&r), -33010);
            assert!(error(&r)["message"].as_str().unwrap().contains("kaboom"));
            let r = c.call(2, "parse", json!({"s": "12"}));
            assert_eq!(result(&r), 12);
            let r = c.call(3, "parse", json!({"s": "x"}));
            assert_eq!(code(&r), -33010);
            assert!(error(&r)["message"].as_str().unwrap().contains("invalid digit"));
            let r = c.call(4, "add", json!({"a": 2, "b": 40}));
            assert_eq!(result(&r), 42);
            let r = c.call(5, "add", json!({"a": "two"}));
            assert_eq!(code(&r), -32602);
            // Non-object params are refused.
            let r = c.request(6, "add", json!([1, 2]));
            assert_eq!(code(&r), -32602);
            c.close_stdin();
        })
        .await;
        assert_eq!(exit_code(server).await, 0);
    })
}

#[test]
fn cancellation_grace_and_partial_answers() {
    rt().block_on(async {
        let finished = Arc::new(AtomicBool::new(false));
        let f2 = finished.clone();
        let plugin = Plugin::new("c", "1.0.0")
            .cancel_grace(Duration::from_millis(200))
            // Ignores cancellation: answered -32800 at once, aborted after the grace.
            .method("stubborn", "", None, move |_p, _c| {
                let f = f2.clone();
                async move {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                    f.store(true, Ordering::SeqCst);
                    Ok(json!("done"))
                }
            })
            // Answers with what it has when cancelled.
            .method("partial", "", None, |_p, ctx| async move {
                let mut n = 0;
                while !ctx.cancelled() {
                    n += 1;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Ok(json!({"partial": true, "reason": format!("{:?}", ctx.cancel_reason().unwrap()), "n": n > 0}))
            })
            .method("sleeper", "", None, |_p, ctx| async move {
                ctx.sleep(Duration::from_secs(30)).await?;
                Ok(Value::Null)
            });
        let (c, server) = start(plugin);
        let c = blocking(move || {
            let mut c = c.handshake();
            c.send_request(1, "stubborn", json!({}));
            std::thread::sleep(Duration::from_millis(50));
            let t = Instant::now();
            c.notify("$/cancelRequest", json!({"id": 1}));
            let r = c.response(&json!(1));
            assert_eq!(code(&r), -32800);
            assert!(t.elapsed() < Duration::from_millis(1000), "answered after {:?}", t.elapsed());

            c.send_request(2, "partial", json!({"_meta": {"deadline": now_ms() + 150}}));
            let r = c.response(&json!(2));
            assert_eq!(result(&r), &json!({"partial": true, "reason": "Deadline", "n": true}));

            c.send_request(3, "sleeper", json!({}));
            std::thread::sleep(Duration::from_millis(50));
            c.notify("$/cancelRequest", json!({"id": 3}));
            let r = c.response(&json!(3));
            assert_eq!(code(&r), -32800);
            // By now the stubborn handler would have finished, had it not been aborted.
            std::thread::sleep(Duration::from_millis(1700).saturating_sub(t.elapsed()));
            c
        })
        .await;
        assert!(!finished.load(Ordering::SeqCst), "the stubborn handler was aborted after the grace");
        drop(c);
        assert_eq!(exit_code(server).await, 0);
    })
}

#[test]
fn shutdown_cancels_calls_that_outlive_the_grace() {
    rt().block_on(async {
        let reason = Arc::new(Mutex::new(None));
        let r2 = reason.clone();
        let plugin = Plugin::new("s", "1.0.0").shutdown_grace(Duration::from_millis(100)).method(
            "wait",
            "",
            None,
            move |_p, ctx| {
                let r = r2.clone();
                async move {
                    let why = ctx.until_cancelled().await;
                    *r.lock().unwrap() = Some(why);
                    Err(PluginError::cancelled())
                }
            },
        );
        let (c, server) = start(plugin);
        blocking(move || {
            let mut c = c.handshake();
            c.send_request(1, "wait", json!({}));
            std::thread::sleep(Duration::from_millis(50));
            let t = Instant::now();
            c.send_request(2, "shutdown", Value::Null);
            let first = c.next();
            assert_eq!(first["id"], 1);
            assert_eq!(code(&first), -32800);
            let second = c.next();
            assert_eq!(second, json!({"jsonrpc":"2.0","id":2,"result":null}));
            assert!(t.elapsed() < Duration::from_secs(1));
            c.notify("exit", Value::Null);
        })
        .await;
        assert_eq!(exit_code(server).await, 0);
        assert_eq!(*reason.lock().unwrap(), Some(CancelReason::Shutdown));
    })
}

#[test]
fn context_accessors_and_log_fields() {
    rt().block_on(async {
    let plugin = Plugin::new("ctx", "1.0.0").method("who", "", None, |_p, ctx| async move {
        ctx.log(Level::Debug, "fields", json!({"ms": 41, "level": "ignored"}));
        ctx.log(Level::Error, "scalar", json!(7));
        Ok(json!({
            "id": ctx.id(),
            "method": ctx.method(),
            "caller": ctx.caller(),
            "deadline": ctx.deadline_ms(),
            "remainingOk": ctx.remaining().map(|r| r > Duration::from_secs(50)),
            "token": ctx.progress_token(),
            "trace": ctx.traceparent(),
            "cancelled": ctx.cancelled(),
            "config": ctx.config(),
        }))
    });
    let (c, server) = start(plugin);
    blocking(move || {
        let mut c = c.handshake();
        let deadline = now_ms() + 60_000;
        let r = c.request(
            "x1",
            "who",
            json!({"_meta": {"deadline": deadline, "caller": "plugin:other", "progressToken": "tok", "traceparent": "00-1-2-01"}}),
        );
        assert_eq!(
            result(&r),
            &json!({
                "id": "x1", "method": "who", "caller": "plugin:other", "deadline": deadline,
                "remainingOk": true, "token": "tok", "trace": "00-1-2-01", "cancelled": false,
                "config": {"answer": 42}
            })
        );
        let logs = c.drain_backlog();
        assert_eq!(logs[0]["params"], json!({"level": "debug", "msg": "fields", "ms": 41}));
        assert_eq!(logs[1]["params"], json!({"level": "error", "msg": "scalar", "data": 7}));
        c.close_stdin();
    })
    .await;
    assert_eq!(exit_code(server).await, 0);
    })
}

#[test]
fn bkg_call_local_timeout() {
    rt().block_on(async {
        let plugin = Plugin::new("t", "1.0.0").method("ask", "", None, |_p, ctx| async move {
            ctx.call("other.m", json!({}), Some(Duration::from_millis(100))).await
        });
        let (c, server) = start(plugin);
        blocking(move || {
            let mut c = c.handshake();
            let t = Instant::now();
            c.send_request(1, "ask", json!({}));
            let req = c.wait_method("bkg/call");
            assert_eq!(req["params"]["timeoutMs"], 100);
            // The daemon never answers: the SDK gives up after the timeout plus a second.
            let r = c.response(&json!(1));
            assert_eq!(code(&r), -33001);
            assert!(t.elapsed() >= Duration::from_millis(1000) && t.elapsed() < Duration::from_secs(3));
            let cancel = c.wait_method("$/cancelRequest");
            assert_eq!(cancel["params"]["id"], req["id"]);
            c.close_stdin();
        })
        .await;
        assert_eq!(exit_code(server).await, 0);
    })
}

#[test]
fn trace_context_and_bkg_call_passes_it_on() {
    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    rt().block_on(async {
        let plugin = Plugin::new("t", "1.0.0")
            .method("trace", "", None, |_p, ctx| async move {
                Ok(match ctx.trace() {
                    Some(t) => json!({"traceId": t.trace_id, "spanId": t.span_id, "sampled": t.sampled, "traceparent": t.traceparent}),
                    None => Value::Null,
                })
            })
            .method("ask", "", None, |_p, ctx| async move { ctx.call("other.m", json!({}), None).await });
        let (c, server) = start(plugin);
        blocking(move || {
            let mut c = c.handshake();
            let r = c.request("x1", "trace", json!({"_meta": {"traceparent": TP}}));
            assert_eq!(
                result(&r),
                &json!({"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7", "sampled": true, "traceparent": TP})
            );
            // malformed: no trace, never an error
            let r = c.request("x2", "trace", json!({"_meta": {"traceparent": "00-abc-def-01"}}));
            assert_eq!(result(&r), &Value::Null);
            c.send_request(3, "ask", json!({"_meta": {"traceparent": TP, "callId": "k9"}}));
            let req = c.wait_method("bkg/call");
            assert_eq!(req["params"]["traceparent"], TP);
            assert_eq!(req["params"]["parent"], "k9");
            c.send(&json!({"jsonrpc": "2.0", "id": req["id"], "result": 5}));
            assert_eq!(result(&c.response(&json!(3))), &json!(5));
            c.close_stdin();
        })
        .await;
        assert_eq!(exit_code(server).await, 0);
    })
}

#[test]
fn error_codes_match_the_protocol_table() {
    // src/protocol/src/error-codes.ts is the source of truth. A missing file fails the test:
    // a check that passes without comparing anything would hide a drifted table.
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../src/protocol/src/error-codes.ts");
    let ts = std::fs::read_to_string(path).unwrap_or_else(|e| {
        panic!("cannot read {path} ({e}): this test compares the SDK's error codes with the bkg repository's")
    });
    let start = ts.find("export const ErrorCodes = {").expect("ErrorCodes in error-codes.ts");
    let body = &ts[start..ts[start..].find("}").unwrap() + start];
    let mut table = vec![];
    for line in body.lines().skip(1) {
        let line = line.trim().trim_end_matches(',');
        if let Some((name, code)) = line.split_once(':') {
            table.push((name.trim().to_string(), code.trim().parse::<i64>().unwrap()));
        }
    }
    let ours: Vec<(String, i64)> =
        bkg_plugin::ErrorCode::ALL.iter().map(|c| (c.name().to_string(), c.code())).collect();
    assert_eq!(ours, table);
}
