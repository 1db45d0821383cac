/**
 * A worker thread of gemm_threads.ts: instantiates the product's kernel module over the
 * shared memory, marks itself ready in its control slots, then forever waits for a job,
 * runs `multiplyBlocks` on the columns or the list of products it was given and marks the job
 * done (or failed).
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { type BlockFn, type BlockPlan, multiplyBlocks } from "./gemm_blocks.ts";
import {
  ARGS,
  COLUMNS,
  DONE,
  FAILED,
  JOB,
  PRODUCT_INTS,
  READY,
  type WorkerSetup,
} from "./gemm_threads.ts";

const setup = workerData as WorkerSetup;
const module = new WebAssembly.Module(setup.moduleBytes);
const instance = new WebAssembly.Instance(module, { env: { memory: setup.memory } });
const block = instance.exports.gemm_block as BlockFn;
const plan: BlockPlan = setup.plan;
const control = setup.control;
Atomics.store(control, READY, 1);
parentPort?.unref();
let seen = 0;
for (;;) {
  Atomics.wait(control, JOB, seen);
  seen = Atomics.load(control, JOB);
  const [kind, ...args] = control.subarray(ARGS, ARGS + 7);
  try {
    if (kind === COLUMNS) {
      const [v, s, r, rows, cols, k] = args;
      multiplyBlocks(block, plan, v, s, r, rows, cols, k);
    } else {
      const [table, count, rows, k] = args;
      const list = new Int32Array(setup.memory.buffer, table, count * PRODUCT_INTS);
      for (let i = 0; i < list.length; i += PRODUCT_INTS) {
        const [v, s, r, cols] = list.subarray(i, i + PRODUCT_INTS);
        multiplyBlocks(block, plan, v, s, r, rows, cols, k);
      }
    }
  } catch {
    Atomics.store(control, FAILED, 1);
  }
  Atomics.store(control, DONE, seen);
  Atomics.notify(control, DONE);
}
