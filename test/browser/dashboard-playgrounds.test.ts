/**
 * The dashboard's model pages in a real browser against a real daemon with the real plugins and
 * models: the Models page (list, pull from a loopback HTTP server with a live progress bar,
 * delete), the chat playground (SmolLM2 through /v1 streaming), the search playground (BrainML
 * with the embeddings plugin and all-MiniLM-L6-v2: modes, filters, highlights) and the faces
 * playground (RustyFace with YuNet + SFace: boxes and landmarks drawn, enroll, identify).
 * One browser, one daemon and one page for the file. Screenshots in .tap/artifacts/dashboard/.
 */
import t from "tap";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { launchBrowser } from "../helpers/browser.js";
import { brainmlManifest } from "../helpers/brainml.js";
import { startTestDaemon } from "../helpers/daemon.js";
import { embeddingsManifest } from "../helpers/embeddings-plugin.js";
import { facePhoto, RUSTYFACE_READY_MS, rustyfaceManifest } from "../helpers/faces.js";
import { tinyLlamaHeader } from "../helpers/gguf.js";
import { api } from "../helpers/http.js";
import { llmserverManifest, MODEL } from "../helpers/llm.js";
import { testModelsDir } from "../helpers/models.js";

// Four real plugins, three real models, a browser: far past tap's 120 s on a loaded 2-core machine.
t.setTimeout(RUSTYFACE_READY_MS + 15 * 60_000);

