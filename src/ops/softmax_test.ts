import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { softmax } from "./softmax.ts";

function softmaxNode(axis?: number): Node {
  return {
    name: "sm0",
    op: "Softmax",
    inputs: ["x"],
    outputs: ["y"],
    attrs: axis === undefined ? {} : { axis },
  };
}

Deno.test("Softmax reference: ln 2 apart gives 1/3 and 2/3, even far from zero", () => {
  const x = makeTensor("f32", [2, 2], [0, Math.LN2, 1000, 1000 + Math.LN2]);
  const [y] = softmax.reference(softmaxNode(), [x]);
  assertClose(y.data, [1 / 3, 2 / 3, 1 / 3, 2 / 3], TOLERANCES.f32Kernel);
});

Deno.test("Softmax reference along axis 0 normalises columns", () => {
  // Column j holds (j, j): each becomes 1/2 whatever j is.
  const x = makeTensor("f32", [2, 3], [0, 1, 2, 0, 1, 2]);
  const [y] = softmax.reference(softmaxNode(0), [x]);
  assertClose(y.data, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5], TOLERANCES.f32Kernel);
});

Deno.test("Softmax inferTypes rejects an out-of-range axis", () => {
  assert.throws(
    () => softmax.inferTypes(softmaxNode(2), [{ dtype: "f32", shape: [4, 5] }]),
    /Softmax "sm0": axis 2 is out of range for rank 2 \(valid: -2 to 1\)/,
  );
});

gpuTest("Softmax GPU kernel matches the reference (both workgroup sizes)", async (env) => {
  const cases: [number[], number | undefined, number][] = [
    [[1, 1], undefined, 1],
    [[1, 1000], undefined, 8],
    [[2, 3, 7], 1, 1],
    [[3, 17, 5], 0, 30],
    [[7, 3000], -1, 4],
    [[1, 10, 32, 32], 1, 3],
  ];
  for (const [i, [shape, axis, scale]] of cases.entries()) {
    const x = randomTensor(seededRandom(120 + i), "f32", shape, -scale, scale);
    const node = softmaxNode(axis);
    const [actual] = await runNodeOnGpu(env.gpu, node, [x], env.cache);
    const [expected] = softmax.reference(node, [x]);
    assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, `Softmax [${shape}] ${axis}`);
  }
});
