import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import t from "tap";
import { ROOT, startTestDaemon } from "../helpers/daemon.js";

const SDK = pathToFileURL(join(ROOT, "plugin-sdk/typescript/dist/index.js")).href;
const source = (greeting: string) => `import { definePlugin } from ${JSON.stringify(SDK)};
definePlugin({ name: "hello", version: "1.0.0", methods: {
  greet: { handler: ({ who = "world" }) => \`${greeting}, \${who}\` },
  slow: { handler: async () => { await new Promise((r) => setTimeout(r, 300)); return "${greeting}"; } },
} }).serve();
`;

t.test("a save to a watched file hot-swaps the plugin without losing a call", async (t) => {
  const d = await startTestDaemon({});
  t.teardown(() => d.stop());
  const dir = join(d.dir, "hello");
  mkdirSync(dir);
  writeFileSync(join(dir, "index.mjs"), source("hello"));
  writeFileSync(join(dir, "notes.txt"), "not watched");
  d.writeManifest("hello", { name: "hello", version: "1.0.0", command: ["node", "index.mjs"], cwd: dir, provides: ["greet"], watch: ["*.mjs"] });
  await d.waitState("hello", "ready");
  t.equal(await d.client.call("hello.greet", { who: "bkg" }), "hello, bkg");

  let failures = 0;
  let calls = 0;
  let running = true;
  const load = (async () => {
    while (running) {
      await Promise.all(
        Array.from({ length: 4 }, () =>
          d.client.call("hello.slow", {}).then(
            () => calls++,
            () => failures++,
          ),
        ),
      );
    }
  })();

  writeFileSync(join(dir, "index.mjs"), source("howdy"));
  await d.waitFor(async () => (await d.client.call("hello.greet", { who: "bkg" })) === "howdy, bkg", "the new version to answer");
  writeFileSync(join(dir, "notes.txt"), "still not watched");
  await new Promise((r) => setTimeout(r, 500));
  running = false;
  await load;
  t.equal(failures, 0, `no call failed during the swap (${calls} calls)`);
  const swaps = d.events.filter((e) => e.kind === "lifecycle" && e.plugin === "hello" && e.state === "swapped");
  t.equal(swaps.length, 1, "one swap: an unwatched file changes nothing");
  t.match(swaps[0], { reason: /files changed: index\.mjs/ });
});
