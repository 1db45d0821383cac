/**
 * Runs a whole graph on the GPU. Everything is built once at load: one kernel plan per node,
 * every pipeline, weights uploaded with `mappedAtCreation`, the buffers kernels derive from
 * constant inputs (computed once, `GpuPlan.derived`), the arena buffers of the execution plan,
 * dedicated input and output buffers, every uniform buffer and bind group. A run writes the
 * inputs, records one command encoder with one compute pass, copies the outputs into one
 * staging buffer, submits once and maps once.
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import { checkInputTensors, inferGraphTypes } from "../graph/shape_inference.ts";
import {
  allocData,
  type Graph,
  type Node,
  sizeOf,
  type Tensor,
  type TensorType,
} from "../graph/types.ts";
import type { GpuBindingSource, GpuPlan, GpuProgram, StoragePrecision } from "../ops/op.ts";
import { opFor } from "../ops/registry.ts";
import type { GpuContext } from "./gpu_device.ts";
import { storageBytes, uploadTensor } from "./gpu_buffers.ts";
import {
  checkDerived,
  createDispatches,
  derivedPrograms,
  type GpuDispatch,
  gpuPlanFor,
  recordDispatches,
  withErrorScopes,
} from "./gpu_node_runner.ts";
import {
  createDerived,
  type GpuResource,
  resourceBinding,
  ScratchTextures,
} from "./gpu_textures.ts";
import { PipelineCache } from "./pipeline_cache.ts";
import { type ExecutionPlan, type MemoryReport, planExecution } from "./plan.ts";

/** Options of `GpuSession.create`. */
export interface GpuSessionOptions {
  /** Batch size bound to the inputs' batch symbol; default 1. */
  batch?: number;
  /** Pipeline cache to share between sessions on the same device. */
  cache?: PipelineCache;
  /** Element type of the kernels' operand copies (`StoragePrecision`); default `"f32"`. */
  storage?: StoragePrecision;
}

