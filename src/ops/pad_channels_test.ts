import assert from "node:assert/strict";
import { runNodeOnGpu } from "../executor/gpu_node_runner.ts";
import { makeTensor, type Node } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { randomInts } from "./_tfl_testing.ts";
import { padChannelsOp } from "./pad_channels.ts";

const node: Node = {
  name: "pad",
  op: "PadChannels",
  inputs: ["x"],
  outputs: ["y"],
  attrs: { pad_value: -128 },
};

Deno.test("PadChannels keeps every channel and fills the padding with pad_value", () => {
  const x = makeTensor("i8", [2, 3, 2, 3], randomInts(1, 36));
  const [y] = padChannelsOp.reference(node, [x]);
  assert.deepEqual(y.shape, [2, 3, 2, 4]);
  for (let p = 0; p < 12; p++) {
    assert.deepEqual([...y.data.subarray(4 * p, 4 * p + 4)], [
      ...x.data.subarray(3 * p, 3 * p + 3),
      -128,
    ]);
  }
});

gpuTest("PadChannels GPU kernel matches the reference", async ({ gpu, cache }) => {
  for (const shape of [[1, 1, 1, 1], [1, 3, 5, 3], [2, 7, 3, 6], [1, 2, 3, 8]]) {
    const x = makeTensor("i8", shape, randomInts(shape[3], shape.reduce((a, b) => a * b)));
    const [actual] = await runNodeOnGpu(gpu, node, [x], cache);
    const [expected] = padChannelsOp.reference(node, [x]);
    assertClose(actual.data, expected.data, TOLERANCES.exact, `[${shape}]`);
  }
});
