/**
 * `bkg daemon install`: a systemd *user* unit that runs this checkout's daemon with this config,
 * so bkg starts at login (or at boot with `loginctl enable-linger`), like `pm2 startup`.
 * The system-wide unit with hardening options lives in deploy/.
 */
import { existsSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";

export interface UnitOptions {
  /** The node binary that runs the daemon (process.execPath). */
  node: string;
  /** node's flags for the daemon (daemonNodeFlags). */
  nodeFlags: readonly string[];
  /** bin/bkg of this checkout. */
  bin: string;
  /** The config file the daemon uses, absolute; absent when it runs on defaults. */
  config?: string;
  /** The folder the daemon runs in (the config's folder). */
  workingDirectory: string;
  name: string;
}

/** The unit file's text. Paths are quoted for systemd (spaces allowed). */
export function userUnit(o: UnitOptions): string {
  const q = (s: string) => `"${s.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  const exec = [o.node, ...o.nodeFlags, o.bin, ...(o.config ? ["--config", o.config] : []), "daemon", "start"].map(q).join(" ");
  return [
    "# Written by `bkg daemon install`. Remove with `bkg daemon uninstall`.",
    "[Unit]",
    `Description=bkg plugin runtime (${o.name})`,
    "After=network.target",
    "",
    "[Service]",
    "Type=simple",
    `WorkingDirectory=${q(o.workingDirectory)}`,
    `ExecStart=${exec}`,
    // SIGTERM is the daemon's graceful stop; its own shutdown timeouts end well before this one.
    "KillSignal=SIGTERM",
    "TimeoutStopSec=60",
    "Restart=on-failure",
    "RestartSec=2",
    // Logs go to the journal as JSON lines: `journalctl --user -u bkg`.
    "Environment=BKG_LOG_FORMAT=json",
    "",
    "[Install]",
    "WantedBy=default.target",
    "",
  ].join("\n");
}

/** Where systemd looks for user units: $XDG_CONFIG_HOME/systemd/user, else ~/.config/systemd/user. */
export function userUnitPath(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), ".config");
  return join(base, "systemd", "user", `${name}.service`);
}

/** Writes the unit; refuses to overwrite a different file unless `force`. Returns what it did. */
export function writeUserUnit(path: string, text: string, force: boolean): "written" | "unchanged" {
  if (existsSync(path) && !force) {
    if (readFileSync(path, "utf8") === text) return "unchanged";
    throw new Error(`${path} exists with other content; pass --force to replace it`);
  }
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, text, { mode: 0o644 });
  return "written";
}

/** Removes the unit file; false when there was none. */
export function removeUserUnit(path: string): boolean {
  if (!existsSync(path)) return false;
  unlinkSync(path);
  return true;
}
