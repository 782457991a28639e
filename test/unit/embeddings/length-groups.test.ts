/** lengthGroups: the batch is cut into padded runs of least total cost; every index appears once. */
import t from "tap";
import { lengthGroups, meanPoolNormalise, RUN_OVERHEAD_TOKENS } from "../../../plugins/embeddings/src/onnx-embedder.js";

/** The cost lengthGroups minimises: a fixed cost per run plus rows x longest (padding counts). */
const cost = (groups: number[][], lens: number[]) => groups.reduce((sum, g) => sum + RUN_OVERHEAD_TOKENS + g.length * Math.max(...g.map((i) => lens[i])), 0);
/** The earlier rule: a group closes when the next sequence is > 20% (+2 tokens) longer than its first. */
function twentyPercentRule(lens: number[]): number[][] {
  const groups: number[][] = [];
  for (const i of lens.map((_, k) => k).sort((a, b) => lens[a] - lens[b])) {
    const g = groups[groups.length - 1];
    if (g && lens[i] <= lens[g[0]] * 1.2 + 2) g.push(i);
    else groups.push([i]);
  }
  return groups;
}

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
  const lens = many.map((s) => s.length);
  const groups = lengthGroups(many);
  t.ok(cost(groups, lens) <= cost(twentyPercentRule(lens), lens), "no dearer than the +20% rule");
  t.ok(cost(groups, lens) <= cost([lens.map((_, i) => i)], lens), "no dearer than one padded run");
});

t.test("a few short sentences of similar length are one run: a run's fixed cost outweighs a little padding", async (t) => {
  const lens = [12, 14, 15, 16, 17, 18];
  t.equal(twentyPercentRule(lens).length, 2, "the old rule split them");
  t.equal(lengthGroups(seqs(lens)).length, 1);
  t.equal(lengthGroups(seqs([5, 6, 60, 61])).length, 2, "very different lengths still split");
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
