/**
 * Scopes that name models: "<action pattern>:<model glob>", e.g. "llmserver.chat:smollm2-*" or
 * "*.chat:*-instruct". The action part has the grammar of manifest permissions (permits()); the
 * model part is a glob over the model's name (`*` any run of characters, `?` one character).
 * A scope without a colon is what it always was: any model. A model-scoped scope matches only
 * calls that name a model (the /v1 routes always do; /api/call does when its params have a
 * string `model`), so such a key can never reach a default model it was not given.
 */
import { permits } from "@bkg/protocol";

/** "llmserver.chat:smollm2-*" -> {action: "llmserver.chat", model: "smollm2-*"}; no colon -> model undefined. */
export function splitScope(scope: string): { action: string; model?: string } {
  const colon = scope.indexOf(":");
  return colon < 0 ? { action: scope } : { action: scope.slice(0, colon), model: scope.slice(colon + 1) };
}

const globCache = new Map<string, RegExp>();

/** Does `glob` (`*`, `?`, everything else literal) match the whole of `name`? */
export function modelGlobMatches(glob: string, name: string): boolean {
  let re = globCache.get(glob);
  if (!re) {
    const body = glob
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".");
    re = new RegExp(`^${body}$`);
    if (globCache.size > 1000) globCache.clear();
    globCache.set(glob, re);
  }
  return re.test(name);
}

/** The model a call's params name (a string `model`), for model-scoped keys. */
export function modelOf(params: unknown): string | undefined {
  const m = params && typeof params === "object" && !Array.isArray(params) ? (params as { model?: unknown }).model : undefined;
  return typeof m === "string" ? m : undefined;
}

/** Does `scope` allow `action` (for a call naming `model`, if it names one)? */
export function scopeAllows(scope: string, action: string, model?: string): boolean {
  const s = splitScope(scope);
  if (!permits(s.action, action)) return false;
  if (s.model === undefined) return true;
  return model !== undefined && modelGlobMatches(s.model, model);
}

/**
 * Is `target` allowed for `p`'s scopes only through model-scoped ones? Then the call's model
 * must be read from its params before it can be authorized (the /api/call route does so).
 */
export function onlyModelScoped(scopes: readonly string[], target: string): boolean {
  let modelScoped = false;
  for (const scope of scopes) {
    const s = splitScope(scope);
    if (!permits(s.action, target)) continue;
    if (s.model === undefined) return false;
    modelScoped = true;
  }
  return modelScoped;
}
