/**
 * Worker threads for the CPU matrix product: WasmGemm splits the S columns of a product
 * (whole `nr`-column panels), or a batch of independent products (whole products, listed in
 * the shared memory), between its own thread and these workers, which run the same kernel
 * module over the same shared WebAssembly memory (gemm_worker.ts). Each worker has 16
 * int32 control slots in a SharedArrayBuffer: a job counter the owner bumps (and notifies)
 * after writing the arguments, a done counter the worker sets when finished, a ready flag and
 * a failure flag. The owner waits with `Atomics.wait`, so a product costs no message passing
 * and no event-loop turn (about 50 µs per round trip on the development machine).
 *
 * Workers are `node:worker_threads` workers, unref'd: they never keep the process alive, and
 * a worker that has not finished starting is skipped (its columns run on the owner's thread).
 * Where workers or shared memory are unavailable (edge runtimes), `start` returns null and
 * products run on one thread.
 *
 * @module
 */

import { Worker } from "node:worker_threads";
import type { BlockPlan } from "./gemm_blocks.ts";
import { isShared } from "./heap.ts";

/** Control slot indices (see the module doc). */
export const JOB = 0, DONE = 1, READY = 2, FAILED = 3, ARGS = 4;

/**
 * Kinds of job, in slot `ARGS`: `COLUMNS`, one product's columns (then v, s, r, rows, cols,
 * k); `PRODUCTS`, whole products listed in the shared memory (then the list's byte address,
 * its length, rows, k), each as 4 i32s v, s, r, cols (`PRODUCT_INTS`).
 */
export const COLUMNS = 0, PRODUCTS = 1;

/** i32s per product in a `PRODUCTS` job's list. */
export const PRODUCT_INTS = 4;
/** Control slots per worker. */
const SLOTS = 16;

/** What a worker receives at start. */
export interface WorkerSetup {
  /** The kernel module's bytes (compiled in the worker). */
  moduleBytes: Uint8Array<ArrayBuffer>;
  /** The shared memory the kernel addresses. */
  memory: WebAssembly.Memory;
  /** The tile and blocking of the product. */
  plan: BlockPlan;
  /** This worker's control slots. */
  control: Int32Array;
}

/** One product's share: the arguments of `multiplyBlocks` after v. */
export interface ColumnShare {
  s: number;
  r: number;
  cols: number;
}

/** A whole product: the arguments of `multiplyBlocks` but rows and k. */
export interface Product extends ColumnShare {
  v: number;
}

/**
 * A set of started workers.
 *
 * @example
 * ```ts
 * const threads = GemmThreads.start(1, moduleBytes, memory, plan);
 * threads?.run(v, rows, k, shares, (share) => multiplyBlocks(block, plan, v, share.s, share.r, rows, share.cols, k));
 * ```
 */
export class GemmThreads {
  readonly #workers: Worker[];
  readonly #controls: Int32Array[];

  private constructor(workers: Worker[], controls: Int32Array[]) {
    this.#workers = workers;
    this.#controls = controls;
  }

  /**
   * Starts `count` workers for the kernel `moduleBytes` over the shared `memory`, or returns
   * null when `count` < 1, the memory is not shared or workers cannot be created here.
   */
  static start(
    count: number,
    moduleBytes: Uint8Array<ArrayBuffer>,
    memory: WebAssembly.Memory,
    plan: BlockPlan,
  ): GemmThreads | null {
    if (count < 1 || !isShared(memory)) return null;
    const workers: Worker[] = [];
    const controls: Int32Array[] = [];
    try {
      const buffer = new SharedArrayBuffer(count * SLOTS * 4);
      for (let i = 0; i < count; i++) {
        const control = new Int32Array(buffer, i * SLOTS * 4, SLOTS);
        const workerData: WorkerSetup = { moduleBytes, memory, plan, control };
        const worker = new Worker(new URL("./gemm_worker.ts", import.meta.url), { workerData });
        worker.unref();
        workers.push(worker);
        controls.push(control);
      }
    } catch {
      for (const worker of workers) worker.terminate();
      return null;
    }
    return new GemmThreads(workers, controls);
  }

  /** Number of worker threads (besides the owner's). */
  get count(): number {
    return this.#workers.length;
  }

  /** Number of workers that have started and take work. */
  get ready(): number {
    return this.#controls.filter((control) => Atomics.load(control, READY) === 1).length;
  }

  /**
   * Runs `shares[0]` with `local` on this thread and share i + 1 on worker i when it is
   * ready (else locally too), then waits for the workers. Throws if a worker's part failed.
   */
  run(
    v: number,
    rows: number,
    k: number,
    shares: readonly ColumnShare[],
    local: (share: ColumnShare) => void,
  ): void {
    const posted: number[] = [];
    const mine: ColumnShare[] = [shares[0]];
    shares.slice(1).forEach((share, i) => {
      const control = this.#controls[i];
      if (!control || Atomics.load(control, READY) !== 1) {
        mine.push(share);
        return;
      }
      this.#post(control, [COLUMNS, v, share.s, share.r, rows, share.cols, k]);
      posted.push(i);
    });
    this.#finish(posted, () => {
      for (const share of mine) local(share);
    });
  }

  /**
   * Runs whole products of `rows` x k: `lists[0]` with `local` on this thread, and worker i,
   * when it is ready, the products listed at heap address `tables[i + 1]` (`lists[i + 1]`
   * written there as `PRODUCT_INTS` i32s each, by the caller); a list whose worker is not
   * ready runs here too. Throws if a worker's part failed.
   */
  runProducts(
    lists: readonly (readonly Product[])[],
    tables: readonly number[],
    rows: number,
    k: number,
    local: (product: Product) => void,
  ): void {
    const posted: number[] = [];
    const mine: Product[] = [...lists[0]];
    lists.slice(1).forEach((list, i) => {
      const control = this.#controls[i];
      if (!control || Atomics.load(control, READY) !== 1) {
        mine.push(...list);
        return;
      }
      this.#post(control, [PRODUCTS, tables[i + 1], list.length, rows, k]);
      posted.push(i);
    });
    this.#finish(posted, () => {
      for (const product of mine) local(product);
    });
  }

  /** Hands a job's arguments to the worker with `control`. */
  #post(control: Int32Array, args: number[]): void {
    control.set(args, ARGS);
    Atomics.add(control, JOB, 1);
    Atomics.notify(control, JOB);
  }

  /** Runs `work` on this thread, then waits for the `posted` workers; throws if one failed. */
  #finish(posted: readonly number[], work: () => void): void {
    let failed = false;
    try {
      work();
    } finally {
      for (const i of posted) {
        const control = this.#controls[i];
        const job = Atomics.load(control, JOB);
        for (
          let done = Atomics.load(control, DONE);
          done !== job;
          done = Atomics.load(control, DONE)
        ) {
          Atomics.wait(control, DONE, done);
        }
        if (Atomics.exchange(control, FAILED, 0) !== 0) failed = true;
      }
    }
    if (failed) throw new Error("A CPU worker thread failed in the matrix product");
  }

  /** Stops the workers. */
  terminate(): void {
    for (const worker of this.#workers) worker.terminate();
  }
}
