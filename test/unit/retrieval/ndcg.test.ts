/** nDCG@k against values worked out by hand. */
import t from "tap";
import { meanNdcgAtK, ndcgAtK } from "../../helpers/ndcg.js";

const log2 = Math.log2;

t.test("the ideal ranking scores 1, a ranking of nothing relevant 0", async (t) => {
  const j = { a: 2, b: 1, c: 1 };
  t.equal(ndcgAtK(["a", "b", "c", "x"], j), 1);
  t.equal(ndcgAtK([], j), 0, "empty ranking");
  t.equal(ndcgAtK(["x", "y", "z"], j), 0);
});

t.test("graded gains discounted by log2(rank + 1)", async (t) => {
  const j = { a: 2, b: 1 };
  // b first, a second: DCG = 1/log2(2) + 2/log2(3); ideal = 2/log2(2) + 1/log2(3).
  const want = (1 + 2 / log2(3)) / (2 + 1 / log2(3));
  t.ok(Math.abs(ndcgAtK(["b", "a"], j) - want) < 1e-12, `${ndcgAtK(["b", "a"], j)} = ${want}`);
  // a at rank 3 behind two unjudged ids: 2/log2(4) = 1, over the ideal.
  t.ok(Math.abs(ndcgAtK(["x", "y", "a"], j) - 1 / (2 + 1 / log2(3))) < 1e-12);
});

t.test("the cut at k and repeated ids", async (t) => {
  const j = { a: 1 };
  const eleventh = [...Array.from({ length: 10 }, (_, i) => `x${i}`), "a"];
  t.equal(ndcgAtK(eleventh, j, 10), 0, "rank 11 is outside @10");
  t.equal(ndcgAtK(eleventh, j, 11), 1 / log2(12));
  // Two chunks of x then a: x counts once, so a is at rank 2.
  t.equal(ndcgAtK(["x", "x", "a"], j), 1 / log2(3));
  // The ideal is cut at k too: 12 relevant documents, the first 10 retrieved is perfect.
  const many = Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`d${i}`, 1]));
  t.equal(ndcgAtK(Object.keys(many), many, 10), 1);
  t.throws(() => ndcgAtK(["a"], j, 0), /k must be a positive integer/);
});

t.test("mean over judged queries; a missing ranking scores 0", async (t) => {
  const qrels = { q1: { a: 1 }, q2: { b: 1 } };
  t.equal(meanNdcgAtK({ q1: ["a"] }, qrels), 0.5);
  t.equal(meanNdcgAtK({ q1: ["a"], q2: ["b"] }, qrels), 1);
  t.throws(() => meanNdcgAtK({ q3: ["a"] }, qrels), /query q3 has a ranking but no judgements/);
  t.throws(() => meanNdcgAtK({}, {}), /no judged queries/);
});
