/**
 * Runs a single node on the GPU, from host tensors to host tensors. The kernel tests use it
 * to compare each WGSL kernel with its CPU reference; output, scratch and derived buffers
 * start poisoned. Also holds the steps the graph executor shares with it: planning a node's
 * kernel, creating its uniform buffers and bind groups, and recording its dispatches; and
 * `prepareNodeOnGpu`, which readies one node for repeated dispatch (the kernel benchmarks),
 * its derived buffers computed once.
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import type { Node, Tensor, TensorType } from "../graph/types.ts";
import type { GpuBindingSource, GpuPlan, GpuProgram, StoragePrecision } from "../ops/op.ts";
import { opFor } from "../ops/registry.ts";
import { texelBytes, type TexelFormat } from "../shaders/texel_rows.ts";
import type { GpuContext } from "./gpu_device.ts";
import {
  createPoisonedBuffer,
  createUniformBuffer,
  readTensor,
  uploadTensor,
} from "./gpu_buffers.ts";
import { createPoisonedTexture, type GpuResource, resourceBinding } from "./gpu_textures.ts";
import { PipelineCache } from "./pipeline_cache.ts";

/** One recorded dispatch: everything it needs, created once. */
export interface GpuDispatch {
  /** Name of the node it computes. */
  node: string;
  /** Key of its program (the pipeline variant). */
  program: string;
  /** The compiled program. */
  pipeline: GPUComputePipeline;
  /** Its storage buffers and uniform buffer. */
  bindGroup: GPUBindGroup;
  /** Workgroup counts. */
  workgroups: [number, number, number];
}

/**
 * Plans `node` for `gpu`, using the op's GPU kernel, its operand copies stored as `storage`;
 * throws if the op has none.
 */
export function planNodeOnGpu(
  gpu: GpuContext,
  node: Node,
  inputs: (TensorType | undefined)[],
  storage: StoragePrecision = "f32",
): { plan: GpuPlan; outputs: TensorType[] } {
  const outputs = opFor(node).inferTypes(node, inputs);
  return { plan: gpuPlanFor(gpu, node, inputs, outputs, storage), outputs };
}

/** Plans `node`'s kernel for already inferred types; throws if the op has no GPU kernel. */
export function gpuPlanFor(
  gpu: GpuContext,
  node: Node,
  inputs: (TensorType | undefined)[],
  outputs: TensorType[],
  storage: StoragePrecision = "f32",
): GpuPlan {
  const def = opFor(node);
  if (!def.gpu) throw new Error(`Op "${node.op}" (node "${node.name}") has no GPU kernel`);
  return def.gpu({
    node,
    inputs,
    outputs,
    limits: gpu.device.limits,
    features: gpu.features,
    isFallbackAdapter: gpu.isFallbackAdapter,
    storage,
  });
}

/**
 * Creates the uniform buffer and bind group of each of `node`'s `programs`, binding storage
 * through `resolve`, after checking its workgroup counts against the device. Every buffer
 * created is passed to `track` (for destruction); labels name the node, its op and the
 * program.
 */
export function createDispatches(
  device: GPUDevice,
  node: Node,
  programs: readonly GpuProgram[],
  pipelines: GPUComputePipeline[],
  resolve: (src: GpuBindingSource) => GPUBindingResource,
  track: (buffer: GPUBuffer) => GPUBuffer,
): GpuDispatch[] {
  const max = device.limits.maxComputeWorkgroupsPerDimension;
  return programs.map((program, i) => {
    const label = `${node.name} (${node.op}) ${program.key}`;
    if (!program.workgroups.every((n) => Number.isInteger(n) && n >= 0 && n <= max)) {
      throw new Error(
        `Program ${label} dispatches [${program.workgroups}] workgroups; each count must be ` +
          `an integer from 0 to the device's maxComputeWorkgroupsPerDimension of ${max}`,
      );
    }
    const uniform = track(createUniformBuffer(device, program.uniforms, `${label} uniforms`));
    const entries: GPUBindGroupEntry[] = program.bindings.map((src, binding) => ({
      binding,
      resource: resolve(src),
    }));
    entries.push({ binding: program.bindings.length, resource: { buffer: uniform } });
    const bindGroup = device.createBindGroup({
      label,
      layout: pipelines[i].getBindGroupLayout(0),
      entries,
    });
    return {
      node: node.name,
      program: program.key,
      pipeline: pipelines[i],
      bindGroup,
      workgroups: program.workgroups,
    };
  });
}

