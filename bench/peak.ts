/**
 * Peak arithmetic throughput, measured rather than taken from a data sheet, so that every
 * kernel can be reported as a fraction of what this adapter and this CPU can do:
 * - GPU f32: `fma` on vec4<f32> (8 flops per step);
 * - GPU int8: `dot4I8Packed` accumulated into an i32 (4 multiplies + 4 adds: 8 ops per step);
 * - CPU: one thread's JS scalar and WebAssembly SIMD multiply-add (cpu_peak.ts).
 *
 * Each GPU kernel comes from one WGSL template: every invocation advances `CHAINS`
 * independent dependent chains (so latency hides behind the other chains), `UNROLL` steps per
 * loop iteration, and `WORKGROUPS` x 256 invocations fill any current GPU. The loop count is
 * doubled (after one untimed warm-up dispatch) until one dispatch takes `TARGET_MS`, then the
 * fastest of `REPS` timed dispatches gives the peak.
 *
 * @module
 */

import type { GpuContext } from "../src/executor/gpu_device.ts";
import { PipelineCache } from "../src/executor/pipeline_cache.ts";
import { createUniformBuffer, readTensor } from "../src/executor/gpu_buffers.ts";
import { type GpuDispatch, withErrorScopes } from "../src/executor/gpu_node_runner.ts";
import { uniformLayout } from "../src/shaders/uniform_layout.ts";
import { jsPeakLoop, measureCpuPeak, wasmPeakLoop } from "./cpu_peak.ts";
import { GpuTimer } from "./gpu_timer.ts";

/** A measured peak. */
export interface Peak {
  /** What was measured, e.g. "GPU f32 fma". */
  name: string;
  /** Operations per second (2 per multiply-add). */
  opsPerSecond: number;
  /** Operations in the fastest timed run. */
  ops: number;
  /** Milliseconds of the fastest timed run. */
  ms: number;
}

/** The peaks kernel reports are divided by; a GPU peak is absent without a GPU. */
export interface Peaks {
  /** GPU f32 fma throughput. */
  gpuF32?: Peak;
  /** GPU dot4I8Packed throughput; absent when the WGSL feature is missing. */
  gpuDot4I8?: Peak;
  /** Why `gpuDot4I8` is absent. */
  gpuDot4I8Missing?: string;
  /** CPU scalar multiply-add throughput of one JS thread. */
  cpu: Peak;
  /** CPU WebAssembly SIMD multiply-add throughput of one thread; absent without SIMD. */
  cpuSimd?: Peak;
}

/** The arithmetic a GPU peak kernel exercises. */
export type GpuPeakKind = "f32-fma" | "dot4-i8";

/** A kind's WGSL: accumulator type, initial value of a chain, one step, and the u32 result. */
interface ChainOps {
  name: string;
  type: string;
  init: (chain: number) => string;
  step: (acc: string) => string;
  reduce: (accs: string[]) => string;
  opsPerStep: number;
}

const CHAIN_OPS: Record<GpuPeakKind, ChainOps> = {
  "f32-fma": {
    name: "GPU f32 fma",
    type: "vec4<f32>",
    init: (c) => `vec4<f32>(f32(gid) * 1e-6 + ${c + 1}.0)`,
    step: (acc) => `fma(${acc}, mul, add)`,
    reduce: (accs) => `bitcast<u32>(dot(${accs.join(" + ")}, vec4<f32>(1.0)))`,
    opsPerStep: 8,
  },
  "dot4-i8": {
    name: "GPU dot4I8Packed",
    type: "i32",
    init: (c) => `i32(gid) + ${c}`,
    step: (acc) => `dot4I8Packed(u32(${acc}), params.packed) + ${acc}`,
    reduce: (accs) => `u32(${accs.join(" ^ ")})`,
    opsPerStep: 8,
  },
};

