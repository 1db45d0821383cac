import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { type Attributes, makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { concat } from "./concat.ts";
import { split } from "./split.ts";

function splitNode(outputs: number, attrs: Attributes): Node {
  const names = Array.from({ length: outputs }, (_, i) => `y${i}`);
  return { name: "split0", op: "Split", inputs: ["x"], outputs: names, attrs };
}

Deno.test("Split reference cuts a vector by sizes and a matrix into equal column blocks", () => {
  const v = makeTensor("f32", [6], [1, 2, 3, 4, 5, 6]);
  const [a, b] = split.reference(splitNode(2, { split: [2, 4] }), [v]);
  assert.deepEqual([...a.data], [1, 2]);
  assert.deepEqual([...b.data], [3, 4, 5, 6]);
  const m = makeTensor("f32", [2, 4], [1, 2, 3, 4, 5, 6, 7, 8]);
  const [l, r] = split.reference(splitNode(2, { axis: -1 }), [m]);
  assert.deepEqual(l.shape, [2, 2]);
  assert.deepEqual([...l.data, ...r.data], [1, 2, 5, 6, 3, 4, 7, 8]);
});

Deno.test("Split then Concat along the same axis restores the input", () => {
  const x = randomTensor(seededRandom(5), "f32", [3, 7, 5]);
  const pieces = split.reference(splitNode(3, { axis: 1, split: [1, 4, 2] }), [x]);
  const node: Node = { name: "c", op: "Concat", inputs: [], outputs: ["y"], attrs: { axis: 1 } };
  assert.deepEqual(concat.reference(node, pieces)[0], x);
});

Deno.test("Split inferTypes rejects uneven and inconsistent splits", () => {
  const x = { dtype: "f32" as const, shape: [2, 5] };
  assert.throws(
    () => split.inferTypes(splitNode(2, { axis: 1 }), [x]),
    /Split "split0": dim 1 \(5\) does not split into 2 equal parts/,
  );
  assert.throws(
    () => split.inferTypes(splitNode(2, { axis: 1, split: [2, 2] }), [x]),
    /split \[2,2\] must be 2 sizes >= 0 summing to dim 1 \(5\)/,
  );
  assert.throws(
    () => split.inferTypes(splitNode(3, { axis: 1, split: [2, 3] }), [x]),
    /split \[2,3\] must be 3 sizes/,
  );
});

gpuTest("Split GPU kernel matches the reference (f32 and i32)", async (env) => {
  const cases: [number[], number, Attributes][] = [
    [[1], 1, {}],
    [[6, 7], 3, {}],
    [[2, 17, 5, 3], 3, { axis: 1, split: [7, 0, 10] }],
    [[3, 4, 9], 2, { axis: -1, split: [4, 5] }],
    [[1, 128, 28, 28], 2, { axis: 1 }],
  ];
  for (const dtype of ["f32", "i32"] as const) {
    for (const [i, [shape, outputs, attrs]] of cases.entries()) {
      const x = randomTensor(seededRandom(90 + i), dtype, shape, -1000, 1000);
      const node = splitNode(outputs, attrs);
      const actual = await runNodeOnGpu(env.gpu, node, [x], env.cache);
      const expected = split.reference(node, [x]);
      expected.forEach((e, k) => {
        assert.deepEqual(actual[k].shape, e.shape);
        assertClose(actual[k].data, e.data, TOLERANCES.exact, `Split ${dtype} case ${i} out ${k}`);
      });
    }
  }
});
