/** The params schemas the daemon checks before a call reaches BrainML. */
const collection = { type: "string", minLength: 1, maxLength: 64 };
const filters = {
  type: "array",
  maxItems: 32,
  items: {
    type: "object",
    required: ["field", "op", "value"],
    additionalProperties: false,
    // op is checked by the plugin, whose error lists the operators.
    properties: { field: { type: "string", minLength: 1, maxLength: 128 }, op: { type: "string" }, value: {} },
  },
};
const chunking = {
  type: "object",
  additionalProperties: false,
  properties: { size: { type: "integer", minimum: 8, maximum: 4096 }, overlap: { type: "integer", minimum: 0, maximum: 2048 } },
};
const vector = { type: "array", items: { type: "number" }, minItems: 1, maxItems: 16384 };
const obj = (required: string[], properties: Record<string, unknown>) => ({ type: "object", required, additionalProperties: false, properties });

export const SCHEMAS = {
  collectionsCreate: obj(["name"], {
    name: collection,
    dimensions: { type: "integer", minimum: 1, maximum: 16000 },
    metric: { enum: ["cosine", "l2", "ip"] },
    model: { type: "string", minLength: 1 },
    embedMethod: { type: "string", pattern: "^[A-Za-z_][\\w-]*\\.[\\w.-]+$" },
  }),
  collectionsDrop: obj(["name"], { name: collection }),
  collectionsList: obj([], {}),
  index: obj(["collection", "documents"], {
    collection,
    chunking,
    documents: {
      type: "array",
      minItems: 1,
      maxItems: 10000,
      items: obj(["text"], {
        id: { type: "string", minLength: 1, maxLength: 512 },
        text: { type: "string" },
        metadata: { type: "object" },
        embedding: vector,
        format: { enum: ["text", "markdown"] },
      }),
    },
  }),
  ingest: obj(["collection"], {
    collection,
    paths: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1, maxItems: 10000 },
    text: { type: "string" },
    id: { type: "string", minLength: 1, maxLength: 512 },
    format: { enum: ["text", "markdown", "html", "json", "code", "pdf"] },
    metadata: { type: "object" },
    chunking,
  }),
  query: obj(["collection"], {
    collection,
    query: { type: "string", maxLength: 10000 },
    vector,
    mode: { enum: ["fts", "vector", "hybrid"] },
    topK: { type: "integer", minimum: 1, maximum: 1000 },
    filters,
    rrfK: { type: "number", exclusiveMinimum: 0 },
    weights: obj([], { fts: { type: "number", minimum: 0 }, vector: { type: "number", minimum: 0 } }),
    exact: { type: "boolean" },
    match: { enum: ["all", "any"] },
  }),
  delete: obj(["collection"], { collection, ids: { type: "array", items: { type: "string" }, maxItems: 10000 }, filters }),
  stats: obj(["collection"], { collection }),
  snapshotCreate: obj(["collection"], { collection }),
  snapshotList: obj([], { collection }),
  snapshotRestore: obj(["snapshot"], { snapshot: { type: "string", minLength: 1 }, collection, replace: { type: "boolean" } }),
};
