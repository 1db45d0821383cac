import assert from "node:assert/strict";
import type { Graph } from "../graph/types.ts";
import { opFor } from "../ops/registry.ts";
import { gpuTest } from "../testing/gpu.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import {
  convGraph,
  countCalls,
  randomInputs,
  residualGraph,
  trackBuffers,
  wrap,
} from "./_testing.ts";
import { type GpuContext, openGpu } from "./gpu_device.ts";
import { GpuSession } from "./gpu_executor.ts";
import { runReference } from "./reference.ts";

gpuTest("GpuSession matches the reference interpreter at batch 1 and 3", async ({ gpu, cache }) => {
  const graph = residualGraph();
  for (const batch of [1, 3]) {
    const session = await GpuSession.create(gpu, graph, { batch, cache });
    assert.ok(session.plan.arenaBytes.length >= 2, "inputs and outputs of a node share a buffer");
    for (const seed of [1, 2]) {
      const inputs = randomInputs(graph, batch, seed);
      const actual = await session.run(inputs);
      const expected = runReference(graph, inputs);
      for (const name of ["y", "f"]) {
        assert.deepEqual(actual[name].shape, expected[name].shape);
        assertClose(actual[name].data, expected[name].data, TOLERANCES.f32Kernel, name);
      }
    }
    session.dispose();
  }
});

gpuTest("GpuSession runs with one encoder, one submit, one map and no new objects", async ({
  gpu,
  cache,
}) => {
  const graph = residualGraph();
  const session = await GpuSession.create(gpu, graph, { batch: 2, cache });
  const inputs = randomInputs(graph, 2, 3);
  const { device } = gpu;
  const onDevice = countCalls(device, [
    "createBuffer",
    "createBindGroup",
    "createComputePipeline",
    "createComputePipelineAsync",
    "createShaderModule",
    "createCommandEncoder",
  ]);
  const onQueue = countCalls(device.queue, ["submit", "writeBuffer"]);
  const onBuffer = countCalls(GPUBuffer.prototype, ["mapAsync"]);
  try {
    await session.run(inputs);
    await session.run(inputs);
  } finally {
    onDevice.stop();
    onQueue.stop();
    onBuffer.stop();
  }
  assert.deepEqual(onDevice.counts, {
    createBuffer: 0,
    createBindGroup: 0,
    createComputePipeline: 0,
    createComputePipelineAsync: 0,
    createShaderModule: 0,
    createCommandEncoder: 2,
  });
  assert.deepEqual(onQueue.counts, { submit: 2, writeBuffer: 2 });
  assert.deepEqual(onBuffer.counts, { mapAsync: 2 });
  session.dispose();
});

gpuTest("GpuSession labels its GPU objects and dispose destroys every buffer", async ({
  gpu,
  cache,
}) => {
  const graph = residualGraph();
  const { device } = gpu;
  const bindGroupLabels: string[] = [];
  const tracked = trackBuffers(device);
  const buffers = tracked.created;
  const destroyedBuffers = () => new Set(tracked.destroyed.map((d) => d.buffer));
  const restoreBindGroups = wrap(
    device,
    "createBindGroup",
    (original) =>
      function (this: unknown, ...args: unknown[]) {
        bindGroupLabels.push((args[0] as GPUBindGroupDescriptor).label ?? "");
        return original.apply(this, args);
      },
  );
  let session: GpuSession;
  try {
    session = await GpuSession.create(gpu, graph, { batch: 1, cache });
  } finally {
    tracked.stop();
    restoreBindGroups();
  }
  assert.ok(buffers.length > 0);
  for (const { label } of buffers) assert.notEqual(label, "", "a buffer without a label");
  for (const name of ["weight scale", "weight shift", "input x", "output y", "output q"]) {
    assert.ok(buffers.some((b) => b.label === name), `no buffer labelled "${name}"`);
  }
  const kernels = graph.nodes.filter((node) => !opFor(node).view);
  assert.equal(bindGroupLabels.length, kernels.length);
  kernels.forEach((node, i) => {
    assert.ok(bindGroupLabels[i].startsWith(`${node.name} (${node.op})`), bindGroupLabels[i]);
  });
  assert.equal(destroyedBuffers().size, 0);
  session.dispose();
  assert.equal(destroyedBuffers().size, buffers.length, "dispose left buffers alive");
  await assert.rejects(session.run(randomInputs(graph, 1, 1)), /has been disposed/);
});

