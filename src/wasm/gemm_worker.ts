/**
 * A worker thread of gemm_threads.ts: instantiates the product's kernel module over the
 * shared memory, marks itself ready in its control slots, then forever waits for a job,
 * runs `multiplyBlocks` on the columns it was given and marks the job done (or failed).
 *
 * @module
 */

import { parentPort, workerData } from "node:worker_threads";
import { type BlockFn, type BlockPlan, multiplyBlocks } from "./gemm_blocks.ts";
import { ARGS, DONE, FAILED, JOB, READY, type WorkerSetup } from "./gemm_threads.ts";

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
  const [v, s, r, rows, cols, k] = control.subarray(ARGS, ARGS + 6);
  try {
    multiplyBlocks(block, plan, v, s, r, rows, cols, k);
  } catch {
    Atomics.store(control, FAILED, 1);
  }
  Atomics.store(control, DONE, seen);
  Atomics.notify(control, DONE);
}
