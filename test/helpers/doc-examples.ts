/**
 * Reads a Markdown page's ```sh blocks as commands with what the page says they print, so a
 * test can run them as written (issue 11.6: the README and docs cannot drift from the code).
 *
 * What a page says a command prints, and how it is checked:
 * - `cmd   # -> text`: stdout is exactly `text`;
 * - `cmd   # error -33001 Name`: the command fails and says that;
 * - `cmd   # {"a":1} {"b":2}`: stdout, whitespace folded, is exactly that;
 * - a `# {...}` or `# [...]` line after a command: every string field it shows (one without
 *   "...") and every error `code` appears in stdout; numbers and ids differ from run to run.
 */
export interface DocCommand {
  /** The shell text, continuation lines joined. */
  shell: string;
  /** 1-based line in the page, for messages. */
  line: number;
  block: number;
  expect?: { kind: "exact" | "error" | "folded" | "fields"; text: string };
}

const FENCE = /^```(\w*)\s*$/;

/** Every fenced block of `lang` in the page, with the line its first line is on. */
export function fencedBlocks(markdown: string, lang: string): Array<{ lines: string[]; firstLine: number; before: string }> {
  const out: Array<{ lines: string[]; firstLine: number; before: string }> = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j])) j++;
    if (open[1] === lang) out.push({ lines: lines.slice(i + 1, j), firstLine: i + 2, before: lines.slice(Math.max(0, i - 3), i).join("\n") });
    i = j;
  }
  return out;
}

/** The page's shell commands in order. */
export function shellCommands(markdown: string): DocCommand[] {
  const commands: DocCommand[] = [];
  fencedBlocks(markdown, "sh").forEach((block, b) => {
    for (let k = 0; k < block.lines.length; k++) {
      const text = block.lines[k];
      if (/^\s*#/.test(text)) {
        const last = commands.at(-1);
        const shown = text.replace(/^\s*#\s?/, "");
        if (last && last.block === b && !last.expect && /^[{[]/.test(shown)) last.expect = { kind: "fields", text: shown };
        continue;
      }
      if (!text.trim()) continue;
      const line = block.firstLine + k;
      let shell = text;
      while (shell.endsWith("\\") && k + 1 < block.lines.length) shell = `${shell.slice(0, -1)} ${block.lines[++k].trim()}`;
      const comment = /\s{2,}#\s+(.*)$/.exec(shell);
      const cmd: DocCommand = { shell, line, block: b };
      if (comment) {
        const said = comment[1];
        if (said.startsWith("-> ")) cmd.expect = { kind: "exact", text: said.slice(3) };
        else if (/^error -\d+ \w+/.test(said)) cmd.expect = { kind: "error", text: said };
        else if (/^[{[]/.test(said)) cmd.expect = { kind: "folded", text: said };
      }
      commands.push(cmd);
    }
  });
  return commands;
}

/** The parts of a shown JSON output that are the same on every run: string fields and error codes. */
export function stableFields(shown: string): string[] {
  const fields: string[] = [];
  for (const m of shown.matchAll(/"(\w+)":("(?:[^"\\]|\\.)*"|-?\d+)/g)) {
    const [pair, key, value] = m;
    if (value.startsWith('"') ? value.includes("...") || value.includes("..") : key !== "code") continue;
    fields.push(pair);
  }
  return fields;
}
