import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { transpose } from "./transpose.ts";

function transposeNode(perm?: number[]): Node {
  return {
    name: "t0",
    op: "Transpose",
    inputs: ["x"],
    outputs: ["y"],
    attrs: perm ? { perm } : {},
  };
}

Deno.test("Transpose reference swaps the two dims of a matrix by default", () => {
  const x = randomTensor(seededRandom(1), "f32", [2, 3]);
  const [y] = transpose.reference(transposeNode(), [x]);
  assert.deepEqual(y.shape, [3, 2]);
  for (let i = 0; i < 2; i++) {
    for (let j = 0; j < 3; j++) assert.equal(y.data[j * 2 + i], x.data[i * 3 + j]);
  }
});

Deno.test("Transpose reference moves the last dim first with perm [2, 0, 1]", () => {
  const x = randomTensor(seededRandom(2), "i32", [2, 3, 4], -100, 100);
  const [y] = transpose.reference(transposeNode([2, 0, 1]), [x]);
  assert.deepEqual(y.shape, [4, 2, 3]);
  for (let a = 0; a < 2; a++) {
    for (let b = 0; b < 3; b++) {
      for (let c = 0; c < 4; c++) {
        assert.equal(y.data[(c * 2 + a) * 3 + b], x.data[(a * 3 + b) * 4 + c]);
      }
    }
  }
});

Deno.test("Transpose inferTypes rejects a perm that is not a permutation", () => {
  const x = { dtype: "f32" as const, shape: [2, 3, 4] };
  assert.throws(
    () => transpose.inferTypes(transposeNode([0, 0, 1]), [x]),
    /Transpose "t0": perm \[0,0,1\] is not a permutation of 0\.\.2/,
  );
  assert.throws(() => transpose.inferTypes(transposeNode([1, 0]), [x]), /perm \[1,0\]/);
});

/** Shapes and perms: scalar-like, identity, inner runs kept (the channel shuffle), none kept. */
const CASES: [number[], number[]][] = [
  [[1], [0]],
  [[3, 7], [1, 0]],
  [[3, 7, 5], [0, 1, 2]],
  [[1, 17, 5, 3], [0, 3, 1, 2]],
  [[2, 3, 5, 7], [0, 2, 3, 1]],
  [[2, 3, 4, 5, 6], [4, 2, 0, 3, 1]],
  [[1, 2, 58, 7, 7], [0, 2, 1, 3, 4]],
  [[1, 64, 56, 56], [0, 2, 3, 1]],
];

Deno.test("Transpose CPU kernel equals the reference (f32 and i32)", () => {
  for (const dtype of ["f32", "i32"] as const) {
    for (const [i, [shape, perm]] of CASES.entries()) {
      const x = randomTensor(seededRandom(90 + i), dtype, shape, -1000, 1000);
      const node = transposeNode(perm);
      const [actual] = transpose.cpu!(node, [x]);
      const [expected] = transpose.reference(node, [x]);
      assert.deepEqual(actual.shape, expected.shape);
      assertClose(actual.data, expected.data, TOLERANCES.exact, `Transpose ${dtype} [${shape}]`);
    }
  }
});

gpuTest("Transpose GPU kernel matches the reference (f32 and i32)", async (env) => {
  for (const dtype of ["f32", "i32"] as const) {
    for (const [i, [shape, perm]] of CASES.entries()) {
      const x = randomTensor(seededRandom(70 + i), dtype, shape, -1000, 1000);
      const node = transposeNode(perm);
      const [actual] = await runNodeOnGpu(env.gpu, node, [x], env.cache);
      const [expected] = transpose.reference(node, [x]);
      assert.deepEqual(actual.shape, expected.shape);
      assertClose(actual.data, expected.data, TOLERANCES.exact, `Transpose ${dtype} [${shape}]`);
    }
  }
});
