import assert from "node:assert/strict";
import { readTensor } from "../src/executor/gpu_buffers.ts";
import type { GpuContext } from "../src/executor/gpu_device.ts";
import { prepareNodeOnGpu } from "../src/executor/gpu_node_runner.ts";
import type { GpuResource } from "../src/executor/gpu_textures.ts";
import type { Node } from "../src/graph/types.ts";
import { conv } from "../src/ops/conv.ts";
import { gpuTest } from "../src/testing/gpu.ts";
import { randomTensor, seededRandom } from "../src/testing/random.ts";
import { assertClose, TOLERANCES } from "../src/testing/tolerance.ts";
import { GpuTimer, type TimerMode } from "./gpu_timer.ts";

const node: Node = {
  name: "conv timed",
  op: "Conv",
  inputs: ["x", "w", "b"],
  outputs: ["y"],
  attrs: { pads: [1, 1, 1, 1], activation: "relu" },
};

gpuTest("GpuTimer times each repetition and the dispatches compute the node", async (env) => {
  const rand = seededRandom(5);
  const inputs = [
    randomTensor(rand, "f32", [1, 13, 21, 19]),
    randomTensor(rand, "f32", [11, 13, 3, 3]),
    randomTensor(rand, "f32", [11]),
  ];
  const [expected] = conv.reference(node, inputs);
  const modes: TimerMode[] = env.gpu.features.has("timestamp-query")
    ? ["timestamp", "wall"]
    : ["wall"];
  for (const mode of modes) {
    const created: GpuResource[] = [];
    const track = <R extends GpuResource>(r: R): R => (created.push(r), r);
    const timer = new GpuTimer(env.gpu, { mode, passesPerSubmit: 2 });
    try {
      const prepared = await prepareNodeOnGpu(env.gpu, node, inputs, env.cache, track);
      // Five repetitions at two passes per submission: three submissions in timestamp mode.
      const times = await timer.time(prepared.dispatches, 5, node.name);
      assert.equal(times.length, 5, mode);
      assert.ok(times.every((ms) => Number.isFinite(ms) && ms >= 0), `${mode}: ${times}`);
      assert.ok(times.some((ms) => ms > 0), `${mode}: ${times}`);
      const y = await readTensor(env.gpu.device, prepared.outputBuffers[0], prepared.outputs[0]);
      assertClose(y.data, expected.data, TOLERANCES.f32Kernel, `${mode} output`);
    } finally {
      timer.dispose();
      for (const b of created) b.destroy();
    }
  }
});

Deno.test("GpuTimer refuses timestamp mode without the feature and bad repetition counts", () => {
  const gpu = { features: new Set<string>(), description: "test adapter" } as unknown as GpuContext;
  assert.throws(
    () => new GpuTimer(gpu, { mode: "timestamp" }),
    /needs the "timestamp-query" feature, which the device \(test adapter\) does not have/,
  );
  assert.throws(() => new GpuTimer(gpu, { passesPerSubmit: 0 }), /integer from 1 to 2048, got 0/);
  const timer = new GpuTimer(gpu);
  assert.equal(timer.mode, "wall");
  return assert.rejects(timer.time([], 0, "none"), /positive integer, got 0/);
});