/** Independent accumulator chains per invocation. */
export const PEAK_CHAINS = 8;
/** Steps of each chain per loop iteration. */
export const PEAK_UNROLL = 4;
/** Invocations per workgroup. */
export const PEAK_WORKGROUP = 256;
/** The uniform values: f32 multiplier and addend, and the packed int8 operand of dot4. */
export const PEAK_VALUES = { mul: 0.999, add: 1e-3, packed: 0x01fe03fc } as const;
const CHAINS = PEAK_CHAINS;
const UNROLL = PEAK_UNROLL;
const WORKGROUP = PEAK_WORKGROUP;
const WORKGROUPS = 4096;
const TARGET_MS = 20;
const MAX_ITERS = 1 << 20;
const REPS = 5;

const PARAMS = uniformLayout("Params", { iters: "u32", mul: "f32", add: "f32", packed: "u32" });

/** WGSL of the throughput kernel for `ops`. */
function peakWgsl(ops: ChainOps): string {
  const chains = [...Array(CHAINS).keys()];
  const steps = chains.map((c) => `      acc${c} = ${ops.step(`acc${c}`)};`).join("\n");
  return /* wgsl */ `${PARAMS.struct}
@group(0) @binding(0) var<storage, read_write> out: array<u32>;
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let gid = id.x;
  let mul = vec4<f32>(params.mul);
  let add = vec4<f32>(params.add);
${chains.map((c) => `  var acc${c}: ${ops.type} = ${ops.init(c)};`).join("\n")}
  for (var i = 0u; i < params.iters; i++) {
${Array(UNROLL).fill(steps).join("\n")}
  }
  out[gid] = ${ops.reduce(chains.map((c) => `acc${c}`))};
}
`;
}

/** The WGSL language feature `dot4I8Packed` needs. */
export const DOT4_FEATURE = "packed_4x8_integer_dot_product";

/** True when the WGSL language feature of `dot4I8Packed` exists. */
export function hasDot4(): boolean {
  const gpu = navigator.gpu as (GPU & { wgslLanguageFeatures?: ReadonlySet<string> }) | undefined;
  const features = gpu?.wgslLanguageFeatures;
  return features?.has(DOT4_FEATURE) ?? false;
}

/** The compiled throughput kernel of one kind, with its output and uniform buffers. */
export class GpuPeakKernel {
  /** What it measures, e.g. "GPU f32 fma". */
  readonly name: string;
  #device: GPUDevice;
  #timer: GpuTimer;
  #ops: ChainOps;
  #dispatch: GpuDispatch;
  #output: GPUBuffer;
  #uniform: GPUBuffer;
  #invocations: number;
  #iters = 1;

  private constructor(
    device: GPUDevice,
    timer: GpuTimer,
    ops: ChainOps,
    dispatch: GpuDispatch,
    buffers: { output: GPUBuffer; uniform: GPUBuffer },
  ) {
    this.name = ops.name;
    this.#device = device;
    this.#timer = timer;
    this.#ops = ops;
    this.#dispatch = dispatch;
    this.#output = buffers.output;
    this.#uniform = buffers.uniform;
    this.#invocations = dispatch.workgroups[0] * WORKGROUP;
  }

