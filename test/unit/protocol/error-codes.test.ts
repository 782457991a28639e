/** Keeps the error table, docs/protocol.md, docs/errors.md and every SDK's list in step. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { ERROR_TABLE, ErrorCodes } from "@bkg/protocol";
import { ROOT } from "../../helpers/daemon.js";

t.test("ErrorCodes and ERROR_TABLE agree", async (t) => {
  t.same(Object.fromEntries(ERROR_TABLE.map((e) => [e.name, e.code])), ErrorCodes);
  for (const e of ERROR_TABLE) {
    if (e.code <= -33000 && e.code >= -33099) t.pass(`${e.name} is in bkg's band`);
    else t.ok((e.code >= -32768 && e.code <= -32000) || e.code === -32800, `${e.name} is a JSON-RPC (or LSP, for -32800) reserved code`);
  }
});

for (const doc of ["docs/protocol.md", "docs/errors.md"]) {
  t.test(`${doc} lists every code with the same meaning`, async (t) => {
    const text = readFileSync(join(ROOT, doc), "utf8");
    for (const e of ERROR_TABLE) t.ok(text.includes(`| ${e.code} | ${e.name} | ${e.meaning} |`), `${e.code} ${e.name}`);
  });
}

t.test("the Python SDK's ErrorCodes match", async (t) => {
  const py = readFileSync(join(ROOT, "plugin-sdk/python/src/bkg_plugin/errors.py"), "utf8");
  for (const e of ERROR_TABLE) t.ok(py.includes(`${e.name} = ${e.code}\n`), `${e.name} = ${e.code}`);
});

t.test("the Rust SDK's ErrorCode enum matches", async (t) => {
  const rs = readFileSync(join(ROOT, "plugin-sdk/rust/src/error.rs"), "utf8");
  for (const e of ERROR_TABLE) t.ok(rs.includes(`${e.name} = ${e.code},`), `${e.name} = ${e.code}`);
});
