/** The cluster wire format: what encode writes, and what decodeObject takes or turns away (with which reason). */
import t from "tap";
import { decodeObject, encode } from "../../../src/cluster/wire.js";

const bytes = (s: string) => new TextEncoder().encode(s);

t.test("encode writes JSON as UTF-8 that decodeObject reads back", async (t) => {
  const value = { v: 1, text: "héllo ✓", nested: { list: [1, 2, 3] } };
  const body = encode(value);
  t.equal(new TextDecoder().decode(body), JSON.stringify(value));
  t.same(decodeObject(body), { ok: true, value });
  // Two messages encoded one after the other keep their own bytes (small Buffers share a pool).
  const second = encode({ v: 2 });
  t.same(decodeObject(body), { ok: true, value });
  t.same(decodeObject(second), { ok: true, value: { v: 2 } });
});

t.test("objects with leading white space or a byte order mark are read", async (t) => {
  t.same(decodeObject(bytes(' \r\n\t{"a":1}')), { ok: true, value: { a: 1 } });
  t.same(decodeObject(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes('{"a":2}')])), { ok: true, value: { a: 2 } });
});

t.test("bad input: junk, other JSON values, broken objects and nothing at all are refused with a reason", async (t) => {
  for (const junk of ["junk 1", "<xml/>", "", "   ", "{not json", '{"a":1']) t.same(decodeObject(bytes(junk)), { ok: false, reason: "not JSON" }, JSON.stringify(junk));
  for (const other of ["[1,2]", '"text"', "42", "-1", "true", "false", "null", "  [ ]"]) t.same(decodeObject(bytes(other)), { ok: false, reason: "not a JSON object" }, JSON.stringify(other));
  // Starts like a JSON value but is not one: parsed, refused, never thrown.
  t.same(decodeObject(bytes("nonsense")), { ok: false, reason: "not JSON" });
  t.same(decodeObject(bytes("[1,")), { ok: false, reason: "not JSON" });
});
