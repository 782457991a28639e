// Builds the rustyface plugin (plugins/rustyface, Rust) in release mode for the tests and the
// bench, until the manifest's `build` step does it. Returns an error string, or undefined.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const RUSTYFACE_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "plugins", "rustyface");

export function buildRustyface(log = (m) => process.stderr.write(m + "\n")) {
  const bin = join(RUSTYFACE_DIR, "target", "release", "rustyface");
  log(`ensure-tools: cargo build --release in plugins/rustyface${existsSync(bin) ? "" : " (first build: about 3 minutes on 2 cores)"}`);
  const r = spawnSync("cargo", ["build", "--release", "--locked", "--quiet"], { cwd: RUSTYFACE_DIR, stdio: "inherit" });
  if (r.status !== 0) return `building plugins/rustyface failed (cargo build --release exited ${r.status}); see the output above`;
  return undefined;
}
