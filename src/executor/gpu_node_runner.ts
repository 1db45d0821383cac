/**
 * Runs a single node on the GPU, from host tensors to host tensors. The kernel tests use it
 * to compare each WGSL kernel with its CPU reference; output buffers start poisoned.
 *
 * @module
 */

import type { Node, Tensor, TensorType } from "../graph/types.ts";
import type { GpuBindingSource, GpuPlan } from "../ops/op.ts";
import { opFor } from "../ops/registry.ts";
import type { GpuContext } from "./gpu_device.ts";
import {
  createPoisonedBuffer,
  createUniformBuffer,
  readTensor,
  uploadTensor,
} from "./gpu_buffers.ts";
import { PipelineCache } from "./pipeline_cache.ts";

/** Plans `node` for `gpu`, using the op's GPU kernel; throws if the op has none. */
export function planNodeOnGpu(
  gpu: GpuContext,
  node: Node,
  inputs: (TensorType | undefined)[],
): { plan: GpuPlan; outputs: TensorType[] } {
  const def = opFor(node);
  if (!def.gpu) throw new Error(`Op "${node.op}" (node "${node.name}") has no GPU kernel`);
  const outputs = def.inferTypes(node, inputs);
  const plan = def.gpu({
    node,
    inputs,
    outputs,
    limits: gpu.device.limits,
    features: gpu.features,
  });
  return { plan, outputs };
}

/**
 * Executes `node` on the GPU with `inputs` and returns its outputs. Every buffer created
 * here is destroyed before returning.
 */
export async function runNodeOnGpu(
  gpu: GpuContext,
  node: Node,
  inputs: (Tensor | undefined)[],
  cache: PipelineCache = new PipelineCache(gpu.device),
): Promise<Tensor[]> {
  const { device } = gpu;
  const { plan, outputs } = planNodeOnGpu(gpu, node, inputs);
  const created: GPUBuffer[] = [];
  const track = (b: GPUBuffer) => (created.push(b), b);
  try {
    const inputBuffers = inputs.map((t, i) =>
      t ? track(uploadTensor(device, t, `${node.name}:in${i}`)) : undefined
    );
    const outputBuffers = outputs.map((t, i) =>
      track(createPoisonedBuffer(device, t, `${node.name}:out${i}`))
    );
    const scratchBuffers = (plan.scratchBytes ?? []).map((bytes, i) =>
      track(createPoisonedBuffer(
        device,
        { dtype: "u8", shape: [Math.max(4, bytes)] },
        `${node.name}:scratch${i}`,
      ))
    );
    const resolve = (src: GpuBindingSource): GPUBuffer => {
      const buffer = src.kind === "input"
        ? inputBuffers[src.index]
        : src.kind === "output"
        ? outputBuffers[src.index]
        : scratchBuffers[src.index];
      if (!buffer) throw new Error(`Node "${node.name}" binds missing ${src.kind} ${src.index}`);
      return buffer;
    };
    const pipelines = await Promise.all(plan.programs.map((p) => cache.get(p)));
    device.pushErrorScope("validation");
    const encoder = device.createCommandEncoder({ label: node.name });
    const pass = encoder.beginComputePass({ label: node.name });
    plan.programs.forEach((program, i) => {
      const uniform = track(createUniformBuffer(device, program.uniforms, `${program.key}:u`));
      const entries: GPUBindGroupEntry[] = program.bindings.map((src, binding) => ({
        binding,
        resource: { buffer: resolve(src) },
      }));
      entries.push({ binding: program.bindings.length, resource: { buffer: uniform } });
      const bindGroup = device.createBindGroup({
        label: `${node.name}:${program.key}`,
        layout: pipelines[i].getBindGroupLayout(0),
        entries,
      });
      pass.setPipeline(pipelines[i]);
      pass.setBindGroup(0, bindGroup);
      pass.dispatchWorkgroups(...program.workgroups);
    });
    pass.end();
    device.queue.submit([encoder.finish()]);
    const error = await device.popErrorScope();
    if (error) throw new Error(`GPU validation failed for node "${node.name}": ${error.message}`);
    return await Promise.all(outputs.map((t, i) => readTensor(device, outputBuffers[i], t)));
  } finally {
    for (const b of created) b.destroy();
  }
}
