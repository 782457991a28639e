/**
 * The node id: how one daemon's rows are told from another's in a shared store. It comes from
 * storage.nodeId (BKG_NODE_ID) when set; otherwise it is made once ("<hostname>-<6 hex>") and
 * kept in <dataDir>/node-id, so a restarted daemon keeps its identity.
 */
import { randomBytes } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";

export const NODE_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function resolveNodeId(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = join(dataDir, "node-id");
  try {
    const id = readFileSync(file, "utf8").trim();
    if (NODE_ID_PATTERN.test(id)) return id;
  } catch {
    /* first start */
  }
  const host =
    hostname()
      .replace(/[^A-Za-z0-9._-]/g, "-")
      .slice(0, 48) || "bkg";
  const id = `${host}-${randomBytes(3).toString("hex")}`;
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}
