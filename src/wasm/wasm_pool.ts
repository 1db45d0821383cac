/**
 * Max pooling on the generated WebAssembly SIMD kernel (pool_kernel.ts): planes are copied
 * into the heap a chunk at a time (about 1 MiB of padded input, so that the pooling reads
 * them from L2), staged into a padded layout whose padding holds -Infinity, pooled without
 * bounds tests, and copied out with one `set` per chunk.
 *
 * @module
 */

import type { PoolWindow } from "../ops/pool_window.ts";
import { type Heap, importLimits } from "./heap.ts";
import { type PoolByteType, poolKernelModule } from "./pool_kernel.ts";
import { paddedExtent, type StageFn } from "./stage_kernel.ts";
import { sharedWasmGemm } from "./wasm_gemm.ts";

/** The kernels' window arguments: output rows and columns, kernel, stride, dilation. */
type WindowArgs = [
  outRows: number,
  outCols: number,
  kh: number,
  kw: number,
  sh: number,
  sw: number,
  dh: number,
  dw: number,
];

/** `max_pool`'s signature (see pool_kernel.ts). */
type MaxPoolFn = (
  src: number,
  dst: number,
  planes: number,
  rows: number,
  cols: number,
  ...window: WindowArgs
) => void;

/** `max_pool_nhwc_<type>`'s signature (see pool_kernel.ts). */
type MaxPoolNhwcFn = (
  src: number,
  dst: number,
  n: number,
  h: number,
  w: number,
  cp: number,
  ...windowAndPads: [...WindowArgs, padT: number, padL: number]
) => void;

/** `WindowArgs` of a pooling window. */
function windowArgs([h, w]: PoolWindow): WindowArgs {
  return [h.out, w.out, h.kernel, w.kernel, h.stride, w.stride, h.dilation, w.dilation];
}

/** Padded input bytes per chunk of planes. */
const CHUNK_BYTES = 1 << 20;
/** Bytes `max_pool`'s stride-2 loads read past a tap, kept allocated after the input. */
const OVERREAD = 16;

/**
 * Max pooling in a heap's memory.
 *
 * @example
 * ```ts
 * const pool = new WasmPool(new Heap(new WebAssembly.Memory({ initial: 1 })));
 * pool.maxPool(x, n * c, poolWindow(node, [h, w], { dilations: true }), y);
 * ```
 */
export class WasmPool {
  /** The memory the kernel works in. */
  readonly heap: Heap;
  readonly #stage: StageFn;
  readonly #maxPool: MaxPoolFn;
  readonly #maxPoolNhwc: Record<PoolByteType, MaxPoolNhwcFn>;

  /** Compiles the pooling kernel over `heap`'s memory. */
  constructor(heap: Heap) {
    this.heap = heap;
    const module = new WebAssembly.Module(poolKernelModule(importLimits(heap.memory)));
    const instance = new WebAssembly.Instance(module, { env: { memory: heap.memory } });
    this.#stage = instance.exports.stage as StageFn;
    this.#maxPool = instance.exports.max_pool as MaxPoolFn;
    this.#maxPoolNhwc = {
      u8: instance.exports.max_pool_nhwc_u8 as MaxPoolNhwcFn,
      i8: instance.exports.max_pool_nhwc_i8 as MaxPoolNhwcFn,
    };
  }

  /**
   * Writes the max pooling of the 8-bit NHWC tensor `x` [n, h, w, cp] (cp a multiple of 16)
   * of element type `type` under `window` into `y` [n, out h, out w, cp]; every window must
   * hold an input element (`poolWindow` checks). Whole images go through the heap at once
   * (ResNet-50's stem output is 0.8 MB).
   */
  maxPoolNhwc(
    x: Uint8Array | Int8Array,
    type: PoolByteType,
    [n, cp]: [number, number],
    [h, w]: PoolWindow,
    y: Uint8Array | Int8Array,
  ): void {
    if (cp % 16 !== 0) throw new Error(`maxPoolNhwc needs channels in 16s, got ${cp}`);
    const src = this.heap.alloc(x.length);
    const dst = this.heap.alloc(y.length);
    try {
      new Uint8Array(this.heap.memory.buffer, src, x.length).set(
        new Uint8Array(x.buffer, x.byteOffset, x.length),
      );
      this.#maxPoolNhwc[type](
        src,
        dst,
        n,
        h.size,
        w.size,
        cp,
        ...windowArgs([h, w]),
        h.padBegin,
        w.padBegin,
      );
      new Uint8Array(y.buffer, y.byteOffset, y.length).set(
        new Uint8Array(this.heap.memory.buffer, dst, y.length),
      );
    } finally {
      this.heap.free(src);
      this.heap.free(dst);
    }
  }

  /**
   * Writes the max pooling of `planes` planes of `x` [planes, h, w] under `window` into `y`
   * [planes, out h, out w]; every window must hold an input element (`poolWindow` checks).
   */
  maxPool(x: Float32Array, planes: number, [h, w]: PoolWindow, y: Float32Array): void {
    const rows = paddedExtent(h.size, h.padBegin, h.out, h.stride, h.kernel, h.dilation);
    const cols = paddedExtent(w.size, w.padBegin, w.out, w.stride, w.kernel, w.dilation);
    const padded = rows > h.size || cols > w.size;
    const [inPlane, paddedPlane, outPlane] = [h.size * w.size, rows * cols, h.out * w.out];
    const chunk = Math.max(1, Math.min(planes, Math.floor(CHUNK_BYTES / (paddedPlane * 4))));
    const scratch: number[] = [];
    try {
      for (const bytes of [inPlane, padded ? paddedPlane : 0, outPlane]) {
        scratch.push(bytes ? this.heap.alloc(chunk * bytes * 4 + OVERREAD) : 0);
      }
      const [staged, paddedAt, out] = scratch;
      const input = padded ? paddedAt : staged;
      const f32 = new Float32Array(this.heap.memory.buffer);
      if (padded) f32.fill(-Infinity, paddedAt / 4, paddedAt / 4 + chunk * paddedPlane);
      for (let p0 = 0; p0 < planes; p0 += chunk) {
        const count = Math.min(chunk, planes - p0);
        f32.set(x.subarray(p0 * inPlane, (p0 + count) * inPlane), staged / 4);
        if (padded) {
          this.#stage(
            staged,
            input,
            count,
            h.size,
            w.size,
            rows,
            cols,
            h.padBegin,
            w.padBegin,
            0,
            0,
            0,
          );
        }
        this.#maxPool(
          input,
          out,
          count,
          rows,
          cols,
          ...windowArgs([h, w]),
        );
        y.set(f32.subarray(out / 4, out / 4 + count * outPlane), p0 * outPlane);
      }
    } finally {
      for (const ptr of scratch) if (ptr) this.heap.free(ptr);
    }
  }
}

let shared: WasmPool | null | undefined;

/**
 * The process-wide pooling kernel, in the memory of `sharedWasmGemm()`, or null where that is
 * null (no WebAssembly SIMD, or no run-time compilation).
 *
 * @example
 * ```ts
 * const pool = sharedWasmPool();
 * if (pool) pool.maxPool(x, planes, window, y);
 * ```
 */
export function sharedWasmPool(): WasmPool | null {
  const heap = sharedWasmGemm()?.heap ?? null;
  if (shared === undefined || shared?.heap !== heap) shared = heap && new WasmPool(heap);
  return shared;
}