/** A GGUF that a loopback server sends slowly (64 KiB every 60 ms, about 3 s) so the bar is seen moving. */
const header = tinyLlamaHeader();
const GGUF = Buffer.concat([header, randomBytes(3_000_000 - header.length)]);
const files = createServer((req, res) => {
  if (req.url !== "/tiny.gguf") return void res.writeHead(404).end();
  res.writeHead(200, { "content-length": GGUF.length });
  let at = 0;
  const timer = setInterval(() => {
    const next = Math.min(GGUF.length, at + 65536);
    res.write(GGUF.subarray(at, next));
    at = next;
    if (at >= GGUF.length) {
      clearInterval(timer);
      res.end();
    }
  }, 60);
  res.on("close", () => clearInterval(timer));
});
await new Promise<void>((r) => files.listen(0, "127.0.0.1", r));
t.teardown(() => new Promise<void>((r) => files.close(() => r())));
const tinyUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}/tiny.gguf`;

// The daemon's own model store: links to the cached test models (never copied, never deleted), and
// the pulls of this test land beside them.
const cached = await testModelsDir([MODEL, "all-minilm-l6-v2", "yunet-sface"]);
const store = mkdtempSync(join(tmpdir(), "bkg-dash-models-"));
for (const name of [MODEL, "all-minilm-l6-v2", "yunet-sface"]) symlinkSync(join(cached, name), join(store, name));
t.teardown(() => rmSync(store, { recursive: true, force: true }));

t.test("the model pages and playgrounds against the real plugins", { timeout: RUSTYFACE_READY_MS + 15 * 60_000 }, async (t) => {
  const d = await startTestDaemon(
    {
      brainml: brainmlManifest({ backend: "sqlite" }),
      embeddings: embeddingsManifest(store),
      rustyface: rustyfaceManifest(),
      llmserver: llmserverManifest(store),
    },
    { models: { dir: store }, http: { rateLimit: { perCredential: 100000, perIp: 100000 } } },
  );
  const browser = await launchBrowser();
  t.teardown(async () => {
    await browser.close();
    await d.stop();
  });
  await d.waitState("brainml", "ready", 60_000);
  await d.waitState("embeddings", ["ready", "idle"], 60_000);
  // Its manifest builds it with cargo: minutes on a clean machine, shared with the rustyface tests.
  await d.waitState("rustyface", "ready", RUSTYFACE_READY_MS);
  const base = d.httpUrl!;
  const asRoot = api(base, d.rootToken());
  const { context, page, errors } = await browser.page(base);
  t.teardown(() => context.close());
  await page.goto("/login");
  await page.getByRole("tab", { name: "API key or token" }).click();
  await page.fill("#key", d.rootToken());
  await page.click("button[type=submit]");
  await page.getByTestId("whoami").waitFor();
  const nav = page.getByRole("navigation", { name: "Main" });
  for (const link of ["Models", "Chat playground", "Search playground", "Faces playground"]) {
    await nav.getByRole("link", { name: link }).waitFor();
  }
  t.pass("the nav lists the Models page and the three playgrounds (the daemon has their plugins)");

  t.test("Models: list with sizes and metadata; pull from a URL with a live progress bar; delete", async (t) => {
    await nav.getByRole("link", { name: "Models" }).click();
    const smol = page.getByTestId(`model-${MODEL}`);
    await smol.waitFor();
    t.match(await smol.textContent(), /gguf\s*93\.8 MiB/, "SmolLM2 with its format and size");
    t.match(await smol.textContent(), /architecture llama/, "and its metadata");
    t.match(await page.getByTestId("catalog-table").textContent(), /yunet-sface.*pulled/s, "the catalog says what is pulled");

    // Every value the bar takes, recorded in the page as it changes.
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { seen: string[] }).seen = []);
      new MutationObserver(() => {
        for (const el of document.querySelectorAll("[role=progressbar]")) seen.push(el.getAttribute("aria-valuenow") ?? "");
      }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["aria-valuenow"] });
    });
    await page.fill("#m-name", tinyUrl);
    await page.click("button[type=submit]:has-text('Pull')");
    await page.getByTestId("pull-progress").filter({ hasText: "tiny" }).waitFor();
    await page.locator("[data-testid=pull-progress][data-phase=fetch]").waitFor();
    // The screenshot part-way through (the recorder above is what checks that it moves).
    await page
      .waitForFunction(() => {
        const v = Number(document.querySelector("[role=progressbar]")?.getAttribute("aria-valuenow"));
        return v >= 20 && v < 100;
      })
      .catch(() => undefined);
    await browser.shot(page, "models-pulling");
    await page.getByTestId("model-tiny").waitFor({ timeout: 60_000 });
    await page.locator("[data-testid=pull-progress][data-phase=done]").waitFor();
    const seen = [...new Set(await page.evaluate(() => (window as unknown as { seen: string[] }).seen))].map(Number);
    const between = seen.filter((v) => v > 0 && v < 100);
    t.ok(between.length >= 2, `the bar moved through several values before 100% (${seen.join(", ")})`);
    t.ok(seen.includes(100), "and reached 100%");
    t.match(await page.getByTestId("model-tiny").textContent(), /gguf\s*2\.9 MiB/);
    t.ok(existsSync(join(store, "tiny", "model.json")), "the store has it");
    await browser.shot(page, "models");

    await page.getByTestId("delete-tiny").click();
    await page.getByTestId("confirm-ok").click();
    await page.getByTestId("model-tiny").waitFor({ state: "detached" });
    t.notOk(existsSync(join(store, "tiny")), "its folder is gone");
    const listed = (await asRoot("GET", "/api/models")).json.models.map((m: { name: string }) => m.name);
    t.notOk(listed.includes("tiny"), "the daemon no longer lists it");
    t.ok(listed.includes(MODEL), "the others stay");

    await page.fill("#m-name", "no-such-model");
    await page.click("button[type=submit]:has-text('Pull')");
    await page.getByRole("alert").filter({ hasText: "no-such-model" }).waitFor();
    t.pass("an unknown name is refused with the store's message");
  });

  t.test("Chat: SmolLM2 streams its answer through /v1/chat/completions", async (t) => {
    await nav.getByRole("link", { name: "Chat playground" }).click();
    await page.locator("#chat-model").waitFor();
    const options = await page.locator("#chat-model option").allTextContents();
    t.same(options, [MODEL], "only chat models are offered (not the embedding model)");
    await page.fill("#chat-max", "40");
    // Every length the answer takes, recorded as the page updates it.
    await page.evaluate(() => {
      const lengths: number[] = ((window as unknown as { lengths: number[] }).lengths = []);
      new MutationObserver(() => {
        const a = document.querySelectorAll("[data-testid=chat-assistant]");
        const last = a[a.length - 1];
        if (last) lengths.push(last.textContent!.replace("▍", "").trim().length);
      }).observe(document.querySelector("[data-testid=chat-log]")!, { subtree: true, childList: true, characterData: true });
    });
    await page.fill("#chat-input", "Name three colours of the rainbow.");
    await page.keyboard.press("Enter");
    await page.getByRole("button", { name: "Stop" }).waitFor();
    await page.getByRole("button", { name: "Send" }).waitFor({ timeout: 180_000 });
    const answer = (await page.getByTestId("chat-assistant").last().textContent())!.trim();
    t.ok(answer.length > 10, `the model answered: ${JSON.stringify(answer)}`);
    const lengths = [...new Set(await page.evaluate(() => (window as unknown as { lengths: number[] }).lengths))].filter((n) => n > 0);
    t.ok(lengths.length >= 3, `the answer grew in ${lengths.length} steps as tokens streamed (${lengths.slice(0, 12).join(", ")}…)`);
    t.equal(await page.getByRole("alert").count(), 0, "no error");
    await browser.shot(page, "chat");

    // Stop part-way: the request is aborted and the plugin's generation cancelled.
    await page.fill("#chat-max", "1000");
    await page.fill("#chat-input", "Tell me a long story about a dragon who learns to bake bread.");
    await page.keyboard.press("Enter");
    await page.waitForFunction(
      () => {
        const a = document.querySelectorAll("[data-testid=chat-assistant]");
        return a.length === 2 && (a[1].textContent ?? "").length > 30;
      },
      undefined,
      { timeout: 120_000 },
    );
    await page.getByRole("button", { name: "Stop" }).click();
    await page.getByRole("button", { name: "Send" }).waitFor();
    const partial = (await page.getByTestId("chat-assistant").last().textContent())!.trim();
    t.ok(partial.length >= 20, `the partial answer stays on the page (${partial.length} characters)`);
    t.equal(await page.getByRole("alert").count(), 0, "stopping is not an error");
    await d.waitFor(
      async () => (await asRoot("GET", "/api/plugins/llmserver")).json.instances.every((i: { inflight: number }) => i.inflight === 0),
      "the cancelled generation to end in the plugin",
      30_000,
    );
    t.pass("the plugin has no call in flight after Stop");
  });

  t.test("Search: create a collection, add documents, full text / vector / hybrid, filters, highlights", async (t) => {
    await nav.getByRole("link", { name: "Search playground" }).click();
    await page.getByTestId("no-collections").waitFor();
    await page.fill("#c-name", "handbook");
    await page.click("button[type=submit]:has-text('Create')");
    await page.locator("#s-collection").waitFor();
    const docs = [
      ["basalt", "Basalt is a volcanic rock that cools quickly from lava.", '{"kind": "rock", "hardness": 6}'],
      ["granite", "Granite is an igneous rock made of quartz and feldspar.", '{"kind": "rock", "hardness": 7}'],
      ["apple", "Apples grow in orchards; the Honeycrisp apple is crisp and sweet.", '{"kind": "fruit", "tags": ["red", "sweet"]}'],
    ];
    for (const [id, text, meta] of docs) {
      await page.fill("#d-id", id);
      await page.fill("#d-text", text);
      await page.fill("#d-meta", meta);
      await page.click("button[type=submit]:has-text('Add')");
      await page
        .getByRole("status")
        .filter({ hasText: `Added ${id}` })
        .waitFor({ timeout: 60_000 });
    }
    await page.locator("#s-collection option", { hasText: "handbook (3 docs, 3 chunks)" }).waitFor({ state: "attached" });
    t.pass("the collection list counts the three documents");

    const results = page.getByTestId("search-result");
    const search = async (query: string, mode: string) => {
      await page.fill("#s-query", query);
      await page.getByTestId(`mode-${mode}`).click();
      await page.click("button[type=submit]:has-text('Search')");
      await page.getByTestId("search-summary").filter({ hasText: mode }).waitFor();
    };
    await search("volcanic lava", "fts");
    t.equal(await results.count(), 1, "full text: only the document with the words");
    t.same(await results.first().locator("mark").allTextContents(), ["volcanic", "lava"], "the query's words are highlighted");

    await search("fruit trees", "vector");
    t.match(await results.first().textContent(), /#1 apple/, "vector: a paraphrase finds the apple");

    await search("volcanic rock", "hybrid");
    t.match(await results.first().textContent(), /#1 basalt.*full text #1.*vector #1/s, "hybrid: both modes' ranks shown");
    await browser.shot(page, "search");

    await page.getByTestId("add-filter").click();
    await page.selectOption("#f-field-0", "hardness");
    await page.selectOption("#f-op-0", "gte");
    await page.fill("#f-value-0", "7");
    await page.click("button[type=submit]:has-text('Search')");
    await page.getByTestId("search-summary").filter({ hasText: "1 result ·" }).waitFor();
    t.match(await results.first().textContent(), /#1 granite/, "the filter hardness >= 7 leaves granite");
    t.match(await results.first().textContent(), /hardness: 7/, "metadata shown");
    await browser.shot(page, "search-filtered");

    await page.getByRole("button", { name: "Remove filter 1" }).click();
    await page.fill("#s-query", "");
    await page.getByTestId("mode-fts").click();
    await page.click("button[type=submit]:has-text('Search')");
    await page.getByTestId("search-error").waitFor();
    t.match(await page.getByTestId("search-error").textContent(), /query/, "the plugin's own error is shown");
  });

  t.test("Faces: upload, boxes and landmarks drawn, enroll, identify against a dataset", async (t) => {
    await nav.getByRole("link", { name: "Faces playground" }).click();
    await page.getByTestId("no-image").waitFor();
    await page.fill("#f-new-dataset", "staff");
    await page.click("button[type=submit]:has-text('Create')");
    await page.locator("#f-dataset option", { hasText: "staff (0 people, 0 faces)" }).waitFor({ state: "attached" });

    // Each photo's size tells its summary from the previous photo's.
    const upload = async (photo: string, size: string) => {
      await page.locator("#f-image").setInputFiles(facePhoto(photo));
      await page
        .getByTestId("faces-summary")
        .filter({ hasText: ` in ${size} ` })
        .waitFor({ timeout: 60_000 });
    };
    await upload("person_a_1.jpg", "204×244");
    t.equal(await page.getByTestId("face-box").count(), 1, "one face boxed");
    t.equal(await page.getByTestId("face-landmark").count(), 5, "with its five landmarks");
    t.match(await page.getByTestId("faces-summary").textContent(), /1 face in 204×244/);
    await page.fill("#f-subject", "macron");
    await page.getByTestId("enroll").click();
    await page.getByTestId("enrolled").filter({ hasText: "macron enrolled in staff" }).waitFor();

    await upload("person_b_1.jpg", "716×900");
    await page.fill("#f-subject", "ardern");
    await page.getByTestId("enroll").click();
    await page.getByTestId("enrolled").filter({ hasText: "ardern enrolled in staff" }).waitFor();
    await page.locator("#f-dataset option", { hasText: "staff (2 people, 2 faces)" }).waitFor({ state: "attached" });
    t.pass("the dataset counts two people");

    await upload("person_b_2.jpg", "689×900");
    await page.getByTestId("identify").click();
    await page.getByTestId("face-match").filter({ hasText: "ardern" }).waitFor();
    t.match(await page.getByTestId("face-match").first().textContent(), /ardern\s*0\.\d{3}/, "another photo of her is identified, with the similarity");
    t.notMatch(await page.getByTestId("face-match").first().textContent(), /macron/, "not as the other person");
    await browser.shot(page, "faces-identified");

    // A photo over the upload size is scaled down in the browser and still found.
    await upload("astronaut.png", "512×512");
    t.equal(await page.getByTestId("face-box").count(), 1, "astronaut.png (790 KB, re-encoded before upload): one face");
    t.equal(await page.getByTestId("faces-error").count(), 0);
    await page.getByTestId("identify").click();
    await page.getByTestId("face-match").filter({ hasText: "nobody in staff" }).waitFor();
    t.pass("someone not enrolled is not matched to anyone");
    // The docs' screenshot: astronaut.png is public domain (NASA), the other photos are not ours to publish.
    await browser.shot(page, "faces");
  });

  t.test("no console errors on any of these pages", async (t) => {
    // Chromium logs every refused request; two were refused on purpose above (the unknown model: 404, the empty full-text query: 400).
    const refused = errors.filter((e) => /^Failed to load resource: the server responded with a status of (400|404)/.test(e));
    t.equal(refused.length, 2, "only the two refusals asked for");
    t.same(
      errors.filter((e) => !refused.includes(e)),
      [],
    );
    t.notMatch(d.output(), /"bug":true/, "the daemon logged no bug");
  });
});
