/**
 * The one entry point for running a model: applies the load-time fusion passes, picks the
 * backend (GPU or CPU) and keeps running when the GPU fails, saying why.
 *
 * Backend choice: `cpu` never touches WebGPU; `gpu` uses the GPU or throws; `auto` uses a
 * hardware adapter when there is one, a software adapter (llvmpipe, lavapipe, WARP) only
 * when one timed warm run on it beats one on the CPU path, and falls back to the CPU with
 * `fallbackReason` set when the GPU fails at load or at run time. A software adapter is not
 * even built when the CPU path's threads cover every core (with WebAssembly SIMD): both run
 * on the same cores there, the CPU path was 2-3x faster on every model measured (the
 * ResNets; MobileNetV2 int8 20 against 63 ms, ShuffleNetV2 QDQ 20 against 82 on 2 cores), and
 * building the GPU session costs its pipeline compilation (classify with MobileNetV2 int8
 * without Mesa's shader cache: 16 s before the first result, 0.5 s without the GPU session;
 * 1.6 s with the cache).
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import { InputMismatchError } from "../graph/shape_inference.ts";
import { fusionPasses } from "../graph/passes/pipelines.ts";
import { type Graph, makeTensor, type Tensor } from "../graph/types.ts";
import { CpuSession } from "./cpu_executor.ts";
import { type GpuContext, openGpu } from "./gpu_device.ts";
import { GpuSession } from "./gpu_executor.ts";
import type { MemoryReport } from "./plan.ts";
import { cpuKernelsStarted } from "./cpu_kernels.ts";
import { cpuThreads, logicalCores } from "../wasm/cpu_threads.ts";
import { wasmSimdSupported } from "../wasm/simd_support.ts";
import type { StoragePrecision } from "../ops/op.ts";

/** Which backend a session should use. */
export type BackendChoice = "auto" | "gpu" | "cpu";

/** Options of `createSession`. */
export interface SessionOptions {
  /** Backend; default `"auto"`. */
  backend?: BackendChoice;
  /** Batch size bound to the inputs' batch symbol; default 1. */
  batch?: number;
  /** An open GPU to use (the session does not close it); default: open one when needed. */
  gpu?: GpuContext;
  /**
   * Opt-in reduced precision on the GPU: `"f16"` stores the copies the conv kernels make of
   * their operands (transposed weights; the shifted inputs of the register kernel) as f16,
   * which halves their bytes (measured about as fast as f32 on lavapipe); sums stay f32.
   * Outputs then differ from f32 by 0.2-0.5% (relative L2 on ResNets; README, "Reduced
   * precision on the GPU"). Default `"f32"`; the CPU path always computes in f32.
   */
  gpuStorage?: StoragePrecision;
}

/** Wall-clock times of one warm run on each backend, measured to choose between them. */
export interface BackendTimings {
  /** Milliseconds per run on the GPU. */
  gpuMs: number;
  /** Milliseconds per run on the CPU path. */
  cpuMs: number;
}

/** A loaded model, ready to run. */
export interface Session {
  /** The backend running the model now. */
  readonly backend: "gpu" | "cpu";
  /** Why an `auto` session runs on the CPU although a GPU was tried; absent otherwise. */
  readonly fallbackReason?: string;
  /** Description of the WebGPU adapter used or tried, e.g. "llvmpipe (LLVM 15.0.6, 256 bits)". */
  readonly adapter?: string;
  /** The timed runs that chose between a software adapter and the CPU path. */
  readonly timings?: BackendTimings;
  /** Memory figures of the execution plan of the active backend. */
  readonly memory: MemoryReport;
  /** Runs the model; inputs are checked (names, dtypes, shapes) with clear errors. */
  run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>>;
  /** Releases every GPU buffer (and the device, when the session opened it). */
  dispose(): void;
}

/**
 * Loads `model` for `options.batch` on the chosen backend.
 *
 * @example
 * ```ts
 * const session = await createSession(await loadModelFromDir("models/resnet50"), { batch: 1 });
 * const outputs = await session.run({ data: image });
 * if (session.fallbackReason) console.warn(session.fallbackReason);
 * session.dispose();
 * ```
 */
export async function createSession(
  model: { graph: Graph },
  options: SessionOptions = {},
): Promise<Session> {
  const backend = options.backend ?? "auto";
  if (!["auto", "gpu", "cpu"].includes(backend)) {
    throw new Error(`Unknown backend "${backend}"; use "auto", "gpu" or "cpu"`);
  }
  const graph = fusionPasses(model.graph);
  const batch = options.batch ?? 1;
  if (backend === "cpu") {
    await cpuKernelsStarted(graph);
    return new ResinSession({ graph, batch, cpu: new CpuSession(graph, { batch }) });
  }

  let gpu: GpuContext;
  try {
    gpu = options.gpu ?? await openGpu();
  } catch (err) {
    if (backend === "gpu") throw err;
    await cpuKernelsStarted(graph);
    return ResinSession.onCpu(graph, batch, `No usable GPU: ${errorMessage(err)}`);
  }
  const ownsDevice = !options.gpu;
  if (backend === "auto" && gpu.isFallbackAdapter && cpuCoversEveryCore()) {
    if (ownsDevice) gpu.device.destroy();
    await cpuKernelsStarted(graph);
    return ResinSession.onCpu(
      graph,
      batch,
      `The software GPU adapter (${gpu.description}) would run on the cores the CPU path ` +
        `already uses (${cpuThreads()} threads), so the GPU session was not built`,
      gpu.description,
    );
  }
  let gpuSession: GpuSession;
  try {
    gpuSession = await GpuSession.create(gpu, graph, { batch, storage: options.gpuStorage });
  } catch (err) {
    if (ownsDevice) gpu.device.destroy();
    if (backend === "gpu") throw err;
    await cpuKernelsStarted(graph);
    return ResinSession.onCpu(
      graph,
      batch,
      `Loading on the GPU (${gpu.description}) failed: ${errorMessage(err)}`,
      gpu.description,
    );
  }
  const session = new ResinSession({
    graph,
    batch,
    gpu: gpuSession,
    ownsDevice,
    canFallBack: backend === "auto",
  });
  if (backend === "auto" && gpu.isFallbackAdapter) await session.keepFasterBackend();
  return session;
}

