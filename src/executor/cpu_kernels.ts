/**
 * Waits for the worker threads of the CPU kernels a graph will use (src/wasm/gemm_threads.ts
 * starts them asynchronously), so that a CPU session's first runs already use every thread
 * and its cold start includes the threads' start-up.
 *
 * @module
 */

import type { Graph } from "../graph/types.ts";
import type { WasmGemm } from "../wasm/wasm_gemm.ts";
import { sharedWasmGemm } from "../wasm/wasm_gemm.ts";
import { sharedWasmQConv } from "../wasm/wasm_qconv.ts";

/** Ops whose CPU kernels run on the f32 product (`sharedWasmGemm`). */
const F32_PRODUCT_OPS = new Set(["Conv", "Gemm", "MatMul"]);

/** Longest wait for workers; past it the kernels run with the threads that have started. */
const START_TIMEOUT_MS = 10_000;

/**
 * Resolves once the threads of the CPU products `graph` needs have started (at most 10 s; a
 * worker that never starts only costs its share of speed).
 *
 * @example
 * ```ts
 * await cpuKernelsStarted(graph);
 * const session = new CpuSession(graph, { batch: 1 });
 * ```
 */
export async function cpuKernelsStarted(graph: Graph): Promise<void> {
  const kernels: (WasmGemm | null | undefined)[] = [];
  if (graph.nodes.some((n) => F32_PRODUCT_OPS.has(n.op))) kernels.push(sharedWasmGemm());
  if (graph.nodes.some((n) => n.op === "QLinearConvNhwc")) kernels.push(sharedWasmQConv()?.gemm);
  await Promise.all(
    kernels.filter((k): k is WasmGemm => Boolean(k)).map((k) => k.started(START_TIMEOUT_MS)),
  );
}
