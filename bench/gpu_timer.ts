/**
 * Times recorded GPU dispatches. With the device's `timestamp-query` feature each repetition
 * is its own compute pass whose `timestampWrites` mark its beginning and end, so the time is
 * the GPU's own, free of submission and readback; without it, each repetition is submitted
 * alone and timed on the wall clock until `queue.onSubmittedWorkDone()` resolves, which also
 * counts the submission and the wake-up.
 *
 * @example
 * ```ts
 * const timer = new GpuTimer(gpu);
 * const ms = await timer.time(dispatches, 10, "conv"); // one duration per repetition
 * timer.dispose();
 * ```
 *
 * @module
 */

import type { GpuContext } from "../src/executor/gpu_device.ts";
import {
  type GpuDispatch,
  recordDispatches,
  withErrorScopes,
} from "../src/executor/gpu_node_runner.ts";

/** How a timer measures: GPU timestamp queries, or wall clock around each submission. */
export type TimerMode = "timestamp" | "wall";

/** Options of `GpuTimer`. */
export interface GpuTimerOptions {
  /** Measurement mode; default `timestamp` when the device has `timestamp-query`, else `wall`. */
  mode?: TimerMode;
  /** Repetitions recorded per submission in timestamp mode (two queries each); default 64. */
  passesPerSubmit?: number;
}

/** Bytes of one resolved timestamp. */
const TIMESTAMP_BYTES = 8;

/** Times dispatches on one device; owns its query set and readback buffers. */
export class GpuTimer {
  /** The mode in use. */
  readonly mode: TimerMode;
  #device: GPUDevice;
  #passes: number;
  #queries?: { set: GPUQuerySet; resolve: GPUBuffer; readback: GPUBuffer };

  /** Creates a timer for `gpu`; throws when timestamp mode is asked of a device without it. */
  constructor(gpu: GpuContext, options: GpuTimerOptions = {}) {
    const hasTimestamps = gpu.features.has("timestamp-query");
    this.mode = options.mode ?? (hasTimestamps ? "timestamp" : "wall");
    if (this.mode === "timestamp" && !hasTimestamps) {
      throw new Error(
        `Timestamp timing needs the "timestamp-query" feature, which the device ` +
          `(${gpu.description}) does not have; use mode "wall"`,
      );
    }
    this.#device = gpu.device;
    this.#passes = options.passesPerSubmit ?? 64;
    if (!Number.isInteger(this.#passes) || this.#passes < 1 || this.#passes > 2048) {
      throw new Error(`passesPerSubmit must be an integer from 1 to 2048, got ${this.#passes}`);
    }
    if (this.mode === "timestamp") {
      const bytes = 2 * this.#passes * TIMESTAMP_BYTES;
      this.#queries = {
        set: this.#device.createQuerySet({
          label: "timer",
          type: "timestamp",
          count: 2 * this.#passes,
        }),
        resolve: this.#device.createBuffer({
          label: "timer resolve",
          size: bytes,
          usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
        }),
        readback: this.#device.createBuffer({
          label: "timer readback",
          size: bytes,
          usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
        }),
      };
    }
  }

  /**
   * Records `dispatches` as one compute pass `reps` times and returns each pass's duration
   * in milliseconds; `label` names the work in GPU labels and errors.
   */
  async time(dispatches: GpuDispatch[], reps: number, label: string): Promise<number[]> {
    if (!Number.isInteger(reps) || reps < 1) {
      throw new Error(`Repetitions must be a positive integer, got ${reps}`);
    }
    const times: number[] = [];
    while (times.length < reps) {
      const batch = Math.min(reps - times.length, this.#queries ? this.#passes : 1);
      times.push(...await this.#timeBatch(dispatches, batch, label));
    }
    return times;
  }

  /** Releases the query set and buffers. */
  dispose(): void {
    if (!this.#queries) return;
    this.#queries.set.destroy();
    this.#queries.resolve.destroy();
    this.#queries.readback.destroy();
    this.#queries = undefined;
  }

  /** One submission of `reps` passes (one in wall mode); returns their durations. */
  async #timeBatch(dispatches: GpuDispatch[], reps: number, label: string): Promise<number[]> {
    const device = this.#device;
    const queries = this.#queries;
    const start = await withErrorScopes(device, ["validation"], `Timing ${label}`, () => {
      const encoder = device.createCommandEncoder({ label: `time ${label}` });
      for (let i = 0; i < reps; i++) {
        const pass = encoder.beginComputePass({
          label: `time ${label}`,
          timestampWrites: queries && {
            querySet: queries.set,
            beginningOfPassWriteIndex: 2 * i,
            endOfPassWriteIndex: 2 * i + 1,
          },
        });
        recordDispatches(pass, dispatches);
        pass.end();
      }
      if (queries) {
        encoder.resolveQuerySet(queries.set, 0, 2 * reps, queries.resolve, 0);
        const bytes = 2 * reps * TIMESTAMP_BYTES;
        encoder.copyBufferToBuffer(queries.resolve, 0, queries.readback, 0, bytes);
      }
      const start = performance.now();
      device.queue.submit([encoder.finish()]);
      return start;
    });
    if (!queries) {
      await device.queue.onSubmittedWorkDone();
      return [performance.now() - start];
    }
    await queries.readback.mapAsync(GPUMapMode.READ, 0, 2 * reps * TIMESTAMP_BYTES);
    const stamps = new BigUint64Array(
      queries.readback.getMappedRange(0, 2 * reps * TIMESTAMP_BYTES).slice(0),
    );
    queries.readback.unmap();
    return Array.from({ length: reps }, (_, i) => Number(stamps[2 * i + 1] - stamps[2 * i]) / 1e6);
  }
}
