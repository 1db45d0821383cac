/**
 * Test helper for the CPU kernels' worker threads (src/wasm/gemm_threads.ts): workers start
 * asynchronously and take work only once started, so a test of the threaded path waits
 * for them first.
 *
 * @module
 */

import type { WasmGemm } from "../wasm/wasm_gemm.ts";

/**
 * Resolves once `gemm` runs its products on `threads` threads; rejects after 30 s.
 *
 * @example
 * ```ts
 * const gemm = new WasmGemm(INT8_KERNEL, { threads: 2 });
 * await threadsStarted(gemm, 2);
 * ```
 */
export async function threadsStarted(gemm: WasmGemm, threads: number): Promise<void> {
  for (let waited = 0; gemm.threads < threads; waited += 20) {
    if (waited > 30000) throw new Error(`only ${gemm.threads} of ${threads} threads started`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
