/** lengthGroups: sequences of similar length share a padded run; every index appears once. */
import t from "tap";
import { lengthGroups, meanPoolNormalise } from "../../../plugins/embeddings/src/onnx-embedder.js";

const seqs = (lengths: number[]) => lengths.map((n) => Array.from({ length: n }, () => 1));

t.test("groups by length, shortest first, each index once", async (t) => {
  t.same(lengthGroups(seqs([20, 5, 21, 6, 40])), [[1, 3], [0, 2], [4]]);
  t.same(lengthGroups(seqs([10, 10, 10])), [[0, 1, 2]], "equal lengths: one run");
  t.same(lengthGroups([]), []);
  const many = seqs(Array.from({ length: 200 }, (_, i) => 3 + ((i * 37) % 250)));
  const flat = lengthGroups(many)
    .flat()
    .sort((a, b) => a - b);
  t.same(
    flat,
    many.map((_, i) => i),
    "a partition of the batch",
  );
  for (const g of lengthGroups(many)) {
    const lens = g.map((i) => many[i].length);
    t.ok(Math.max(...lens) <= Math.min(...lens) * 1.2 + 2, `padding bounded in a group of ${lens.length}`);
  }
});

t.test("mean pooling counts only each sequence's own tokens and normalises", async (t) => {
  // Two sequences, padded to 3 columns, hidden size 2: [[1,0],[3,0],[pad 100,100]] and [[0,2],[0,2],[0,2]].
  const hidden = new Float32Array([1, 0, 3, 0, 100, 100, 0, 2, 0, 2, 0, 2]);
  const [a, b] = meanPoolNormalise(
    hidden,
    [
      [7, 8],
      [7, 8, 9],
    ],
    3,
    2,
  );
  t.same(Array.from(a), [1, 0], "the padded row is ignored");
  t.same(Array.from(b), [0, 1]);
});
