import assert from "node:assert/strict";
import { InputMismatchError } from "../graph/shape_inference.ts";
import type { Graph, Tensor } from "../graph/types.ts";
import { gpuTest } from "../testing/gpu.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { convGraph, countCalls, randomInputs, residualGraph } from "./_testing.ts";
import { type GpuContext, openGpu } from "./gpu_device.ts";
import { runReference } from "./reference.ts";
import { createSession, type Session } from "./session.ts";
import { cpuThreads, setCpuThreads } from "../wasm/cpu_threads.ts";
import { wasmSimdSupported } from "../wasm/simd_support.ts";
import { sharedWasmGemm } from "../wasm/wasm_gemm.ts";

/** Runs `session` on seeded inputs and compares every output with the reference. */
async function assertMatchesReference(session: Session, graph: Graph, batch: number) {
  const inputs = randomInputs(graph, batch, 7);
  const actual = await session.run(inputs);
  const expected = runReference(graph, inputs);
  for (const [name, tensor] of Object.entries(expected)) {
    assert.deepEqual(actual[name].shape, tensor.shape);
    assertClose(actual[name].data, tensor.data, TOLERANCES.f32Kernel, `${session.backend} ${name}`);
  }
}

/** A graph whose input alone exceeds the binding limit of `gpu`. */
function tooBigForGpu(gpu: GpuContext): Graph {
  const length = gpu.device.limits.maxStorageBufferBindingSize / 4 + 1;
  return {
    name: "big",
    inputs: [{ name: "x", dtype: "f32", shape: ["N", length] }],
    outputs: [{ name: "y", dtype: "f32", shape: ["N", length] }],
    initializers: new Map(),
    nodes: [{ name: "relu", op: "Relu", inputs: ["x"], outputs: ["y"], attrs: {} }],
  };
}

gpuTest("createSession cpu never touches WebGPU, even when given a GPU", async ({ gpu }) => {
  const graph = residualGraph();
  const onGpu = countCalls(Object.getPrototypeOf(navigator.gpu), ["requestAdapter"]);
  const onDevice = countCalls(gpu.device, ["createBuffer", "createShaderModule", "pushErrorScope"]);
  try {
    const session = await createSession({ graph }, { backend: "cpu", batch: 2, gpu });
    assert.equal(session.backend, "cpu");
    assert.equal(session.adapter, undefined);
    assert.equal(session.fallbackReason, undefined);
    await assertMatchesReference(session, graph, 2);
    session.dispose();
  } finally {
    onGpu.stop();
    onDevice.stop();
  }
  assert.deepEqual(onGpu.counts, { requestAdapter: 0 });
  assert.deepEqual(onDevice.counts, { createBuffer: 0, createShaderModule: 0, pushErrorScope: 0 });
});

gpuTest("createSession gpu runs on the given GPU", async ({ gpu }) => {
  const graph = residualGraph();
  const session = await createSession({ graph }, { backend: "gpu", batch: 3, gpu });
  assert.equal(session.backend, "gpu");
  assert.equal(session.adapter, gpu.description);
  assert.ok(session.memory.plannedBytes >= session.memory.lowerBoundBytes);
  await assertMatchesReference(session, graph, 3);
  session.dispose();
});

/** Runs `fn` with the CPU path on `threads` threads, restoring the count after. */
async function withCpuThreads<T>(threads: number, fn: () => Promise<T>): Promise<T> {
  const before = cpuThreads();
  setCpuThreads(threads);
  try {
    return await fn();
  } finally {
    setCpuThreads(before);
  }
}

gpuTest(
  "createSession auto does not build a software adapter whose cores the CPU path uses",
  async ({
    gpu,
  }) => {
    const graph = residualGraph();
    const cores = navigator.hardwareConcurrency;
    const session = await withCpuThreads(
      cores,
      () => createSession({ graph }, { gpu: { ...gpu, isFallbackAdapter: true } }),
    );
    if (!wasmSimdSupported()) {
      assert.ok(session.timings, "without SIMD the adapter is timed");
      session.dispose();
      return;
    }
    assert.equal(session.backend, "cpu");
    assert.equal(session.timings, undefined);
    assert.equal(session.adapter, gpu.description);
    assert.match(
      session.fallbackReason!,
      new RegExp(`software GPU adapter .* CPU path already uses \\(${cores} threads\\)`),
    );
    await assertMatchesReference(session, graph, 1);
    session.dispose();
  },
);

