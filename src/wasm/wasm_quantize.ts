/**
 * QuantizeLinear per tensor on the generated WebAssembly SIMD kernel (quantize_kernel.ts): the
 * values are copied into the heap a chunk at a time, quantized 16 at a time, and the bytes
 * copied out: 0.8 ns a value where the JavaScript loop took 2.7 (a 116x28x28 tensor), and
 * ShuffleNetV2 QDQ, whose 60 QuantizeLinear nodes close its float islands, ran 18.6-18.9 ->
 * 15.3-16.1 ms on one thread (`bench:models` medians, two runs each).
 *
 * @module
 */

import { type Heap, importLimits } from "./heap.ts";
import { quantizeKernelModule, type QuantizeType } from "./quantize_kernel.ts";
import { sharedWasmGemm } from "./wasm_gemm.ts";

/** `quantize_<type>`'s signature (see quantize_kernel.ts). */
type QuantizeFn = (
  src: number,
  dst: number,
  blocks: number,
  scale: number,
  lo: number,
  hi: number,
  zero: number,
) => void;

/** Values per chunk copied into the heap (256 KiB of f32). */
const CHUNK = 1 << 16;
/** Values the kernel quantizes per block. */
const BLOCK = 16;

/**
 * QuantizeLinear in a heap's memory.
 *
 * @example
 * ```ts
 * const q = new WasmQuantize(new Heap(new WebAssembly.Memory({ initial: 1 })));
 * q.quantize(x, 0.02, 128, 0, 255, "u8", y);
 * ```
 */
export class WasmQuantize {
  /** The memory the kernel works in. */
  readonly heap: Heap;
  readonly #kernels: Record<QuantizeType, QuantizeFn>;

  /** Compiles the kernel over `heap`'s memory. */
  constructor(heap: Heap) {
    this.heap = heap;
    const module = new WebAssembly.Module(quantizeKernelModule(importLimits(heap.memory)));
    const instance = new WebAssembly.Instance(module, { env: { memory: heap.memory } });
    this.#kernels = {
      u8: instance.exports.quantize_u8 as QuantizeFn,
      i8: instance.exports.quantize_i8 as QuantizeFn,
    };
  }

  /**
   * Writes `x` quantized with the f32 `scale` and integer `zero` into `y` (same length), each
   * value clamped to [`qmin`, `qmax`] of output type `type`.
   */
  quantize(
    x: Float32Array,
    scale: number,
    zero: number,
    [qmin, qmax]: [number, number],
    type: QuantizeType,
    y: Uint8Array | Int8Array,
  ): void {
    if (x.length === 0) return;
    const chunk = Math.min(CHUNK, Math.ceil(x.length / BLOCK) * BLOCK);
    const src = this.heap.alloc(chunk * 4);
    const dst = this.heap.alloc(chunk);
    try {
      for (let start = 0; start < x.length; start += chunk) {
        const count = Math.min(chunk, x.length - start);
        new Float32Array(this.heap.memory.buffer, src, count).set(x.subarray(start, start + count));
        this.#kernels[type](
          src,
          dst,
          Math.ceil(count / BLOCK),
          scale,
          qmin - zero,
          qmax - zero,
          zero,
        );
        const bytes = new Uint8Array(this.heap.memory.buffer, dst, count);
        y.set(type === "u8" ? bytes : new Int8Array(bytes.buffer, dst, count), start);
      }
    } finally {
      this.heap.free(src);
      this.heap.free(dst);
    }
  }
}

let shared: WasmQuantize | null | undefined;

/**
 * The process-wide quantization kernel, in the memory of `sharedWasmGemm()`, or null where that
 * is null (no WebAssembly SIMD, or no run-time compilation).
 *
 * @example
 * ```ts
 * const q = sharedWasmQuantize();
 * if (q) q.quantize(x, scale, zero, [0, 255], "u8", y);
 * ```
 */
export function sharedWasmQuantize(): WasmQuantize | null {
  const heap = sharedWasmGemm()?.heap ?? null;
  if (shared === undefined || shared?.heap !== heap) shared = heap && new WasmQuantize(heap);
  return shared;
}
