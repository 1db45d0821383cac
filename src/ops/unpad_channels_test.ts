import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { fromNhwc4, randomInts, toNhwc4 } from "./_tfl_testing.ts";
import { unpadChannelsOp } from "./unpad_channels.ts";

function node(channels: number): Node {
  return { name: "unpad", op: "UnpadChannels", inputs: ["x"], outputs: ["y"], attrs: { channels } };
}

Deno.test("UnpadChannels drops the padding channels and keeps the rest in order", () => {
  const x = makeTensor("i8", [2, 3, 2, 5], randomInts(1, 60));
  const padded = toNhwc4(x, 2);
  const [y] = unpadChannelsOp.reference(node(5), [padded]);
  assert.deepEqual(y.shape, [2, 3, 2, 5]);
  assert.deepEqual([...y.data], fromNhwc4(padded, 5));
  assert.deepEqual([...y.data], [...x.data]);
  assert.throws(() => unpadChannelsOp.inferTypes(node(3), [padded]), /channels 3 does not fit 8/);
});

gpuTest("UnpadChannels GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (const shape of [[1, 1, 1, 1], [1, 3, 5, 3], [2, 7, 3, 6], [1, 2, 3, 9]]) {
    const x = makeTensor("i8", shape, randomInts(shape[3], shape.reduce((a, b) => a * b)));
    const padded = toNhwc4(x, 7);
    const [actual] = await runNodeOnGpu(gpu, node(shape[3]), [padded], cache);
    const [expected] = unpadChannelsOp.reference(node(shape[3]), [padded]);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `[${shape}]`);
  }
});
