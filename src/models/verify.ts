/** Hashing stored files, and checking a pulled model against its model.json. */
import { createHash } from "node:crypto";
import { createReadStream, statSync } from "node:fs";
import { join } from "node:path";
import type { ModelRecord } from "./model-record.js";

/** The sha256 (hex) of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest("hex");
}

export interface VerifyProblem {
  file: string;
  problem: string;
}

/** Re-hashes every file of a record; an empty list means the model is intact. */
export async function verifyModel(modelsDir: string, rec: ModelRecord): Promise<VerifyProblem[]> {
  const problems: VerifyProblem[] = [];
  for (const file of Object.values(rec.files)) {
    const path = join(modelsDir, rec.name, file);
    try {
      statSync(path);
    } catch {
      problems.push({ file, problem: "missing" });
      continue;
    }
    const got = await sha256File(path);
    if (got !== rec.sha256[file]) problems.push({ file, problem: `sha256 ${got}, model.json says ${rec.sha256[file]}` });
  }
  return problems;
}
