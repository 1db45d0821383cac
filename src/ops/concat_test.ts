import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { concat } from "./concat.ts";

function concatNode(axis: number, count: number): Node {
  const inputs = Array.from({ length: count }, (_, i) => `x${i}`);
  return { name: "cat0", op: "Concat", inputs, outputs: ["y"], attrs: { axis } };
}

Deno.test("Concat reference joins matrices along rows and along columns", () => {
  const a = makeTensor("f32", [2, 2], [1, 2, 3, 4]);
  const b = makeTensor("f32", [2, 1], [5, 6]);
  const [cols] = concat.reference(concatNode(-1, 2), [a, b]);
  assert.deepEqual(cols.shape, [2, 3]);
  assert.deepEqual([...cols.data], [1, 2, 5, 3, 4, 6]);
  const c = makeTensor("f32", [1, 2], [7, 8]);
  const [rows] = concat.reference(concatNode(0, 3), [a, c, a]);
  assert.deepEqual(rows.shape, [5, 2]);
  assert.deepEqual([...rows.data], [1, 2, 3, 4, 7, 8, 1, 2, 3, 4]);
});

Deno.test("Concat inferTypes checks axis, shapes and dtypes", () => {
  const f = (shape: number[]) => ({ dtype: "f32" as const, shape });
  assert.throws(
    () => concat.inferTypes(concatNode(1, 2), [f([2, 3]), f([3, 3])]),
    /Concat "cat0": input 1 has shape \[3,3\] but input 0 has \[2,3\]; only dim 1 may differ/,
  );
  assert.throws(
    () => concat.inferTypes(concatNode(2, 2), [f([2, 3]), f([2, 3])]),
    /axis 2 is out of range for rank 2/,
  );
  assert.throws(
    () => concat.inferTypes(concatNode(0, 2), [f([2]), { dtype: "i32", shape: [2] }]),
    /input 1 is i32 but input 0 is f32/,
  );
  assert.throws(
    () => concat.inferTypes({ ...concatNode(0, 1), attrs: {} }, [f([2])]),
    /required attribute axis is missing/,
  );
});

gpuTest("Concat GPU kernel matches the reference (f32 and i32, 1 to 4 inputs)", async (env) => {
  const cases: [number, number[][]][] = [
    [0, [[1]]],
    [0, [[3, 7], [1, 7], [5, 7]]],
    [1, [[2, 3, 5, 5], [2, 7, 5, 5], [2, 1, 5, 5], [2, 17, 5, 5]]],
    [-1, [[3, 4, 1], [3, 4, 3]]],
    [1, [[2, 0, 3], [2, 5, 3]]],
    [1, [[1, 64, 56, 56], [1, 64, 56, 56]]],
  ];
  for (const dtype of ["f32", "i32"] as const) {
    for (const [i, [axis, shapes]] of cases.entries()) {
      const rand = seededRandom(80 + i);
      const xs = shapes.map((s) => randomTensor(rand, dtype, s, -1000, 1000));
      const node = concatNode(axis, xs.length);
      const [actual] = await runNodeOnGpu(env.gpu, node, xs, env.cache);
      const [expected] = concat.reference(node, xs);
      assert.deepEqual(actual.shape, expected.shape);
      assertClose(actual.data, expected.data, TOLERANCES.exact, `Concat ${dtype} case ${i}`);
    }
  }
});