/**
 * True when the CPU path's threads (`cpuThreads`) cover every logical core and its
 * WebAssembly SIMD kernels run: a software adapter could only use the same cores.
 */
function cpuCoversEveryCore(): boolean {
  return wasmSimdSupported() && cpuThreads() >= logicalCores();
}

/** The Session implementation: a GPU session, a CPU session, or a GPU one that may fall back. */
class ResinSession implements Session {
  backend: "gpu" | "cpu";
  fallbackReason?: string;
  adapter?: string;
  timings?: BackendTimings;
  memory: MemoryReport;
  #graph: Graph;
  #batch: number;
  #gpu?: GpuSession;
  #cpu?: CpuSession;
  #ownsDevice: boolean;
  #canFallBack: boolean;

  constructor(parts: {
    graph: Graph;
    batch: number;
    gpu?: GpuSession;
    cpu?: CpuSession;
    ownsDevice?: boolean;
    canFallBack?: boolean;
  }) {
    this.#graph = parts.graph;
    this.#batch = parts.batch;
    this.#gpu = parts.gpu;
    this.#cpu = parts.cpu;
    this.#ownsDevice = parts.ownsDevice ?? false;
    this.#canFallBack = parts.canFallBack ?? false;
    this.backend = parts.gpu ? "gpu" : "cpu";
    this.adapter = parts.gpu?.gpu.description;
    this.memory = (parts.gpu ?? parts.cpu)!.memory;
  }

  /** A CPU session that an `auto` choice fell back to, with the reason. */
  static onCpu(graph: Graph, batch: number, reason: string, adapter?: string): ResinSession {
    const session = new ResinSession({ graph, batch, cpu: new CpuSession(graph, { batch }) });
    session.fallbackReason = reason;
    session.adapter = adapter;
    return session;
  }

  /** Times one warm run on the GPU and on the CPU path; keeps the GPU only if it is faster. */
  async keepFasterBackend(): Promise<void> {
    await cpuKernelsStarted(this.#graph);
    const cpu = this.#cpu ??= new CpuSession(this.#graph, { batch: this.#batch });
    const inputs = Object.fromEntries(
      this.#graph.inputs.map(({ name }) => {
        const type = cpu.types.get(name)!;
        return [name, makeTensor(type.dtype, type.shape)];
      }),
    );
    const timeRun = async (run: () => Promise<unknown>) => {
      await run();
      const start = performance.now();
      await run();
      return performance.now() - start;
    };
    let gpuMs: number;
    try {
      gpuMs = await timeRun(() => this.#gpu!.run(inputs));
    } catch (err) {
      this.#fallBack(`Running on the GPU (${this.adapter}) failed: ${errorMessage(err)}`);
      return;
    }
    const cpuMs = await timeRun(() => cpu.run(inputs));
    this.timings = { gpuMs, cpuMs };
    if (gpuMs >= cpuMs) {
      this.#fallBack(
        `The software GPU adapter (${this.adapter}) took ${gpuMs.toFixed(1)} ms per run, ` +
          `the CPU path ${cpuMs.toFixed(1)} ms`,
      );
    }
  }

  async run(inputs: Record<string, Tensor>): Promise<Record<string, Tensor>> {
    if (!this.#gpu) return await this.#cpu!.run(inputs);
    try {
      return await this.#gpu.run(inputs);
    } catch (err) {
      if (!this.#canFallBack || err instanceof InputMismatchError) throw err;
      this.#fallBack(`Running on the GPU (${this.adapter}) failed: ${errorMessage(err)}`);
      return await this.#cpu!.run(inputs);
    }
  }

  dispose(): void {
    this.#releaseGpu();
  }

  /** Switches to the CPU path for good, recording why. */
  #fallBack(reason: string): void {
    this.#releaseGpu();
    this.#cpu ??= new CpuSession(this.#graph, { batch: this.#batch });
    this.backend = "cpu";
    this.fallbackReason = reason;
    this.memory = this.#cpu.memory;
  }

  #releaseGpu(): void {
    if (!this.#gpu) return;
    this.#gpu.dispose();
    if (this.#ownsDevice) this.#gpu.gpu.device.destroy();
    this.#gpu = undefined;
  }
}