/** The programs computing `plan`'s derived buffers, in order. */
export function derivedPrograms(plan: GpuPlan): GpuProgram[] {
  return (plan.derived ?? []).map((d) => d.program);
}

/**
 * Throws unless each derived program of `node`'s `plan` binds node inputs and, last, its own
 * derived buffer (`GpuDerivedBuffer`'s contract).
 */
export function checkDerived(node: Node, plan: GpuPlan): void {
  derivedPrograms(plan).forEach(({ key, bindings }, i) => {
    const last = bindings[bindings.length - 1];
    const ok = last?.kind === "derived" && last.index === i &&
      bindings.slice(0, -1).every((src) => src.kind === "input");
    if (!ok) {
      throw new Error(
        `Node "${node.name}" (${node.op}): derived buffer ${i}'s program ${key} must bind node ` +
          `inputs and then derived buffer ${i}, got ${JSON.stringify(bindings)}`,
      );
    }
  });
}

/** Records `dispatches` into `pass`, in order. */
export function recordDispatches(pass: GPUComputePassEncoder, dispatches: GpuDispatch[]): void {
  for (const d of dispatches) {
    pass.setPipeline(d.pipeline);
    pass.setBindGroup(0, d.bindGroup);
    pass.dispatchWorkgroups(...d.workgroups);
  }
}

/**
 * Runs `fn` inside error scopes for `filters` (pushed in order, popped in reverse) and throws
 * when `fn` throws or the device reports an error in a scope; `what` names the work.
 */
export async function withErrorScopes<T>(
  device: GPUDevice,
  filters: GPUErrorFilter[],
  what: string,
  fn: () => T | Promise<T>,
): Promise<T> {
  for (const filter of filters) device.pushErrorScope(filter);
  let outcome: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    outcome = { ok: true, value: await fn() };
  } catch (error) {
    outcome = { ok: false, error };
  }
  const reported: string[] = [];
  for (const filter of [...filters].reverse()) {
    const error = await device.popErrorScope();
    if (error) reported.push(`${filter} error: ${error.message}`);
  }
  if (reported.length > 0) {
    const thrown = outcome.ok ? "" : ` (${errorMessage(outcome.error)})`;
    throw new Error(`${what} failed: ${reported.join("; ")}${thrown}`);
  }
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** A node made ready to dispatch: its output types and buffers, and its recorded dispatches. */
export interface PreparedNode {
  /** Types of the node's outputs. */
  outputs: TensorType[];
  /** One poisoned storage buffer per output. */
  outputBuffers: GPUBuffer[];
  /** The node's dispatches, bind groups and uniform buffers included. */
  dispatches: GpuDispatch[];
}

/**
 * Plans `node` (or takes `plan`, a variant of its kernel that tests pick), uploads `inputs`,
 * creates poisoned output, scratch and derived buffers, compiles its pipelines, computes its
 * derived buffers (one submission: every input counts as constant) and creates its
 * dispatches, so that it can be recorded any number of times. Every buffer created is passed
 * to `track`; the caller destroys them.
 */
