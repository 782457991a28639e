/** The SQLite backend's binary vector index: candidates by Hamming distance, removal, re-adding, compaction. */
import t from "tap";
import { BinaryIndex } from "../../../plugins/brainml/src/backends/binary-index.js";

const DIM = 64;
function vec(seed: number): Float32Array {
  let s = seed * 2654435761;
  return Float32Array.from({ length: DIM }, () => (s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5);
}

t.test("the nearest vectors are among the candidates; removed ones never are", async (t) => {
  const vectors = Array.from({ length: 2000 }, (_, i) => vec(i + 1));
  const index = new BinaryIndex(DIM, BinaryIndex.meanOf(vectors, DIM), 16);
  vectors.forEach((v, i) => index.add(i + 1, v));
  t.equal(index.count, 2000);
  for (const q of [5, 77, 1500]) {
    const c = index.candidates(vectors[q - 1], 50);
    t.ok(c.includes(q), `vector ${q} is its own candidate`);
    t.ok(c.length >= 50 && c.length < 400, `about 50 candidates (${c.length}, ties at the cut included)`);
  }
  for (let id = 1; id <= 1500; id++) index.remove(id);
  t.equal(index.count, 500);
  t.notOk(index.candidates(vectors[4], 50).includes(5), "a removed vector is not a candidate");
  // Adding past capacity compacts the removed slots away instead of growing.
  for (let id = 1; id <= 1500; id++) index.add(id, vectors[id - 1]);
  t.equal(index.count, 2000);
  t.ok(index.candidates(vectors[76], 50).includes(77));
  index.add(77, vectors[1]);
  t.equal(index.count, 2000, "re-adding a row id replaces it");
  t.ok(index.candidates(vectors[1], 10).includes(77));
});
