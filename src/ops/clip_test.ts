import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { type Attributes, makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { clip } from "./clip.ts";

function clipNode(attrs: Attributes): Node {
  return { name: "clip0", op: "Clip", inputs: ["x"], outputs: ["y"], attrs };
}

const F32_MAX = 3.4028234663852886e38;
const x = makeTensor("f32", [7], [-Infinity, -2, -0.5, 0.25, 0.5, 6.5, Infinity]);

Deno.test("Clip reference bounds values by min and max", () => {
  const run = (attrs: Attributes) => [...clip.reference(clipNode(attrs), [x])[0].data];
  assert.deepEqual(run({ min: -1, max: 6 }), [-1, -1, -0.5, 0.25, 0.5, 6, 6]);
  assert.deepEqual(run({ min: 0 }), [0, 0, 0, 0.25, 0.5, 6.5, F32_MAX]);
  assert.deepEqual(run({ max: 0.375 }), [-F32_MAX, -2, -0.5, 0.25, 0.375, 0.375, 0.375]);
  assert.deepEqual(run({ min: 1, max: -1 }), [-1, -1, -1, -1, -1, -1, -1]);
});

Deno.test("Clip inferTypes rejects non-numeric bounds", () => {
  assert.throws(
    () => clip.inferTypes(clipNode({ min: "low" }), [{ dtype: "f32", shape: [2] }]),
    /Clip "clip0": attribute min must be a number, got "low"/,
  );
});

gpuTest("Clip GPU kernel matches the reference for each kind of bound", async (env) => {
  const bounds: Attributes[] = [{ min: 0, max: 6 }, { min: -0.3 }, { max: 0.7 }, {}, {
    min: 1,
    max: 0,
  }];
  for (const [i, attrs] of bounds.entries()) {
    for (const shape of [[1], [3, 7], [2, 17, 33, 9]]) {
      const input = randomTensor(seededRandom(60 + i), "f32", shape, -8, 8);
      input.data.set(x.data.subarray(0, Math.min(7, input.data.length)));
      const node = clipNode(attrs);
      const [actual] = await runNodeOnGpu(env.gpu, node, [input], env.cache);
      const [expected] = clip.reference(node, [input]);
      // Clip selects an input or a bound: bit-exact.
      assertClose(actual.data, expected.data, TOLERANCES.exact, `Clip ${JSON.stringify(attrs)}`);
    }
  }
});
