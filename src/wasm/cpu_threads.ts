/**
 * How many threads resin's CPU kernels use, process-wide: the shared WebAssembly kernels
 * (sharedWasmGemm and the int8 conv) split each matrix product between the calling thread
 * and worker threads. Default: the machine's logical cores, at most 4; where workers or
 * shared memory are unavailable the kernels run on one thread whatever is asked.
 *
 * @module
 */

/** The most threads `setCpuThreads` accepts. */
export const MAX_CPU_THREADS = 64;

let requested: number | undefined;

/** The machine's logical cores (`navigator.hardwareConcurrency`; 1 where unknown). */
export function logicalCores(): number {
  return globalThis.navigator?.hardwareConcurrency ?? 1;
}

/** The default thread count: the logical cores, between 1 and 4. */
function defaultThreads(): number {
  return Math.max(1, Math.min(4, logicalCores()));
}

/** Threads the CPU kernels are asked to use (`setCpuThreads`, else the default). */
export function cpuThreads(): number {
  return requested ?? defaultThreads();
}

/**
 * Sets the threads of the CPU kernels (1 = no worker threads); the shared kernels are
 * rebuilt, with their packed weights, on their next use.
 *
 * @example
 * ```ts
 * setCpuThreads(1); // the CPU path on the calling thread only
 * ```
 */
export function setCpuThreads(threads: number): void {
  if (!Number.isInteger(threads) || threads < 1 || threads > MAX_CPU_THREADS) {
    throw new RangeError(
      `CPU threads must be an integer from 1 to ${MAX_CPU_THREADS}, got ${threads}`,
    );
  }
  requested = threads;
}
