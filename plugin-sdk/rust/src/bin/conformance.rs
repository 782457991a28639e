//! The conformance plugin (plugin-sdk/conformance/CONTRACT.md), built with this SDK.
//!
//!     cargo build --release --bin conformance
//!     ./target/release/conformance

use bkg_plugin::{json, Level, Plugin, PluginError, Value};
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn main() {
    let cancelled_tags: Arc<Mutex<HashSet<String>>> = Arc::default();
    let tags_for_sleep = cancelled_tags.clone();
    let tags_for_check = cancelled_tags;

    Plugin::new("conformance", env!("CARGO_PKG_VERSION"))
        .method("echo", "Returns its params, without _meta", None, |params, _ctx| async move { Ok(params) })
        .method(
            "reverse",
            "Reverses text by Unicode code point",
            Some(json!({
                "type": "object",
                "required": ["text"],
                "properties": { "text": { "type": "string" } }
            })),
            |params, _ctx| async move {
                let text = params["text"].as_str().unwrap_or_default();
                Ok(json!(text.chars().rev().collect::<String>()))
            },
        )
        .method("fail", "Answers an error with code, message and data", None, |params, _ctx| async move {
            let message = params["message"].as_str().unwrap_or("failed").to_string();
            let code = params["code"].as_i64().unwrap_or(-33010);
            let mut err = PluginError::new(code, message);
            if let Some(data) = params.get("data") {
                err = err.with_data(data.clone());
            }
            Err(err)
        })
        .method("sleep", "Waits ms, unless cancelled", None, move |params, ctx| {
            let tags = tags_for_sleep.clone();
            async move {
                let ms = params["ms"].as_f64().unwrap_or(0.0).max(0.0) as u64;
                // ctx.sleep stops early with -32800 on $/cancelRequest or when _meta.deadline passes.
                match ctx.sleep(Duration::from_millis(ms)).await {
                    Ok(()) => Ok(json!({ "slept": ms })),
                    Err(e) => {
                        if let Some(tag) = params["tag"].as_str() {
                            tags.lock().unwrap().insert(tag.to_string());
                        }
                        let reason = ctx.cancel_reason().map(|r| format!("{r:?}"));
                        Err(e.with_data(json!({ "reason": reason })))
                    }
                }
            }
        })
        .method("wasCancelled", "Whether a sleep with this tag observed cancellation", None, move |params, _ctx| {
            let tags = tags_for_check.clone();
            async move {
                let tag = params["tag"].as_str().unwrap_or_default();
                let cancelled = tags.lock().unwrap().contains(tag);
                Ok(json!({ "cancelled": cancelled }))
            }
        })
        .streaming("stream", "Sends n progress values, then {count: n}", None, |params, ctx| async move {
            let n = params["n"].as_u64().unwrap_or(0);
            for i in 0..n {
                ctx.progress(json!({ "i": i })).await;
            }
            Ok(json!({ "count": n }))
        })
        .method("callOther", "Calls another method through the daemon (bkg/call)", None, |params, ctx| async move {
            let method =
                params["method"].as_str().ok_or_else(|| PluginError::invalid_params("method must be a string"))?;
            let inner = params.get("params").cloned().unwrap_or_else(|| json!({}));
            ctx.call(method, inner, None).await
        })
        .method("emit", "Sends bkg/emit", None, |params, ctx| async move {
            let event =
                params["event"].as_str().ok_or_else(|| PluginError::invalid_params("event must be a string"))?;
            ctx.emit(event, params.get("data").cloned().unwrap_or(Value::Null));
            Ok(Value::Null)
        })
        .method("log", "Sends bkg/log", None, |params, ctx| async move {
            let level: Level = params["level"].as_str().unwrap_or("info").parse()?;
            ctx.log(level, params["msg"].as_str().unwrap_or_default(), Value::Null);
            Ok(Value::Null)
        })
        .method("size", "Counts the code points of blob", None, |params, _ctx| async move {
            Ok(json!({ "length": params["blob"].as_str().unwrap_or_default().chars().count() }))
        })
        .method("blob", "Returns a string of `bytes` x characters", None, |params, _ctx| async move {
            let n = params["bytes"].as_u64().unwrap_or(0) as usize;
            Ok(Value::String("x".repeat(n)))
        })
        .method(
            "meta",
            "Returns the _meta the SDK received",
            None,
            |_params, ctx| async move { Ok(ctx.meta().clone()) },
        )
        .on_activate(|_ctx| async move {
            // Deliberately printed to stdout: the SDK points fd 1 at stderr, so this must not
            // corrupt the protocol stream (tests/protocol.rs checks it lands on stderr).
            println!("conformance: stray println from activate");
            Ok(())
        })
        .run_blocking()
}