  /**
   * Compiles the kernel of `kind` on `gpu`, timed by `timer`, for `workgroups` workgroups of
   * `PEAK_WORKGROUP` invocations, and runs it once untimed with a loop count of 1.
   */
  static async create(
    gpu: GpuContext,
    timer: GpuTimer,
    kind: GpuPeakKind,
    workgroups = WORKGROUPS,
  ): Promise<GpuPeakKernel> {
    const ops = CHAIN_OPS[kind];
    const { device } = gpu;
    const pipeline = await new PipelineCache(device).get({
      key: `peak_${kind}_chains${CHAINS}_unroll${UNROLL}_wg${WORKGROUP}`,
      wgsl: () => peakWgsl(ops),
      bindings: [{ kind: "output", index: 0 }],
      uniforms: new Uint32Array(),
      workgroups: [workgroups, 1, 1],
    });
    const output = device.createBuffer({
      label: `${ops.name} out`,
      size: workgroups * WORKGROUP * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC,
    });
    const uniform = createUniformBuffer(device, paramsFor(1), `${ops.name} params`);
    const dispatch = await withErrorScopes(device, ["validation"], ops.name, () => {
      const bindGroup = device.createBindGroup({
        label: ops.name,
        layout: pipeline.getBindGroupLayout(0),
        entries: [
          { binding: 0, resource: { buffer: output } },
          { binding: 1, resource: { buffer: uniform } },
        ],
      });
      return {
        node: ops.name,
        program: ops.name,
        pipeline,
        bindGroup,
        workgroups: [workgroups, 1, 1] as [number, number, number],
      };
    });
    const kernel = new GpuPeakKernel(device, timer, ops, dispatch, { output, uniform });
    await kernel.time(1); // The first dispatch may compile the shader (lavapipe does).
    return kernel;
  }

  /** Operations of one dispatch at the current loop count. */
  get ops(): number {
    return this.#invocations * this.#iters * UNROLL * CHAINS * this.#ops.opsPerStep;
  }

  /** Doubles the loop count until one dispatch takes `TARGET_MS`. */
  async calibrate(): Promise<void> {
    while (Math.min(...await this.time(1)) < TARGET_MS && this.#iters < MAX_ITERS) {
      this.#iters *= 2;
      this.#device.queue.writeBuffer(this.#uniform, 0, paramsFor(this.#iters));
    }
  }

  /** Times `reps` dispatches; milliseconds each. */
  time(reps: number): Promise<number[]> {
    return this.#timer.time([this.#dispatch], reps, this.name);
  }

  /** Each invocation's result of the last dispatch (for checking the arithmetic). */
  async readOutput(): Promise<Uint32Array> {
    const type = { dtype: "i32" as const, shape: [this.#invocations] };
    const { data } = await readTensor(this.#device, this.#output, type);
    return new Uint32Array(data.buffer, data.byteOffset, data.length);
  }

  /** Releases the buffers. */
  dispose(): void {
    this.#output.destroy();
    this.#uniform.destroy();
  }
}

/** Uniform words for a loop count of `iters`. */
function paramsFor(iters: number): Uint32Array<ArrayBuffer> {
  return Uint32Array.from(PARAMS.pack({ iters, ...PEAK_VALUES }));
}

/** Measures the GPU peak of `kind`: calibrate, then the fastest of `REPS` dispatches. */
export async function measureGpuPeak(
  gpu: GpuContext,
  timer: GpuTimer,
  kind: GpuPeakKind,
): Promise<Peak> {
  const kernel = await GpuPeakKernel.create(gpu, timer, kind);
  try {
    await kernel.calibrate();
    const ms = Math.min(...await kernel.time(REPS));
    return { name: kernel.name, opsPerSecond: kernel.ops / (ms / 1e3), ops: kernel.ops, ms };
  } finally {
    kernel.dispose();
  }
}

/** Measures every peak available: the GPU ones when `gpu` is given, and the CPU ones. */
export async function measurePeaks(gpu: GpuContext | null): Promise<Peaks> {
  const wasm = wasmPeakLoop();
  const peaks: Peaks = {
    cpu: measureCpuPeak(jsPeakLoop()),
    cpuSimd: wasm && measureCpuPeak(wasm),
  };
  if (!gpu) return peaks;
  const timer = new GpuTimer(gpu);
  try {
    peaks.gpuF32 = await measureGpuPeak(gpu, timer, "f32-fma");
    if (hasDot4()) {
      peaks.gpuDot4I8 = await measureGpuPeak(gpu, timer, "dot4-i8");
    } else {
      peaks.gpuDot4I8Missing = `the WGSL language feature "${DOT4_FEATURE}" is missing`;
    }
  } finally {
    timer.dispose();
  }
  return peaks;
}
