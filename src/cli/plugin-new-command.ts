/** bkg plugin new NAME --lang ts|python|rust [--dir D]: scaffolds a plugin, its test and its manifest. */
import { isAbsolute, relative } from "node:path";
import type { Command } from "commander";
import { LANG_NAMES, parseLang, scaffoldPlugin, ScaffoldError, type ScaffoldResult } from "../scaffold/scaffold.js";
import { configOrExit, type GlobalOptions } from "./connect-daemon.js";
import { CliExit, EXIT, printJson } from "./output.js";

export function registerPluginNewCommand(program: Command, globals: () => GlobalOptions): void {
  const plugin = program.command("plugin").description("create a plugin (bkg plugin new); see also bkg plugins and bkg dev");
  plugin
    .command("new <name>")
    .description(
      "scaffold a plugin with one method (NAME.greet), a test and a manifest. Default: the plugin in plugins/NAME beside the " +
        "manifests folder and its manifest in that folder (a running daemon starts it at once). --dir D: the plugin in D with " +
        "its manifest beside it as D/bkg.plugin.json (run it with bkg dev D)",
    )
    .option("-l, --lang <lang>", "ts | python | rust", "ts")
    .option("-d, --dir <dir>", "the plugin's own folder (created; must be empty); its manifest goes beside it")
    .option("--json", "print what was written as JSON")
    .action((name: string, o: { lang: string; dir?: string; json?: boolean }) => {
      let result: ScaffoldResult;
      try {
        const lang = parseLang(o.lang);
        const manifestsDir = o.dir === undefined ? configOrExit(globals()).manifestsDir : undefined;
        result = scaffoldPlugin({ name, lang, dir: o.dir, manifestsDir });
      } catch (e) {
        if (e instanceof ScaffoldError) throw new CliExit(EXIT.error, `bkg: ${e.message}`);
        throw e;
      }
      if (o.json) return printJson(result);
      printResult(result);
    });
}

const show = (p: string) => {
  const r = relative(process.cwd(), p);
  return r === "" ? "." : r.startsWith("..") || isAbsolute(r) ? p : r;
};

function printResult(r: ScaffoldResult): void {
  const out = (s = "") => process.stdout.write(`${s}\n`);
  const dir = show(r.pluginDir);
  out(`created ${r.name}, a ${LANG_NAMES[r.lang]} plugin, in ${dir}:`);
  for (const f of r.files) out(`  ${show(f)}${f === r.manifestFile ? "   (the manifest)" : ""}`);
  out();
  out("next:");
  const steps: [string, string][] = [];
  if (r.lang === "ts" && !r.insideBkg) steps.push([`(cd ${dir} && npm install)`, "installs the SDK (from this bkg checkout) and tsx"]);
  if (r.standalone) {
    steps.push([`bkg dev ${dir}`, "runs it on a daemon (started if none runs) and follows its logs; every save hot-swaps it"]);
  } else {
    steps.push(["bkg daemon start --detach", `unless a daemon runs already; it starts ${r.name} from ${show(r.manifestFile)}`]);
    steps.push([`bkg dev ${dir}`, "follows its logs; every save hot-swaps it"]);
  }
  steps.push([`bkg call ${r.name}.greet '{"who":"you"}'`, "-> hello, you"]);
  steps.push([`(cd ${dir} && ${{ ts: "npm test", python: "python3 -m pytest", rust: "cargo test --release" }[r.lang]})`, "its own test"]);
  const width = Math.max(...steps.map(([c]) => c.length));
  for (const [cmd, what] of steps) out(`  ${cmd.padEnd(width)}   ${what}`);
}