gpuTest("GpuSession names a tensor that exceeds the binding size limit", async ({ gpu }) => {
  const limit = gpu.device.limits.maxStorageBufferBindingSize;
  const length = limit / 4 + 1;
  const graph: Graph = {
    name: "big",
    inputs: [{ name: "x", dtype: "f32", shape: ["N", length] }],
    outputs: [{ name: "y", dtype: "f32", shape: ["N", length] }],
    initializers: new Map(),
    nodes: [{ name: "relu", op: "Relu", inputs: ["x"], outputs: ["y"], attrs: {} }],
  };
  await assert.rejects(
    GpuSession.create(gpu, graph),
    new RegExp(
      `Tensor "x" \\[1,${length}\\] needs ${limit + 4} bytes, more than the device's ` +
        `maxStorageBufferBindingSize of ${limit}`,
    ),
  );
});

gpuTest("GpuSession reports a lost device", async () => {
  const own = await openGpu();
  const graph = residualGraph();
  const session = await GpuSession.create(own, graph);
  own.device.destroy();
  await assert.rejects(session.run(randomInputs(graph, 1, 1)), /GPU device lost/);
  assert.match(session.lostReason ?? "", /GPU device lost \(destroyed\)/);
  session.dispose();
});

/**
 * Counts, per pipeline label, the dispatches of at least one workgroup recorded while `fn`
 * runs.
 */
async function countDispatches(fn: () => Promise<unknown>): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const current = new WeakMap<GPUComputePassEncoder, string>();
  const proto = GPUComputePassEncoder.prototype;
  const restorePipeline = wrap(
    proto,
    "setPipeline",
    (original) =>
      function (this: GPUComputePassEncoder, ...args: unknown[]) {
        current.set(this, (args[0] as GPUComputePipeline).label);
        return original.apply(this, args);
      },
  );
  const restoreDispatch = wrap(
    proto,
    "dispatchWorkgroups",
    (original) =>
      function (this: GPUComputePassEncoder, ...args: unknown[]) {
        if ((args as number[]).every((n) => (n ?? 1) > 0)) {
          const label = current.get(this)!;
          counts.set(label, (counts.get(label) ?? 0) + 1);
        }
        return original.apply(this, args);
      },
  );
  try {
    await fn();
  } finally {
    restorePipeline();
    restoreDispatch();
  }
  return counts;
}

/**
 * `gpu` as a CPU-like adapter: convs use the register kernel and its transposed weights, or
 * for the 3x3 stride-1 conv of `convGraph` Winograd and its transformed weights.
 */
const registerKernel = (gpu: GpuContext): GpuContext => ({ ...gpu, isFallbackAdapter: true });

/** Programs deriving a buffer from conv weights: the transposition or the Winograd transform. */
const TRANSPOSE = /^conv_(transposed|winograd)_weights/;
const transpositions = (counts: Map<string, number>) =>
  [...counts].filter(([label]) => TRANSPOSE.test(label)).reduce((n, [, c]) => n + c, 0);

gpuTest("GpuSession transposes constant conv weights once, at load, and frees them", async ({
  gpu,
  cache,
}) => {
  const graph = convGraph();
  const { device } = gpu;
  const tracked = trackBuffers(device);
  let session: GpuSession | undefined;
  let atLoad: Map<string, number>;
  try {
    atLoad = await countDispatches(async () => {
      session = await GpuSession.create(registerKernel(gpu), graph, { batch: 2, cache });
    });
  } finally {
    tracked.stop();
  }
  assert.equal(transpositions(atLoad), 1, `load dispatches ${[...atLoad]}`);
  assert.deepEqual(
    tracked.destroyed.map((d) => d.label),
    ["weight w"],
    "the weights are read at load only",
  );
  const onQueue = countCalls(device.queue, ["submit"]);
  let perRun: Map<string, number>;
  try {
    perRun = await countDispatches(async () => {
      for (const seed of [1, 2]) {
        const inputs = randomInputs(graph, 2, seed);
        const actual = await session!.run(inputs);
        assertClose(actual.y.data, runReference(graph, inputs).y.data, TOLERANCES.f32Kernel);
      }
    });
  } finally {
    onQueue.stop();
  }
  assert.equal(transpositions(perRun), 0, `run dispatches ${[...perRun]}`);
  assert.ok([...perRun.keys()].some((label) => /^conv_(mm|winograd_gemm)/.test(label)), "ran");
  assert.deepEqual(onQueue.counts, { submit: 2 });
  session!.dispose();
});

gpuTest("GpuSession transposes conv weights on every run when they are a graph input", async ({
  gpu,
  cache,
}) => {
  const graph = convGraph(true);
  const session = await GpuSession.create(registerKernel(gpu), graph, { batch: 1, cache });
  const counts = await countDispatches(async () => {
    // New weights every run: a transposition kept from the first would be stale.
    for (const seed of [3, 4]) {
      const inputs = randomInputs(graph, 1, seed);
      const actual = await session.run(inputs);
      assertClose(actual.y.data, runReference(graph, inputs).y.data, TOLERANCES.f32Kernel);
    }
  });
  assert.equal(transpositions(counts), 2, `run dispatches ${[...counts]}`);
  session.dispose();
});
