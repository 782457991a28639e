/**
 * Issue 18.3: the Grafana dashboard shipped in deploy/grafana queries only metrics, and labels,
 * that a real daemon's /metrics exposes; a renamed metric fails here, not on an operator's screen.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import t from "tap";
import { ROOT, echoManifest, startTestDaemon } from "../helpers/daemon.js";

interface Panel {
  title: string;
  datasource: { uid: string };
  targets: Array<{ expr: string }>;
}
const dashboard = JSON.parse(readFileSync(join(ROOT, "deploy", "grafana", "bkg-dashboard.json"), "utf8")) as { panels: Panel[]; __inputs: Array<{ name: string }> };

/** Metric names in an expression (the families this daemon exports start with these prefixes). */
const metricsOf = (expr: string) => [...expr.matchAll(/\b((?:bkg|process|nodejs)_[a-z0-9_]+)\b/g)].map((m) => m[1]);
/** Label names an expression groups by or selects on. */
const labelsOf = (expr: string) => [
  ...[...expr.matchAll(/\bby \(([^)]*)\)/g)].flatMap((m) => m[1].split(",").map((s) => s.trim())),
  ...[...expr.matchAll(/\{([^}]*)\}/g)].flatMap((m) => [...m[1].matchAll(/(\w+)\s*(?:=~|!=|!~|=)/g)].map((l) => l[1])),
];

t.test("every metric and label the Grafana dashboard queries is in a real daemon's /metrics", async (t) => {
  t.ok(
    dashboard.__inputs.some((i) => i.name === "DS_PROMETHEUS"),
    "it asks for a Prometheus data source on import",
  );
  const d = await startTestDaemon({ echo: echoManifest() });
  t.teardown(() => d.stop());
  await d.waitState("echo", "ready");
  // Some traffic, so that the labelled series exist: calls, an error, a queue wait.
  await d.client.call("echo.reverse", { text: "abc" });
  await d.client.call("echo.fail", {}).catch(() => undefined);
  const res = await fetch(`${d.httpUrl}/metrics`, { headers: { authorization: `Bearer ${d.rootToken()}` } });
  t.equal(res.status, 200);
  const text = await res.text();

  const families = new Set([...text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((m) => m[1]));
  const labels = new Map<string, Set<string>>();
  for (const m of text.matchAll(/^([a-z_][a-z0-9_]*)\{([^}]*)\}/gm)) {
    const set = labels.get(m[1]) ?? new Set<string>();
    for (const l of m[2].matchAll(/(\w+)="/g)) set.add(l[1]);
    labels.set(m[1], set);
  }
  const family = (name: string) => name.replace(/_(bucket|sum|count)$/, "");

  let queried = 0;
  for (const panel of dashboard.panels) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's own ${DS_PROMETHEUS} placeholder, not a template
    t.equal(panel.datasource.uid, "${DS_PROMETHEUS}", `${panel.title}: the imported data source`);
    for (const { expr } of panel.targets) {
      const names = metricsOf(expr);
      t.ok(names.length > 0, `${panel.title}: ${expr} names a metric`);
      t.equal((expr.match(/\(/g) ?? []).length, (expr.match(/\)/g) ?? []).length, `${panel.title}: balanced parentheses`);
      for (const name of names) {
        queried++;
        t.ok(families.has(name) || families.has(family(name)), `${panel.title}: ${name} is exported`);
        const have = labels.get(name);
        // A family with no series yet (tokens need a model call) cannot show its labels.
        if (!have) continue;
        for (const label of labelsOf(expr).filter((l) => l !== "le" || name.endsWith("_bucket"))) {
          t.ok(have.has(label), `${panel.title}: ${name} has the label ${label}`);
        }
      }
    }
  }
  t.ok(queried >= 15, `the dashboard queries ${queried} metrics`);
});
