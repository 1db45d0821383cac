/**
 * Shared GPU access for tests: one device per test process, and GPU tests that show as
 * ignored (never silently passed) when no adapter exists.
 *
 * @module
 */

import { type GpuContext, openGpu } from "../executor/gpu_device.ts";
import { PipelineCache } from "../executor/pipeline_cache.ts";

/** A test process's GPU and its pipeline cache. */
export interface TestGpu {
  /** The open device. */
  gpu: GpuContext;
  /** Pipelines shared by all tests of the process. */
  cache: PipelineCache;
}

const shared: TestGpu | null = await openGpu().then(
  (gpu) => ({ gpu, cache: new PipelineCache(gpu.device) }),
  (err) => {
    console.warn(`GPU tests are ignored: ${err.message}`);
    return null;
  },
);

/** Registers a test that needs the GPU; it is reported as ignored when there is none. */
export function gpuTest(name: string, fn: (env: TestGpu) => Promise<void>): void {
  Deno.test({
    name,
    ignore: shared === null,
    // The device and its pipeline cache live for the whole test process.
    sanitizeResources: false,
    sanitizeOps: false,
    fn: () => fn(shared!),
  });
}

/**
 * Compiles `code` (entry point `main`, bindings 0.. of group 0 in `buffers` order), dispatches
 * it once with `workgroups` and submits: for kernel tests that bind their own buffers.
 */
export function dispatchOnce(
  device: GPUDevice,
  code: string,
  buffers: GPUBuffer[],
  workgroups: [number, number?, number?],
): void {
  const module = device.createShaderModule({ code });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(
    0,
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: buffers.map((buffer, binding) => ({ binding, resource: { buffer } })),
    }),
  );
  pass.dispatchWorkgroups(...workgroups);
  pass.end();
  device.queue.submit([encoder.finish()]);
}

/** `gpu`'s limits, but textures of at most `rows` rows: operand copies too large go to buffers. */
export function withTextureRows(gpu: GpuContext, rows: number): GPUSupportedLimits {
  const limits: Record<string, number> = {};
  for (const key in gpu.device.limits) {
    limits[key] = gpu.device.limits[key as keyof GPUSupportedLimits] as number;
  }
  return { ...limits, maxTextureDimension2D: rows } as unknown as GPUSupportedLimits;
}
