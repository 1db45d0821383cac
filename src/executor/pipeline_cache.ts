/**
 * Compiles each distinct GPU program variant once (keyed by `GpuProgram.key`) and surfaces
 * WGSL compilation errors with the variant's key and the offending lines.
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import type { GpuProgram } from "../ops/op.ts";

/** Caches compute pipelines per program key on one device. */
export class PipelineCache {
  #device: GPUDevice;
  #pipelines = new Map<string, Promise<GPUComputePipeline>>();

  /** Creates an empty cache for `device`. */
  constructor(device: GPUDevice) {
    this.#device = device;
  }

  /** Number of distinct pipelines requested so far. */
  get size(): number {
    return this.#pipelines.size;
  }

  /** Returns the pipeline for `program`, compiling it on first request. */
  get(program: GpuProgram): Promise<GPUComputePipeline> {
    let pipeline = this.#pipelines.get(program.key);
    if (!pipeline) {
      pipeline = this.#compile(program.key, program.wgsl());
      this.#pipelines.set(program.key, pipeline);
    }
    return pipeline;
  }

  async #compile(key: string, code: string): Promise<GPUComputePipeline> {
    const module = this.#device.createShaderModule({ label: key, code });
    const info = await module.getCompilationInfo();
    const errors = info.messages.filter((m) => m.type === "error");
    if (errors.length > 0) {
      const lines = code.split("\n");
      const detail = errors.map((m) =>
        `line ${m.lineNum}: ${m.message} | ${lines[m.lineNum - 1]?.trim() ?? ""}`
      ).join("; ");
      throw new Error(`WGSL for "${key}" does not compile: ${detail}`);
    }
    try {
      return await this.#device.createComputePipelineAsync({
        label: key,
        layout: "auto",
        compute: { module, entryPoint: "main" },
      });
    } catch (err) {
      throw new Error(
        `Pipeline "${key}" could not be created: ${errorMessage(err)}`,
      );
    }
  }
}
