/**
 * The bcrypt worker (run by src/hash-pool.mjs in a worker thread). Synchronous bcryptjs is
 * right here: this thread does nothing else, and the plugin's own event loop never runs it.
 * Answers {result, ms} so the pool can estimate how long its queue takes to drain.
 */
import bcrypt from "bcryptjs";

/** @param {{op: "hash", password: string, rounds: number} | {op: "compare", password: string, hash: string}} job */
export default function run(job) {
  const t0 = performance.now();
  const result = job.op === "hash" ? bcrypt.hashSync(job.password, job.rounds) : bcrypt.compareSync(job.password, job.hash);
  return { result, ms: performance.now() - t0 };
}