gpuTest("createSession auto keeps a software adapter only when it beats the CPU", async ({
  gpu,
}) => {
  const graph = residualGraph();
  // The CPU path on fewer threads than cores (where there are 2 or more): the adapter is timed.
  const cores = navigator.hardwareConcurrency;
  if (cores < 2) return;
  const session = await withCpuThreads(
    cores - 1,
    () => createSession({ graph }, { gpu: { ...gpu, isFallbackAdapter: true } }),
  );
  const { gpuMs, cpuMs } = session.timings!;
  assert.ok(gpuMs > 0 && cpuMs > 0, `timings ${gpuMs} ms, ${cpuMs} ms`);
  assert.equal(session.backend, gpuMs < cpuMs ? "gpu" : "cpu");
  if (session.backend === "cpu") {
    assert.match(
      session.fallbackReason!,
      /software GPU adapter .* took [\d.]+ ms per run, the CPU/,
    );
  } else assert.equal(session.fallbackReason, undefined);
  await assertMatchesReference(session, graph, 1);
  session.dispose();
});

gpuTest("createSession auto uses a hardware adapter without timing it", async ({ gpu }) => {
  const graph = residualGraph();
  const session = await createSession({ graph }, { gpu: { ...gpu, isFallbackAdapter: false } });
  assert.equal(session.backend, "gpu");
  assert.equal(session.timings, undefined);
  session.dispose();
});

gpuTest("A GPU load failure falls back under auto and throws under gpu", async ({ gpu }) => {
  const graph = tooBigForGpu(gpu);
  const session = await createSession({ graph }, { gpu: { ...gpu, isFallbackAdapter: false } });
  assert.equal(session.backend, "cpu");
  assert.equal(session.adapter, gpu.description);
  assert.match(
    session.fallbackReason!,
    /^Loading on the GPU \(.+\) failed: Tensor "x" .* maxStorageBufferBindingSize/,
  );
  await assert.rejects(
    createSession({ graph }, { backend: "gpu", gpu }),
    /Tensor "x" .* maxStorageBufferBindingSize/,
  );
});

gpuTest("A lost device falls back to the CPU under auto and throws under gpu", async () => {
  const graph = residualGraph();
  const own = await openGpu();
  const auto = await createSession({ graph }, { gpu: { ...own, isFallbackAdapter: false } });
  const own2 = await openGpu();
  const explicit = await createSession({ graph }, { backend: "gpu", gpu: own2 });
  own.device.destroy();
  own2.device.destroy();
  await assertMatchesReference(auto, graph, 1);
  assert.equal(auto.backend, "cpu");
  assert.match(auto.fallbackReason!, /^Running on the GPU \(.+\) failed: GPU device lost/);
  await assert.rejects(explicit.run(randomInputs(graph, 1, 1)), /GPU device lost/);
  auto.dispose();
  explicit.dispose();
});

gpuTest("Input errors are reported, not taken for GPU failures", async ({ gpu }) => {
  const graph = residualGraph();
  const session = await createSession({ graph }, { gpu: { ...gpu, isFallbackAdapter: false } });
  const wrong: Record<string, Tensor> = randomInputs(graph, 2, 1);
  await assert.rejects(session.run(wrong), InputMismatchError);
  await assert.rejects(session.run({}), /Missing input "x" \(f32 \[1,3,9,7\]\)/);
  assert.equal(session.backend, "gpu");
  assert.equal(session.fallbackReason, undefined);
  session.dispose();
});

Deno.test("createSession rejects an unknown backend", async () => {
  await assert.rejects(
    createSession({ graph: residualGraph() }, { backend: "tpu" as "cpu" }),
    /Unknown backend "tpu"; use "auto", "gpu" or "cpu"/,
  );
});

Deno.test({
  name: "A CPU session resolves once the CPU product's worker threads have started",
  ignore: !wasmSimdSupported(),
}, async () => {
  await withCpuThreads(3, async () => {
    const graph = convGraph(false, 5);
    const session = await createSession({ graph }, { backend: "cpu" });
    assert.equal(sharedWasmGemm()!.threads, 3, "all workers started before the first run");
    const inputs = randomInputs(graph, 1, 6);
    assertClose(
      (await session.run(inputs))[graph.outputs[0].name].data,
      runReference(graph, inputs)[graph.outputs[0].name].data,
      TOLERANCES.f32Kernel,
    );
    session.dispose();
  });
});
