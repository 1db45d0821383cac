import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { batchNormalization } from "./batch_normalization.ts";

function bnNode(epsilon?: number): Node {
  return {
    name: "bn0",
    op: "BatchNormalization",
    inputs: ["x", "scale", "b", "mean", "var"],
    outputs: ["y"],
    attrs: epsilon === undefined ? {} : { epsilon },
  };
}

Deno.test("BatchNormalization reference applies each channel's own statistics", () => {
  // Channel 0: (x - 0.5) / sqrt(3 + 1) * 2 + 1 = x + 0.5. Channel 1: (x - 1) / sqrt(0 + 1) * -1
  // + 0 = 1 - x.
  const x = makeTensor("f32", [1, 2, 1, 2], [1, 2, 3, 4]);
  const t = (values: number[]) => makeTensor("f32", [2], values);
  const [y] = batchNormalization.reference(bnNode(1), [
    x,
    t([2, -1]),
    t([1, 0]),
    t([0.5, 1]),
    t([3, 0]),
  ]);
  assertClose(y.data, [1.5, 2.5, -2, -3], TOLERANCES.f32Kernel);
});

Deno.test("BatchNormalization inferTypes checks ranks and parameter shapes", () => {
  const f = (shape: number[]) => ({ dtype: "f32" as const, shape });
  const c3 = f([3]);
  assert.deepEqual(batchNormalization.inferTypes(bnNode(), [f([2, 3, 4]), c3, c3, c3, c3]), [
    f([2, 3, 4]),
  ]);
  assert.throws(
    () => batchNormalization.inferTypes(bnNode(), [f([2, 3, 4]), c3, c3, f([4]), c3]),
    /BatchNormalization "bn0": mean must have shape \[3\], got \[4\]/,
  );
  assert.throws(
    () => batchNormalization.inferTypes(bnNode(), [f([3]), c3, c3, c3, c3]),
    /X must have rank >= 2 \(\[N, C, \.\.\.\]\), got \[3\]/,
  );
  assert.throws(
    () => batchNormalization.inferTypes(bnNode(), [f([2, 3]), c3, c3, c3]),
    /needs 5 inputs, got 4/,
  );
});

gpuTest("BatchNormalization GPU kernel matches the float64 reference", async (env) => {
  const shapes = [[1, 1], [2, 3], [1, 7, 5, 3], [2, 17, 9, 9], [1, 64, 56, 56]];
  for (const [i, shape] of shapes.entries()) {
    const rand = seededRandom(50 + i);
    const c = shape[1];
    const inputs = [
      randomTensor(rand, "f32", shape, -3, 3),
      randomTensor(rand, "f32", [c], 0.5, 2),
      randomTensor(rand, "f32", [c]),
      randomTensor(rand, "f32", [c]),
      randomTensor(rand, "f32", [c], 0.1, 2),
    ];
    const node = bnNode(i % 2 === 0 ? undefined : 1e-3);
    const [actual] = await runNodeOnGpu(env.gpu, node, inputs, env.cache);
    const [expected] = batchNormalization.reference(node, inputs);
    assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, `BatchNormalization [${shape}]`);
  }
});