export async function prepareNodeOnGpu(
  gpu: GpuContext,
  node: Node,
  inputs: (Tensor | undefined)[],
  cache: PipelineCache,
  track: <R extends GpuResource>(resource: R) => R,
  storage: StoragePrecision = "f32",
  variant?: GpuPlan,
): Promise<PreparedNode> {
  const { device } = gpu;
  const outputs = opFor(node).inferTypes(node, inputs);
  const plan = variant ?? gpuPlanFor(gpu, node, inputs, outputs, storage);
  const inputBuffers = inputs.map((t, i) =>
    t ? track(uploadTensor(device, t, `${node.name}:in${i}`)) : undefined
  );
  const outputBuffers = outputs.map((t, i) =>
    track(createPoisonedBuffer(device, t, `${node.name}:out${i}`))
  );
  checkDerived(node, plan);
  const poisoned = (bytes: number, texture: TexelFormat | undefined, label: string) =>
    track(
      texture
        ? createPoisonedTexture(device, texture, bytes / texelBytes(texture), label)
        : createPoisonedBuffer(device, { dtype: "u8", shape: [Math.max(4, bytes)] }, label),
    );
  const buffers: Record<GpuBindingSource["kind"], (GpuResource | undefined)[]> = {
    input: inputBuffers,
    output: outputBuffers,
    scratch: (plan.scratchBytes ?? []).map((bytes, i) =>
      poisoned(bytes, plan.scratchTextures?.[i], `${node.name}:scratch${i}`)
    ),
    derived: (plan.derived ?? []).map((d, i) =>
      poisoned(d.bytes, d.texture, `${node.name}:derived${i}`)
    ),
  };
  const resolve = (src: GpuBindingSource): GPUBindingResource => {
    const resource = buffers[src.kind][src.index];
    if (!resource) throw new Error(`Node "${node.name}" binds missing ${src.kind} ${src.index}`);
    return resourceBinding(resource);
  };
  const derived = derivedPrograms(plan);
  const [once, pipelines] = await Promise.all(
    [derived, plan.programs].map((programs) => Promise.all(programs.map((p) => cache.get(p)))),
  );
  const dispatches = await withErrorScopes(
    device,
    ["validation"],
    `Node "${node.name}" on the GPU`,
    () => {
      if (derived.length > 0) {
        const encoder = device.createCommandEncoder({ label: `${node.name} derived buffers` });
        const pass = encoder.beginComputePass({ label: `${node.name} derived buffers` });
        recordDispatches(pass, createDispatches(device, node, derived, once, resolve, track));
        pass.end();
        device.queue.submit([encoder.finish()]);
      }
      return createDispatches(device, node, plan.programs, pipelines, resolve, track);
    },
  );
  return { outputs, outputBuffers, dispatches };
}

/**
 * Executes `node` on the GPU with `inputs` (its operand copies stored as `storage`; its
 * kernel's `variant` plan where given) and returns its outputs. Every buffer created here is
 * destroyed before returning.
 */
export async function runNodeOnGpu(
  gpu: GpuContext,
  node: Node,
  inputs: (Tensor | undefined)[],
  cache: PipelineCache = new PipelineCache(gpu.device),
  storage: StoragePrecision = "f32",
  variant?: GpuPlan,
): Promise<Tensor[]> {
  const { device } = gpu;
  const created: GpuResource[] = [];
  const track = <R extends GpuResource>(r: R): R => (created.push(r), r);
  try {
    const { outputs, outputBuffers, dispatches } = await prepareNodeOnGpu(
      gpu,
      node,
      inputs,
      cache,
      track,
      storage,
      variant,
    );
    await withErrorScopes(device, ["validation"], `Node "${node.name}" on the GPU`, () => {
      const encoder = device.createCommandEncoder({ label: node.name });
      const pass = encoder.beginComputePass({ label: node.name });
      recordDispatches(pass, dispatches);
      pass.end();
      device.queue.submit([encoder.finish()]);
    });
    return await Promise.all(outputs.map((t, i) => readTensor(device, outputBuffers[i], t)));
  } finally {
    for (const b of created) b.destroy();
  }
}