/** A graph loaded on a GPU, ready to run many times. */
export class GpuSession {
  /** The GPU it runs on. */
  readonly gpu: GpuContext;
  /** The execution plan (schedule, liveness, arena placement). */
  readonly plan: ExecutionPlan;
  /** The plan's arena size, its lower bound, the weight bytes uploaded, and scratch textures. */
  readonly memory: MemoryReport;
  /** Concrete type of every value at this session's batch size. */
  readonly types: ReadonlyMap<string, TensorType>;
  #graph: Graph;
  #buffers: GpuResource[];
  #dispatches: GpuDispatch[];
  #inputs: Map<string, GPUBuffer>;
  #outputs: OutputCopy[];
  #staging: GPUBuffer;
  #lost: string | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    gpu: GpuContext,
    graph: Graph,
    types: ReadonlyMap<string, TensorType>,
    plan: ExecutionPlan,
    built: Built,
  ) {
    this.gpu = gpu;
    this.plan = plan;
    this.memory = built.scratchTextureBytes > 0
      ? { ...plan.memory, scratchTextureBytes: built.scratchTextureBytes }
      : plan.memory;
    this.#graph = graph;
    this.types = types;
    this.#buffers = built.buffers;
    this.#dispatches = built.dispatches;
    this.#inputs = built.inputs;
    this.#outputs = built.outputs;
    this.#staging = built.staging;
    gpu.device.lost.then((info) => {
      this.#lost = `GPU device lost (${info.reason}): ${info.message || "no message"}`;
    });
  }

  /**
   * Loads `graph` on `gpu` for `options.batch`. Throws a clear error when an op has no GPU
   * kernel, a tensor exceeds the device's limits, or the device reports an error.
   */
  static async create(
    gpu: GpuContext,
    graph: Graph,
    options: GpuSessionOptions = {},
  ): Promise<GpuSession> {
    const types = inferGraphTypes(graph, { batch: options.batch ?? 1 });
    const { limits } = gpu.device;
    for (const [name, type] of types) {
      if (storageBytes(type) > limits.maxStorageBufferBindingSize) {
        throw new Error(
          `Tensor "${name}" [${type.shape}] needs ${storageBytes(type)} bytes, more than the ` +
            `device's maxStorageBufferBindingSize of ${limits.maxStorageBufferBindingSize}`,
        );
      }
    }
    const kernels = new Map<string, GpuPlan>();
    for (const node of graph.nodes) {
      if (opFor(node).view) continue;
      if (node.outputs.includes("")) {
        throw new Error(
          `Node "${node.name}" (${node.op}) leaves an output unnamed; the GPU executor needs ` +
            `every output named`,
        );
      }
      const typeOf = (name: string) => (name === "" ? undefined : types.get(name)!);
      kernels.set(
        node.name,
        gpuPlanFor(
          gpu,
          node,
          node.inputs.map(typeOf),
          node.outputs.map((n) => types.get(n)!),
          options.storage,
        ),
      );
    }
    const plan = planExecution(graph, types, {
      alignment: limits.minStorageBufferOffsetAlignment,
      maxArenaBytes: limits.maxBufferSize,
      scratch: new Map([...kernels].map(([name, k]) => [name, arenaScratchBytes(k)])),
    });
    const created: GpuResource[] = [];
    try {
      const built = await withErrorScopes(
        gpu.device,
        ["out-of-memory", "validation"],
        `Loading "${graph.name}" on the GPU`,
        () => build(gpu, graph, plan, kernels, options.cache, created),
      );
      return new GpuSession(gpu, graph, types, plan, built);
    } catch (err) {
      for (const b of created) b.destroy();
      throw err;
    }
  }

  /**
   * The dispatches of one run, in order, each naming its node and program; for tools that
   * time the nodes one by one (bench/profile.ts). Recording them reads and writes the session's
   * buffers like a run does.
   */
  get dispatches(): readonly GpuDispatch[] {
    return this.#dispatches;
  }

  /** Why the device is unusable, once it has been lost. */
  get lostReason(): string | undefined {
    return this.#lost;
  }

  /** Runs the graph on `inputs` (checked against the graph's inputs) and returns its outputs. */
  async run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    checkInputTensors(this.#graph, this.types, inputs);
    const result = this.#queue.then(() => this.#run(inputs));
    this.#queue = result.catch(() => undefined);
    return await result;
  }

  /** Destroys every buffer the session created; the device stays open. */
  dispose(): void {
    for (const b of this.#buffers) b.destroy();
    this.#buffers = [];
  }

  async #run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    if (this.#lost) throw new Error(this.#lost);
    if (this.#buffers.length === 0) throw new Error("The GPU session has been disposed");
    try {
      return await this.#submitAndRead(inputs);
    } catch (err) {
      // device.lost settles a task after the loss that made the run fail.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (this.#lost) throw new Error(`${this.#lost}; the run failed: ${errorMessage(err)}`);
      throw err;
    }
  }

  /** Writes the inputs, records and submits the whole graph, and reads the outputs back. */
  async #submitAndRead(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    const { device } = this.gpu;
    const label = `${this.#graph.name} run`;
    await withErrorScopes(device, ["out-of-memory", "validation"], label, () => {
      for (const [name, buffer] of this.#inputs) writeTensor(device, buffer, inputs[name]);
      const encoder = device.createCommandEncoder({ label });
      const pass = encoder.beginComputePass({ label });
      recordDispatches(pass, this.#dispatches);
      pass.end();
      for (const out of this.#outputs) {
        encoder.copyBufferToBuffer(
          out.source,
          out.sourceOffset,
          this.#staging,
          out.offset,
          out.bytes,
        );
      }
      device.queue.submit([encoder.finish()]);
    });
    try {
      await this.#staging.mapAsync(GPUMapMode.READ);
    } catch (err) {
      throw new Error(`Reading the outputs of "${label}" failed: ${errorMessage(err)}`);
    }
    const mapped = this.#staging.getMappedRange();
    const result: Record<string, Tensor> = {};
    for (const out of this.#outputs) {
      const type = this.types.get(out.name)!;
      const data = allocData(type.dtype, sizeOf(type.shape));
      new Uint8Array(data.buffer).set(new Uint8Array(mapped, out.offset, data.byteLength));
      result[out.name] = { ...type, shape: [...type.shape], data };
    }
    this.#staging.unmap();
    return result;
  }
}

/** A graph output's copy into the staging buffer. */
interface OutputCopy {
  name: string;
  source: GPUBuffer;
  sourceOffset: number;
  /** Offset in the staging buffer. */
  offset: number;
  bytes: number;
}

/** What `build` creates. */
interface Built {
  buffers: GpuResource[];
  scratchTextureBytes: number;
  dispatches: GpuDispatch[];
  inputs: Map<string, GPUBuffer>;
  outputs: OutputCopy[];
  staging: GPUBuffer;
}

/** Writes `tensor`'s bytes to the start of `buffer`, padded to a multiple of 4 bytes. */
function writeTensor(device: GPUDevice, buffer: GPUBuffer, tensor: Tensor): void {
  const { data } = tensor;
  const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
  if (bytes.length % 4 === 0) {
    device.queue.writeBuffer(buffer, 0, bytes);
    return;
  }
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  device.queue.writeBuffer(buffer, 0, padded);
}

/**
 * Creates every GPU object of a session; each buffer is pushed to `created` as it is made.
 * The order serves the cold start on lavapipe, whose queue work runs on a thread of its own
 * while Deno compiles each pipeline synchronously on this one, inside
 * `createComputePipelineAsync` (so requesting them all at once compiles nothing in parallel):
 * the weights are uploaded and handed to the queue first, so that their copies overlap the
 * compilation; then, node by node, the node's pipelines are compiled and one submission runs
 * the programs of its constant derived buffers and an empty dispatch of each pipeline not run
 * before (lavapipe translates a pipeline to machine code at its first dispatch, 5-10 ms for a
 * conv), overlapping the next node's compilation. Initializers that no run reads (consumed by
 * derived buffers) are destroyed at the end.
 */
async function build(
  gpu: GpuContext,
  graph: Graph,
  plan: ExecutionPlan,
  kernels: Map<string, GpuPlan>,
  cache: PipelineCache = new PipelineCache(gpu.device),
  created: GpuResource[],
): Promise<Built> {
  const { device } = gpu;
  const track = <R extends GpuResource>(r: R): R => (created.push(r), r);
  const arenas = plan.arenaBytes.map((bytes, i) =>
    track(device.createBuffer({
      label: `${graph.name} arena ${i}`,
      size: Math.max(4, bytes),
      usage: GPUBufferUsage.STORAGE,
    }))
  );
  const scratchTextures = new ScratchTextures(device, kernels.values(), track);
  const dedicated = new Map<string, GPUBuffer>();
  for (const storage of plan.storages.values()) {
    if (storage.kind === "arena") continue;
    const buffer = storage.kind === "initializer"
      ? uploadTensor(device, graph.initializers.get(storage.id)!, `weight ${storage.id}`)
      : device.createBuffer({
        label: `${storage.kind} ${storage.id}`,
        size: storage.bytes,
        usage: GPUBufferUsage.STORAGE |
          (storage.kind === "input" ? GPUBufferUsage.COPY_DST : GPUBufferUsage.COPY_SRC),
      });
    dedicated.set(storage.id, track(buffer));
  }
  device.queue.submit([]);
  const storageOf = (value: string) => plan.storages.get(plan.values.get(value)!.storage)!;
  const bindingOf = (value: string): GPUBufferBinding => {
    const storage = storageOf(value);
    const size = storageBytes(plan.values.get(value)!.type);
    return storage.kind === "arena"
      ? { buffer: arenas[storage.arena!], offset: storage.offset!, size }
      : { buffer: dedicated.get(storage.id)!, offset: 0, size };
  };
  const ctx: NodeBuild = {
    device,
    cache,
    track,
    bindingOf,
    scratchOf: (node, index) => {
      const texture = scratchTextures.of(kernels.get(node.name)!, index);
      if (texture) return texture.createView();
      const storage = plan.storages.get(plan.scratch.get(node.name)![index])!;
      return { buffer: arenas[storage.arena!], offset: storage.offset!, size: storage.bytes };
    },
    isConstant: (value) => storageOf(value).kind === "initializer",
    used: new Set(),
    ran: new Set(),
  };
  const dispatches: GpuDispatch[] = [];
  for (const node of plan.schedule) {
    const kernel = kernels.get(node.name);
    if (kernel) dispatches.push(...await buildNode(ctx, node, kernel));
  }
  let stagingBytes = 0;
  const outputs = graph.outputs.map(({ name }) => {
    const { buffer, offset, size } = bindingOf(name);
    ctx.used.add(buffer);
    const out = { name, source: buffer, sourceOffset: offset!, offset: stagingBytes, bytes: size! };
    stagingBytes += size!;
    return out;
  });
  for (const [id, buffer] of dedicated) {
    if (plan.storages.get(id)!.kind !== "initializer" || ctx.used.has(buffer)) continue;
    // WebGPU keeps a destroyed buffer for the work already submitted (derived buffers').
    buffer.destroy();
    created.splice(created.indexOf(buffer), 1);
  }
  const staging = track(device.createBuffer({
    label: `${graph.name} outputs staging`,
    size: Math.max(4, stagingBytes),
    usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
  }));
  const inputs = new Map(graph.inputs.map(({ name }) => [name, dedicated.get(name)!]));
  return {
    buffers: created,
    scratchTextureBytes: scratchTextures.bytes,
    dispatches,
    inputs,
    outputs,
    staging,
  };
}

/** Arena bytes of each of `kernel`'s scratch values: none for its scratch textures. */
function arenaScratchBytes(kernel: GpuPlan): number[] {
  return (kernel.scratchBytes ?? []).map((bytes, i) => kernel.scratchTextures?.[i] ? 0 : bytes);
}

/** Workgroup counts of a dispatch that only makes its pipeline ready (see `build`). */
const EMPTY: [number, number, number] = [0, 1, 1];

/** What `buildNode` needs of the session being built. */
interface NodeBuild {
  device: GPUDevice;
  cache: PipelineCache;
  track: <R extends GpuResource>(resource: R) => R;
  /** The binding of a value of the plan. */
  bindingOf: (value: string) => GPUBufferBinding;
  /** The binding of scratch `index` of `node`: its arena range, or its shared texture. */
  scratchOf: (node: Node, index: number) => GPUBindingResource;
  /** Whether a value is an initializer. */
  isConstant: (value: string) => boolean;
  /** Buffers that runs read or write; filled in. */
  used: Set<GPUBuffer>;
  /** Pipelines dispatched at least once; filled in. */
  ran: Set<GPUComputePipeline>;
}

/**
 * Compiles `node`'s pipelines, creates its derived buffers and dispatches, and submits its
 * load work (see `build`); returns the dispatches of a run: the programs of derived buffers
 * whose inputs are not all constant, then the kernel's programs.
 */
async function buildNode(ctx: NodeBuild, node: Node, kernel: GpuPlan): Promise<GpuDispatch[]> {
  const { device } = ctx;
  checkDerived(node, kernel);
  const derived = (kernel.derived ?? []).map((d, i) =>
    ctx.track(createDerived(device, d, `${node.name} derived ${i}`))
  );
  const resolve = (src: GpuBindingSource): GPUBindingResource => {
    if (src.kind === "derived") return resourceBinding(derived[src.index]);
    if (src.kind === "scratch") return ctx.scratchOf(node, src.index);
    const name = src.kind === "input" ? node.inputs[src.index] : node.outputs[src.index];
    if (!name) throw new Error(`Node "${node.name}" binds missing ${src.kind} ${src.index}`);
    return ctx.bindingOf(name);
  };
  const constant = (p: GpuProgram) =>
    p.bindings.every((src) => src.kind !== "input" || ctx.isConstant(node.inputs[src.index]));
  const once = derivedPrograms(kernel).filter(constant);
  const each = [...derivedPrograms(kernel).filter((p) => !constant(p)), ...kernel.programs];
  const [oncePipelines, eachPipelines] = await Promise.all(
    [once, each].map((programs) => Promise.all(programs.map((p) => ctx.cache.get(p)))),
  );
  const atLoad = createDispatches(device, node, once, oncePipelines, resolve, ctx.track);
  const perRun = createDispatches(device, node, each, eachPipelines, (src) => {
    const binding = resolve(src);
    if ("buffer" in binding) ctx.used.add(binding.buffer);
    return binding;
  }, ctx.track);
  const first = perRun.filter((d) => !ctx.ran.has(d.pipeline));
  for (const d of [...atLoad, ...perRun]) ctx.ran.add(d.pipeline);
  if (atLoad.length + first.length > 0) {
    const encoder = device.createCommandEncoder({ label: `${node.name} load` });
    const pass = encoder.beginComputePass({ label: `${node.name} load` });
    recordDispatches(pass, [...atLoad, ...first.map((d) => ({ ...d, workgroups: EMPTY }))]);
    pass.end();
    device.queue.submit([encoder.finish()]);
  }
  return perRun;
}
