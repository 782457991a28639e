/**
 * A pull's progress for people: in a terminal, one line redrawn in place (a bar, percent, MB,
 * speed); otherwise (a pipe, a CI log) a plain line per phase and every 10%.
 */
import type { ModelPullEvent } from "../events/index.js";

const WIDTH = 24;

export function progressPrinter(out: NodeJS.WriteStream): (e: ModelPullEvent) => void {
  const tty = Boolean(out.isTTY);
  let lastTenth = -1;
  let lastWhat = "";
  let started = Date.now();
  let drawn = false;
  const line = (s: string) => {
    if (tty) {
      out.write(`\r\x1b[2K${s}`);
      drawn = true;
    } else out.write(`${s}\n`);
  };
  const endLine = () => {
    if (tty && drawn) out.write("\n");
    drawn = false;
  };
  return (e) => {
    if (e.phase === "started") return line(`pulling ${e.model}`);
    if (e.phase === "prepare") {
      endLine();
      return line(`preparing ${e.model}`);
    }
    if (e.phase === "done" || e.phase === "failed") return endLine();
    if (e.received === undefined) return;
    if (e.what !== lastWhat) {
      if (lastWhat) endLine();
      lastWhat = e.what ?? "";
      lastTenth = -1;
      started = Date.now();
    }
    const frac = e.total ? Math.min(1, e.received / e.total) : undefined;
    const mbs = e.received / 1e6 / Math.max(0.001, (Date.now() - started) / 1000);
    const size = `${(e.received / 1e6).toFixed(1)}${e.total ? `/${(e.total / 1e6).toFixed(1)}` : ""} MB`;
    if (tty) {
      const bar = frac === undefined ? "" : `[${"#".repeat(Math.round(frac * WIDTH)).padEnd(WIDTH, ".")}] ${String(Math.floor(frac * 100)).padStart(3)}% `;
      return line(`${e.model}  ${short(lastWhat)}  ${bar}${size}  ${mbs.toFixed(1)} MB/s`);
    }
    const tenth = frac === undefined ? -1 : Math.floor(frac * 10);
    if (tenth === lastTenth) return;
    lastTenth = tenth;
    line(`${e.model}: ${lastWhat} ${frac === undefined ? "" : `${tenth * 10}% `}${size}`);
  };
}

function short(s: string): string {
  const tail = s.split("/").pop() ?? s;
  return tail.length > 40 ? `…${tail.slice(-39)}` : tail;
}
