import t from "tap";
import { fileURLToPath } from "node:url";
import { Harness } from "../../../plugin-sdk/conformance/dist/harness.js";

const fixture = fileURLToPath(new URL("../../../plugin-sdk/conformance/fixtures/raw-node-plugin.mjs", import.meta.url));
const env = { NODE_OPTIONS: undefined, NODE_V8_COVERAGE: undefined };

t.test("an answer still in the pipe when the runner kills the plugin is not a violation", async (t) => {
  const h = new Harness({ command: [process.execPath, fixture], env });
  t.teardown(() => h.close());
  const { session: s } = await h.startMain();
  // Hold the answer in the pipe: it is read only after the session has given up on it.
  s.child.stdout.pause();
  const { answer } = s.send("sleep", h.withMeta({ ms: 10 }), 5_000);
  const rejected = answer.then(
    () => "answered",
    (e: Error) => e.message,
  );
  await new Promise((r) => setTimeout(r, 300));
  await s.kill();
  t.match(await rejected, /the runner stopped the plugin/, "the waiting call is told why");
  const closed = new Promise((r) => s.child.on("close", r));
  s.child.stdout.resume();
  await closed;
  t.same(s.violations, [], "the late answer to a call the runner sent is not a breach");
});
