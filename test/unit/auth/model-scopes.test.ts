/** Model-scoped scopes ("llmserver.chat:smollm2-*") in the daemon's policy and in the apikeys plugin's grant rules. */
import t from "tap";
import { type BkgError, ErrorCodes } from "@bkg/protocol";
import { authorizeCall, modelGlobMatches, modelOf, onlyModelScoped, scopeAllows, splitScope, type Principal } from "../../../src/auth/index.js";
// @ts-expect-error plain JavaScript modules of the apikeys plugin
import { checkGrant } from "../../../plugins/apikeys/src/grants.mjs";
// @ts-expect-error plain JavaScript modules of the apikeys plugin
import { SCOPE_PATTERN } from "../../../plugins/apikeys/src/schemas.mjs";

const key = (scopes: string[]): Principal => ({ type: "key", id: "key_1", name: "app", role: "operator", scopes, expiresAt: null });

t.test("the grammar: action pattern, then an optional model glob", async (t) => {
  t.same(splitScope("llmserver.chat:smollm2-*"), { action: "llmserver.chat", model: "smollm2-*" });
  t.same(splitScope("echo.*"), { action: "echo.*" });
  t.ok(modelGlobMatches("smollm2-*", "smollm2-135m-instruct"));
  t.notOk(modelGlobMatches("smollm2-*", "xsmollm2-135m"), "anchored at the start");
  t.ok(modelGlobMatches("*-instruct", "smollm2-135m-instruct"));
  t.ok(modelGlobMatches("phi-?", "phi-3"));
  t.notOk(modelGlobMatches("phi-?", "phi-35"));
  t.notOk(modelGlobMatches("a.b", "axb"), "a dot is a dot");
  t.equal(modelOf({ model: "m" }), "m");
  t.equal(modelOf({ model: 3 }), undefined);
  t.equal(modelOf(null), undefined);
});

t.test("scopeAllows: a model-scoped scope needs a matching model; a plain one takes any", async (t) => {
  t.ok(scopeAllows("llmserver.chat:smollm2-*", "llmserver.chat", "smollm2-135m-instruct"));
  t.notOk(scopeAllows("llmserver.chat:smollm2-*", "llmserver.chat", "llama-3"));
  t.notOk(scopeAllows("llmserver.chat:smollm2-*", "llmserver.chat"), "no model named: not allowed");
  t.notOk(scopeAllows("llmserver.chat:smollm2-*", "llmserver.complete", "smollm2-135m-instruct"), "another method");
  t.notOk(scopeAllows("*.chat:*", "other.chat", "x"), "the action part keeps permits()' grammar (no *.chat)");
  t.ok(scopeAllows("*:smollm2-*", "any.method", "smollm2-x"));
  t.ok(scopeAllows("llmserver.*", "llmserver.chat", "anything"));
  t.ok(scopeAllows("llmserver.*", "llmserver.chat"));
});

t.test("authorizeCall with a model: 403 names the model; onlyModelScoped tells when the model must be read first", async (t) => {
  const p = key(["llmserver.chat:smollm2-*"]);
  authorizeCall(p, "llmserver.chat", "apikeys", "smollm2-135m-instruct");
  try {
    authorizeCall(p, "llmserver.chat", "apikeys", "llama-3");
    t.fail("should throw");
  } catch (e) {
    t.equal((e as BkgError).code, ErrorCodes.PermissionDenied);
    t.match((e as BkgError).message, /may not do llmserver\.chat with model "llama-3": its scopes are llmserver\.chat:smollm2-\*/);
    t.match((e as BkgError).data, { reason: "scope", model: "llama-3" });
  }
  t.throws(() => authorizeCall(p, "llmserver.chat", "apikeys"), { code: ErrorCodes.PermissionDenied });
  t.ok(onlyModelScoped(p.scopes, "llmserver.chat"));
  t.notOk(onlyModelScoped(["llmserver.chat:x", "llmserver.*"], "llmserver.chat"), "a plain scope also matches");
  t.notOk(onlyModelScoped(["echo.*"], "llmserver.chat"), "nothing matches: refused as before, not deferred");
});

t.test("apikeys: the scope pattern accepts model globs; grants stay within the grantor's", async (t) => {
  const re = new RegExp(SCOPE_PATTERN);
  for (const ok of ["*", "echo.*", "llmserver.chat:smollm2-*", "*:phi-?", "embeddings.embed:all-minilm-l6-v2"]) t.ok(re.test(ok), ok);
  for (const bad of ["llmserver.chat:", "llmserver.chat:a/b", "llmserver.chat:a b", ":x"]) t.notOk(re.test(bad), bad);
  const grantor = (scopes: string[]) => ({ role: "admin", scopes });
  t.doesNotThrow(() => checkGrant(grantor(["llmserver.*"]), "operator", ["llmserver.chat:smollm2-*"], "the key"));
  t.doesNotThrow(() => checkGrant(grantor(["llmserver.chat:smollm2-*"]), "operator", ["llmserver.chat:smollm2-135m*"], "the key"), "a narrower prefix");
  t.doesNotThrow(() => checkGrant(grantor(["llmserver.chat:*"]), "operator", ["llmserver.chat:anything"], "the key"));
  t.throws(() => checkGrant(grantor(["llmserver.chat:smollm2-*"]), "operator", ["llmserver.chat"], "the key"), { code: ErrorCodes.PermissionDenied }, "any model is more");
  t.throws(() => checkGrant(grantor(["llmserver.chat:smollm2-*"]), "operator", ["llmserver.chat:llama-*"], "the key"), { code: ErrorCodes.PermissionDenied });
  t.throws(() => checkGrant(grantor(["llmserver.chat:smollm2-*"]), "operator", ["llmserver.chat:*"], "the key"), { code: ErrorCodes.PermissionDenied });
});
