import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { globalAveragePool } from "./global_average_pool.ts";

const node: Node = {
  name: "gap0",
  op: "GlobalAveragePool",
  inputs: ["x"],
  outputs: ["y"],
  attrs: {},
};

Deno.test("GlobalAveragePool reference averages each plane", () => {
  // Plane (n, c) holds the ramp k + 10 * (n * 3 + c) for k < 35: mean 17 + 10 * (n * 3 + c).
  const x = makeTensor("f32", [2, 3, 5, 7]);
  for (let i = 0; i < x.data.length; i++) x.data[i] = (i % 35) + 10 * Math.floor(i / 35);
  const [y] = globalAveragePool.reference(node, [x]);
  assert.deepEqual(y.shape, [2, 3, 1, 1]);
  assertClose(y.data, [0, 1, 2, 3, 4, 5].map((p) => 17 + 10 * p), TOLERANCES.f32Kernel);
});

Deno.test("GlobalAveragePool inferTypes keeps N and C and needs spatial dims", () => {
  const f = (shape: number[]) => ({ dtype: "f32" as const, shape });
  assert.deepEqual(globalAveragePool.inferTypes(node, [f([2, 3, 4, 5, 6])]), [f([2, 3, 1, 1, 1])]);
  assert.throws(
    () => globalAveragePool.inferTypes(node, [f([2, 3])]),
    /GlobalAveragePool "gap0": input must be \[N, C, spatial\.\.\.\] \(rank >= 3\), got \[2,3\]/,
  );
});

gpuTest(
  "GlobalAveragePool GPU kernels match the reference (tree: both workgroup sizes; serial)",
  async (env) => {
    // Tree reduction (a GPU): planes of 1, 49, 15 and 120 elements use 64 invocations, 1600
    // and 2025 use 256. CPU-like adapter: one invocation per plane up to 1024, else the tree.
    const shapes = [
      [1, 1, 1, 1],
      [1, 3, 7, 7],
      [2, 17, 5, 3],
      [2, 3, 4, 5, 6],
      [1, 2048, 7, 7],
      [1, 7, 40, 40],
      [2, 1, 45, 45],
    ];
    for (const isFallbackAdapter of [false, true]) {
      for (const [i, shape] of shapes.entries()) {
        const x = randomTensor(seededRandom(100 + i), "f32", shape);
        const device = { ...env.gpu, isFallbackAdapter };
        const [actual] = await runNodeOnGpu(device, node, [x], env.cache);
        const [expected] = globalAveragePool.reference(node, [x]);
        assert.deepEqual(actual.shape, expected.shape);
        const label = `GlobalAveragePool [${shape}], CPU-like adapter ${isFallbackAdapter}`;
        assertClose(actual.data, expected.data, TOLERANCES.f32Kernel, label);
      }
    }
  },
);
