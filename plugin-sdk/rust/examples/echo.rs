//! A small plugin: `cargo run --example echo` (it speaks the protocol on stdin/stdout).

use bkg_plugin::{json, Level, Plugin, PluginError};
use std::time::Duration;

// With tokio's `macros` feature in your Cargo.toml, `#[tokio::main] async fn main()` and
// `.run().await` work the same.
fn main() {
    Plugin::new("echo", "1.0.0")
        .method(
            "reverse",
            "Reverses text",
            Some(json!({"type":"object","required":["text"],"properties":{"text":{"type":"string"}}})),
            |params, _ctx| async move {
                Ok(json!(params["text"].as_str().unwrap_or("").chars().rev().collect::<String>()))
            },
        )
        .streaming("stream", "Sends n chunks", None, |params, ctx| async move {
            let n = params["n"].as_u64().unwrap_or(3);
            for i in 0..n {
                ctx.sleep(Duration::from_millis(10)).await?; // -32800 if cancelled meanwhile
                ctx.progress(json!({ "i": i })).await;
            }
            Ok(json!({ "count": n }))
        })
        .method("shout", "Calls echo.reverse through the daemon, upper-cased", None, |params, ctx| async move {
            let reversed = ctx.call("echo.reverse", params, Some(Duration::from_secs(5))).await?;
            let text = reversed.as_str().ok_or_else(|| PluginError::msg("echo.reverse did not return a string"))?;
            ctx.emit("echo.shouted", json!({ "len": text.len() }));
            Ok(json!(text.to_uppercase()))
        })
        .event("echo.shouted")
        .on_activate(|ctx| async move {
            ctx.log(Level::Info, "activated", json!({ "dataDir": ctx.data_dir(), "config": ctx.config() }));
            Ok(())
        })
        .on_deactivate(|ctx| async move {
            ctx.info("bye");
            Ok::<(), PluginError>(())
        })
        .run_blocking()
}
