/**
 * JSON Schemas (draft-07) for every method's params, announced at initialize so the daemon
 * validates calls before they arrive. The plugin checks them again with `check` (a small
 * validator for exactly the keywords used here), so it is safe when spoken to directly.
 */

export const ROLES = /** @type {const} */ (["viewer", "operator", "admin"]);
/**
 * Same grammar as a manifest's `permissions`: "*", "plugin.*", "plugin.method", "plugin.group.*",
 * optionally followed by ":<model glob>" to allow only some models ("llmserver.chat:smollm2-*").
 */
export const SCOPE_PATTERN = "^(\\*|[a-z][a-z0-9_-]*\\.(\\*|[A-Za-z_][\\w.-]*(\\.\\*)?))(:[A-Za-z0-9_.*?+-]{1,128})?$";
export const USERNAME_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$";

const actor = {
  type: "string",
  minLength: 1,
  maxLength: 200,
  description: "Who asked for this change, recorded in the audit log (e.g. the principal the daemon authenticated).",
};
const role = { enum: [...ROLES], description: "admin | operator | viewer" };
const grantor = {
  type: "object",
  required: ["role", "scopes"],
  additionalProperties: false,
  properties: { role, scopes: { type: "array", maxItems: 100, items: { type: "string", maxLength: 300 } } },
  description: "What the caller holds (set by the daemon): nothing granted may exceed it",
};
const id = { type: "string", minLength: 1, maxLength: 100 };
const username = { type: "string", pattern: USERNAME_PATTERN, description: "1-64 of letters, digits, _ . @ -; case-insensitive" };
const password = { type: "string", minLength: 8, maxLength: 1024, description: "8 characters at least, 72 bytes at most (bcrypt's limit)" };
const expiresInDays = { type: "number", exclusiveMinimum: 0, maximum: 36500, description: "Lifetime in days from now (fractions allowed); absent: never expires" };
const userRef = [{ required: ["id"] }, { required: ["username"] }];

const object = (properties, required = [], extra = {}) => ({ type: "object", properties, required, additionalProperties: false, ...extra });

export const schemas = {
  "auth.login": object(
    {
      username: { type: "string", minLength: 1, maxLength: 200 },
      password: { type: "string", maxLength: 1024 },
      source: {
        type: "string",
        minLength: 1,
        maxLength: 200,
        description: "Where the attempt came from (the daemon passes the HTTP client's address); logins are throttled per username, per source and per pair. Absent: the caller.",
      },
    },
    ["username", "password"],
  ),
  "auth.validate": object({ credential: { type: "string", minLength: 1, maxLength: 8192, description: "An API key (bkg_live_...) or a session JWT; a leading 'Bearer ' is ignored" } }, ["credential"]),
  "auth.createKey": object(
    {
      name: { type: "string", minLength: 1, maxLength: 100 },
      role,
      scopes: { type: "array", items: { type: "string", pattern: SCOPE_PATTERN }, minItems: 1, maxItems: 100, uniqueItems: true },
      expiresInDays,
      owner: { type: "string", minLength: 1, maxLength: 100, description: "User id or username; the key's role may not exceed the owner's" },
      actor,
      grantor,
    },
    ["name", "role", "scopes"],
  ),
  "auth.listKeys": object({ owner: { type: "string", minLength: 1, maxLength: 100 }, includeRevoked: { type: "boolean" } }),
  "auth.revokeKey": object({ id, reason: { type: "string", maxLength: 500 }, actor }, ["id"]),
  "auth.rotateKey": object({ id, expiresInDays, actor, grantor }, ["id"]),
  "auth.createUser": object({ username, password, role, actor, grantor }, ["username", "password", "role"]),
  "auth.listUsers": object({}),
  "auth.deleteUser": object({ id, username: { type: "string", minLength: 1, maxLength: 100 }, actor }, [], { anyOf: userRef }),
  "auth.setPassword": object({ id, username: { type: "string", minLength: 1, maxLength: 100 }, password, actor, grantor }, ["password"], { anyOf: userRef }),
  "auth.audit": object({
    limit: { type: "integer", minimum: 1, maximum: 1000, description: "Newest entries first; default 100" },
    since: { type: "number", minimum: 0, description: "Only entries at or after this time (epoch ms)" },
    action: { type: "string", minLength: 1, maxLength: 100, description: "Only this action, e.g. auth.login" },
  }),
};

/**
 * Checks value against schema (the subset above). Messages never echo string values, so a
 * rejected password is not repeated anywhere.
 * @returns {{path: string, message: string}[]}
 */
export function check(schema, value, path = "") {
  /** @type {{path: string, message: string}[]} */
  const out = [];
  const at = (message) => out.push({ path, message });
  if (schema.enum && !schema.enum.includes(value)) at(`must be one of: ${schema.enum.join(", ")}`);
  const t = schema.type;
  if (t === "object") {
    if (!value || typeof value !== "object" || Array.isArray(value)) return (at("must be an object"), out);
    for (const r of schema.required ?? []) if (!(r in value)) out.push({ path, message: `must have property "${r}"` });
    for (const [k, v] of Object.entries(value)) {
      const sub = schema.properties?.[k];
      if (sub) out.push(...check(sub, v, `${path}/${k}`));
      else if (schema.additionalProperties === false) out.push({ path, message: `must not have property "${k}"` });
    }
    if (schema.anyOf && !schema.anyOf.some((s) => check({ ...s, type: "object" }, value, path).length === 0)) {
      at(`must have one of: ${schema.anyOf.map((s) => (s.required ?? []).join("+")).join(" or ")}`);
    }
  } else if (t === "string") {
    if (typeof value !== "string") return (at("must be a string"), out);
    const n = [...value].length;
    if (schema.minLength !== undefined && n < schema.minLength) at(`must be at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && n > schema.maxLength) at(`must be at most ${schema.maxLength} characters`);
    if (schema.pattern && !new RegExp(schema.pattern, "u").test(value)) at(`must match pattern ${schema.pattern}`);
  } else if (t === "number" || t === "integer") {
    if (typeof value !== "number" || !Number.isFinite(value)) return (at(`must be a ${t}`), out);
    if (t === "integer" && !Number.isInteger(value)) at("must be an integer");
    if (schema.minimum !== undefined && value < schema.minimum) at(`must be >= ${schema.minimum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum) at(`must be > ${schema.exclusiveMinimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) at(`must be <= ${schema.maximum}`);
  } else if (t === "boolean") {
    if (typeof value !== "boolean") at("must be a boolean");
  } else if (t === "array") {
    if (!Array.isArray(value)) return (at("must be an array"), out);
    if (schema.minItems !== undefined && value.length < schema.minItems) at(`must have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) at(`must have at most ${schema.maxItems} items`);
    if (schema.uniqueItems && new Set(value.map((v) => JSON.stringify(v))).size !== value.length) at("must not have duplicate items");
    if (schema.items) value.forEach((v, i) => out.push(...check(schema.items, v, `${path}/${i}`)));
  }
  return out;
}
