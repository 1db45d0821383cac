import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { add } from "./add.ts";

const node: Node = { name: "add0", op: "Add", inputs: ["a", "b"], outputs: ["y"], attrs: {} };

Deno.test("Add reference broadcasts a column against a row", () => {
  const rand = seededRandom(3);
  const a = randomTensor(rand, "f32", [4, 1]);
  const b = randomTensor(rand, "f32", [3]);
  const [y] = add.reference(node, [a, b]);
  assert.deepEqual(y.shape, [4, 3]);
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 3; j++) {
      assert.equal(y.data[i * 3 + j], Math.fround(a.data[i] + b.data[j]), `y[${i}][${j}]`);
    }
  }
});

Deno.test("Add reference wraps i32 overflow", () => {
  const a = makeTensor("i32", [2], [2147483647, -2147483648]);
  const b = makeTensor("i32", [2], [1, -1]);
  assert.deepEqual([...add.reference(node, [a, b])[0].data], [-2147483648, 2147483647]);
});

Deno.test("Add inferTypes rejects bad shapes and dtypes", () => {
  const f = (shape: number[]) => ({ dtype: "f32" as const, shape });
  assert.deepEqual(add.inferTypes(node, [f([2, 1, 5]), f([3, 1])])[0].shape, [2, 3, 5]);
  assert.throws(
    () => add.inferTypes(node, [f([2, 3]), f([4])]),
    /Add "add0": shapes \[2,3\] and \[4\] do not broadcast/,
  );
  assert.throws(
    () => add.inferTypes(node, [f([2]), { dtype: "i32", shape: [2] }]),
    /Add "add0": input 1 is i32 but input 0 is f32/,
  );
  assert.throws(
    () => add.inferTypes(node, [{ dtype: "u8", shape: [2] }, { dtype: "u8", shape: [2] }]),
    /Add "add0": input 0 must be f32 or i32, got u8/,
  );
});

const CASES: [number[], number[]][] = [
  [[1], [1]],
  [[1, 17, 5, 3], [1, 17, 5, 3]],
  [[2, 3, 7, 7], [3, 1, 1]],
  [[7], [3, 1]],
  [[], [4, 5]],
  [[2, 1, 5, 1], [1, 3, 1, 7]],
  [[2, 300, 300], [300]],
];

gpuTest("Add GPU kernel matches the reference (f32 and i32, broadcasting)", async (env) => {
  for (const dtype of ["f32", "i32"] as const) {
    const [lo, hi] = dtype === "f32" ? [-1, 1] : [-(2 ** 31), 2 ** 31];
    for (const [i, [sa, sb]] of CASES.entries()) {
      const rand = seededRandom(10 + i);
      const a = randomTensor(rand, dtype, sa, lo, hi);
      const b = randomTensor(rand, dtype, sb, lo, hi);
      const [actual] = await runNodeOnGpu(env.gpu, node, [a, b], env.cache);
      const [expected] = add.reference(node, [a, b]);
      assert.deepEqual(actual.shape, expected.shape);
      // One correctly rounded (f32) or wrapping (i32) addition per element: bit-exact.
      assertClose(actual.data, expected.data, TOLERANCES.exact, `Add ${dtype} [${sa}] + [${sb}]`);
    }
  }
});
