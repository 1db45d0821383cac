import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import type { Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { randomTensor, seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { relu } from "./relu.ts";

const node: Node = { name: "relu0", op: "Relu", inputs: ["x"], outputs: ["y"], attrs: {} };

Deno.test("Relu reference clamps negatives and keeps positives", () => {
  const x = randomTensor(seededRandom(1), "f32", [2, 3, 5]);
  const [y] = relu.reference(node, [x]);
  for (let i = 0; i < x.data.length; i++) {
    if (y.data[i] !== (x.data[i] > 0 ? x.data[i] : 0)) throw new Error(`element ${i} wrong`);
  }
});

gpuTest("Relu GPU kernel matches the reference on odd shapes", async ({ gpu, cache }) => {
  for (const shape of [[1], [3, 7], [1, 17, 5, 3], [2, 300, 300]]) {
    const x = randomTensor(seededRandom(shape.length), "f32", shape);
    const [actual] = await runNodeOnGpu(gpu, node, [x], cache);
    const [expected] = relu.reference(node, [x]);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `Relu [${shape}]`);
  }
});
