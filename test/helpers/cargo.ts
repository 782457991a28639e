/**
 * The environment of every cargo build the tests make of a Rust plugin (candle, rustyface).
 *
 * Each build also runs clippy with warnings denied: cargo hands the plugin's own crate to
 * clippy-driver (`RUSTC_WORKSPACE_WRAPPER`, the mechanism `cargo clippy` itself uses) while its
 * dependencies compile with plain rustc as before. A lint then fails the build, and the plugin's
 * tests with it, at the cost of the lint pass alone. A separate `cargo clippy` would check the
 * plugins' large dependency trees (candle, ort) again from scratch: minutes on a clean 2-core
 * machine (measured: 3.5 min for candle, 2.5 for rustyface).
 */
import { homedir } from "node:os";
import { join } from "node:path";

const CACHE = process.env.BKG_TEST_CACHE ?? join(homedir(), ".cache", "bkg");

/** Cargo's target folder for one plugin, shared by every test run and clone (outside the repo). */
export function cargoTargetDir(plugin: string): string {
  return join(CACHE, "cargo-target", plugin);
}

/** clippy's own way of passing `-D warnings` to clippy-driver (what `cargo clippy -- -D warnings` sets). */
const DENY_WARNINGS = ["-D", "warnings"].join("__CLIPPY_HACKERY__");

/** The environment for a test build of `plugin`: its shared target folder, no colours, clippy -D warnings. */
export function cargoTestBuildEnv(plugin: string): Record<string, string> {
  return {
    CARGO_TARGET_DIR: cargoTargetDir(plugin),
    CARGO_TERM_COLOR: "never",
    RUSTC_WORKSPACE_WRAPPER: "clippy-driver",
    CLIPPY_ARGS: DENY_WARNINGS,
  };
}
