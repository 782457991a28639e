/**
 * The `initialize` exchange (docs/protocol.md §2.1) and the checks on the plugin's answer:
 * the protocol's own (protocolVersion, name, version, the shape of methods and events) and,
 * in the contract mode, what plugin-sdk/conformance/CONTRACT.md adds: name `conformance`,
 * every contract method, `reverse`'s paramsSchema and `stream`'s streaming flag.
 */
import { PROTOCOL_VERSION } from "@bkg/protocol";
import { isObject, preview } from "./util.js";

export const DAEMON_VERSION = "0.1.0";
export const PLUGIN_NAME = "conformance";

/** The methods every conformance plugin declares (CONTRACT.md). */
export const CONTRACT_METHODS = ["echo", "reverse", "fail", "sleep", "wasCancelled", "stream", "callOther", "emit", "log", "size", "blob", "meta"] as const;

export function initializeParams(instanceId: string, dataDir: string, protocolVersion = PROTOCOL_VERSION, name = PLUGIN_NAME) {
  return {
    protocolVersion,
    daemon: { version: DAEMON_VERSION },
    plugin: { name, instanceId, dataDir },
    config: {},
  };
}

/**
 * Which rules a run checks. `contract` (the default): the protocol and every method of
 * CONTRACT.md, for an SDK's conformance plugin. `protocol`: only what any plugin must do,
 * whatever its methods (docs/protocol.md), for real plugins and scaffolds.
 */
export type ConformanceMode = "contract" | "protocol";

/** Returns every problem with an initialize result; an empty list means it is valid. */
export function checkInitializeResult(result: unknown, mode: ConformanceMode = "contract"): string[] {
  if (!isObject(result)) return [`expected the initialize result to be an object, got ${preview(result)}`];
  const problems: string[] = [];
  const v = result.protocolVersion;
  const major = typeof v === "string" ? /^(\d+)\.\d+\.\d+/.exec(v)?.[1] : undefined;
  if (major === undefined) problems.push(`expected protocolVersion to be a semver string such as "1.0.0", got ${preview(v)}`);
  else if (major !== PROTOCOL_VERSION.split(".")[0]) problems.push(`expected protocolVersion with major ${PROTOCOL_VERSION.split(".")[0]}, got ${JSON.stringify(v)}`);
  if (mode === "contract") {
    if (result.name !== PLUGIN_NAME) problems.push(`expected name ${JSON.stringify(PLUGIN_NAME)}, got ${preview(result.name)}`);
  } else if (typeof result.name !== "string" || result.name === "") problems.push(`expected name to be a non-empty string, got ${preview(result.name)}`);
  if (typeof result.version !== "string" || result.version === "") problems.push(`expected version to be a non-empty string, got ${preview(result.version)}`);
  if (result.events !== undefined && (!Array.isArray(result.events) || !result.events.every((e) => typeof e === "string"))) {
    problems.push(`expected events to be an array of strings when present, got ${preview(result.events)}`);
  }
  if (!Array.isArray(result.methods)) {
    problems.push(`expected methods to be an array of {name, ...}, got ${preview(result.methods)}`);
    return problems;
  }
  const byName = new Map<string, Record<string, unknown>>();
  for (const m of result.methods) {
    if (!isObject(m) || typeof m.name !== "string" || m.name === "") problems.push(`expected every method to be an object with a non-empty string name, got ${preview(m)}`);
    else if (byName.has(m.name)) problems.push(`method ${JSON.stringify(m.name)} is declared twice`);
    else {
      byName.set(m.name, m);
      problems.push(...methodShapeProblems(m));
    }
  }
  if (mode === "protocol") return problems;
  const missing = CONTRACT_METHODS.filter((n) => !byName.has(n));
  if (missing.length > 0) problems.push(`methods lack ${missing.join(", ")} (the contract needs ${CONTRACT_METHODS.join(", ")}); got ${[...byName.keys()].join(", ") || "none"}`);
  const reverse = byName.get("reverse");
  if (reverse) {
    const why = reverseSchemaProblem(reverse.paramsSchema);
    if (why) problems.push(`reverse.paramsSchema: ${why}`);
  }
  const stream = byName.get("stream");
  if (stream && stream.streaming !== true) problems.push(`expected stream to declare "streaming": true, got ${preview(stream.streaming)}`);
  return problems;
}

function reverseSchemaProblem(schema: unknown): string | undefined {
  const want = `{"type":"object","required":["text"],"properties":{"text":{"type":"string"}}}`;
  if (!isObject(schema)) return `expected a schema like ${want}, got ${preview(schema)}`;
  if (schema.type !== "object") return `expected "type":"object", got ${preview(schema.type)}`;
  if (!Array.isArray(schema.required) || !schema.required.includes("text")) return `expected "required" to include "text", got ${preview(schema.required)}`;
  const props = schema.properties;
  const text = isObject(props) ? props.text : undefined;
  if (!isObject(text) || text.type !== "string") return `expected properties.text to be {"type":"string"}, got ${preview(text)}`;
  return undefined;
}

/** The optional fields of a method descriptor, when present, must have their types. */
function methodShapeProblems(m: Record<string, unknown>): string[] {
  const out: string[] = [];
  const at = `method ${JSON.stringify(m.name)}`;
  if (m.description !== undefined && typeof m.description !== "string") out.push(`${at}: expected description to be a string, got ${preview(m.description)}`);
  if (m.streaming !== undefined && typeof m.streaming !== "boolean") out.push(`${at}: expected streaming to be a boolean, got ${preview(m.streaming)}`);
  if (m.paramsSchema !== undefined && !isObject(m.paramsSchema) && typeof m.paramsSchema !== "boolean")
    out.push(`${at}: expected paramsSchema to be a JSON Schema (an object), got ${preview(m.paramsSchema)}`);
  return out;
}
