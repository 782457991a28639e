/** JSON Schemas shared by the HTTP routes (for validation and /openapi.json). */

export const errorSchema = {
  type: "object",
  description: "Every failure: code is the JSON-RPC code (docs/errors.md)",
  properties: {
    error: {
      type: "object",
      required: ["code", "message"],
      properties: { code: { type: "integer" }, name: { type: "string" }, message: { type: "string" }, details: {} },
    },
  },
} as const;

/** 4xx/5xx answers every guarded route can give. */
export const errorResponses = { "4xx": errorSchema, "5xx": errorSchema } as const;

export const nameParams = {
  type: "object",
  required: ["name"],
  properties: { name: { type: "string", minLength: 1, maxLength: 100 } },
} as const;

export const anyObject = { type: "object", additionalProperties: true } as const;
