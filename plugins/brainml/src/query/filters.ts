/**
 * Metadata filters: checked against the fields the collection has, then compiled to a SQL
 * condition for one dialect. Every field name and value is a bound parameter, never spliced in.
 */
import { brainError } from "../errors.js";
import { FILTER_OPS, type Filter, type FilterOp } from "../types.js";

type Scalar = string | number | boolean;
const isScalar = (v: unknown): v is Scalar => typeof v === "string" || (typeof v === "number" && Number.isFinite(v)) || typeof v === "boolean";

/** Throws a clear error for an unknown field or operator or a value of the wrong shape. */
export function checkFilters(filters: Filter[], knownFields: readonly string[]): void {
  for (const [i, f] of filters.entries()) {
    const where = `filters[${i}]`;
    if (!FILTER_OPS.includes(f.op)) {
      throw brainError("unknown_filter_op", `${where}: unknown operator "${String(f.op)}"; use one of ${FILTER_OPS.join(", ")}`, { index: i, op: f.op });
    }
    if (!knownFields.includes(f.field)) {
      const known = knownFields.length ? knownFields.join(", ") : "none (no document has metadata yet)";
      throw brainError("unknown_filter_field", `${where}: no document in the collection has the metadata field "${f.field}"; known fields: ${known}`, { index: i, field: f.field, known: knownFields });
    }
    const bad = (want: string) => brainError("bad_filter_value", `${where}: "${f.op}" on "${f.field}" needs ${want}, got ${JSON.stringify(f.value)}`, { index: i });
    switch (f.op) {
      case "in":
        if (!Array.isArray(f.value) || f.value.length === 0 || !f.value.every(isScalar)) throw bad("a non-empty array of strings, numbers or booleans");
        break;
      case "gt":
      case "gte":
      case "lt":
      case "lte":
        if (!(typeof f.value === "string" || (typeof f.value === "number" && Number.isFinite(f.value)))) throw bad("a number or a string");
        break;
      default:
        if (!isScalar(f.value)) throw bad("a string, number or boolean");
    }
  }
}

const CMP: Record<"gt" | "gte" | "lt" | "lte", string> = { gt: ">", gte: ">=", lt: "<", lte: "<=" };

/** SQLite: `meta` is the SQL expression of the JSON metadata column. Returns "1" for no filters. */
export function sqliteFilterSql(filters: Filter[], meta: string): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const bind = (v: Scalar) => (typeof v === "boolean" ? (v ? 1 : 0) : v); // json_extract yields 1/0 for true/false
  for (const f of filters) {
    const path = `$."${f.field.replace(/"/g, '""')}"`;
    const value = `json_extract(${meta}, ?)`;
    const op: FilterOp = f.op;
    switch (op) {
      case "eq":
        parts.push(`${value} = ?`);
        params.push(path, bind(f.value as Scalar));
        break;
      case "ne":
        parts.push(`${value} IS NOT ?`);
        params.push(path, bind(f.value as Scalar));
        break;
      case "gt":
      case "gte":
      case "lt":
      case "lte":
        // A number compares only with numbers, a string only with strings (SQLite would order across types).
        parts.push(`(json_type(${meta}, ?) ${typeof f.value === "number" ? "IN ('integer','real')" : "= 'text'"} AND ${value} ${CMP[op]} ?)`);
        params.push(path, path, f.value);
        break;
      case "in": {
        const values = (f.value as Scalar[]).map(bind);
        parts.push(`${value} IN (${values.map(() => "?").join(", ")})`);
        params.push(path, ...values);
        break;
      }
      case "contains":
        parts.push(`(CASE json_type(${meta}, ?) WHEN 'array' THEN EXISTS (SELECT 1 FROM json_each(${meta}, ?) WHERE value = ?) WHEN 'text' THEN instr(${value}, ?) > 0 ELSE 0 END)`);
        params.push(path, path, bind(f.value as Scalar), path, String(f.value));
        break;
    }
  }
  return { sql: parts.length ? parts.join(" AND ") : "1", params };
}

/** PostgreSQL: `meta` is the jsonb metadata column; parameters are numbered from `start`. */
export function postgresFilterSql(filters: Filter[], meta: string, start: number): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  const p = (v: unknown) => {
    params.push(v);
    return `$${start + params.length - 1}`;
  };
  for (const f of filters) {
    const key = p(f.field);
    const field = `(${meta} -> ${key}::text)`;
    switch (f.op) {
      case "eq":
        parts.push(`${field} = ${p(JSON.stringify(f.value))}::jsonb`);
        break;
      case "ne":
        parts.push(`${field} IS DISTINCT FROM ${p(JSON.stringify(f.value))}::jsonb`);
        break;
      case "gt":
      case "gte":
      case "lt":
      case "lte":
        parts.push(
          typeof f.value === "number"
            ? `(jsonb_typeof(${field}) = 'number' AND (${meta} ->> ${key}::text)::numeric ${CMP[f.op]} ${p(f.value)}::numeric)`
            : `(jsonb_typeof(${field}) = 'string' AND (${meta} ->> ${key}::text) COLLATE "C" ${CMP[f.op]} ${p(f.value)}::text)`,
        );
        break;
      case "in":
        parts.push(`${p(JSON.stringify(f.value))}::jsonb @> jsonb_build_array(${field})`);
        break;
      case "contains":
        parts.push(
          `(CASE jsonb_typeof(${field}) WHEN 'array' THEN ${field} @> jsonb_build_array(${p(JSON.stringify(f.value))}::jsonb) WHEN 'string' THEN strpos(${meta} ->> ${key}::text, ${p(String(f.value))}::text) > 0 ELSE false END)`,
        );
        break;
    }
  }
  return { sql: parts.length ? parts.join(" AND ") : "true", params };
}
