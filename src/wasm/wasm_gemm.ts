/**
 * The f32 matrix product on the generated WebAssembly SIMD kernel (gemm_kernel.ts): packs the
 * operands into WebAssembly memory, runs the kernel block by block, copies the result out.
 *
 * Orientation: the kernel vectorises the rows of its "V" operand (4 lanes) and broadcasts the
 * columns of its "S" operand, which it handles one by one without padding, and it writes its
 * result column-major. C = A B runs as C^T = B^T A^T (V = B^T, S = A^T) unless m fills whole
 * f32x4 vectors better than n (`vectorizeColumns`): for a conv (A = weights [M, K],
 * B = patches [K, pixels]) the lanes are then pixels, each output channel is one contiguous
 * run of the result, and the weights are S, packed once. Where n pads worse (the 49 pixels of
 * ResNet's last stage) it runs as C = A B. Conv itself goes through wasm_conv.ts, which
 * builds its packed operands in WebAssembly and calls `multiply` and `packConstant`.
 *
 * Blocking (GotoBLAS): depths in blocks of KC, V rows in blocks of MC, so that the V block
 * (MC x KC = 128 x 512, 256 KiB) stays in L2 and one S panel (KC x nr, 12 KiB) in L1 while
 * the kernel sweeps the V panels. Constant operands (`MatrixView.constant`, i.e. weights) are
 * packed once and cached by array identity (pack_cache.ts); the other operand and the result
 * are scratch, freed after each product. An operand with contiguous lanes is copied into
 * WebAssembly memory with one `set` and packed by the kernel module's `pack_W` (0.4 ns per
 * element on the development machine, against 1.4 ns for the TypeScript loop); any other is
 * packed in TypeScript.
 *
 * @module
 */

import type { MatrixView } from "../ops/cpu_gemm.ts";
import { type GemmKernelConfig, gemmKernelModule } from "./gemm_kernel.ts";
import { type BlockFn, type BlockPlan, multiplyBlocks, resultRows } from "./gemm_blocks.ts";
import { GemmThreads, type Product, PRODUCT_INTS } from "./gemm_threads.ts";
import { createMemory, Heap, importLimits } from "./heap.ts";
import { PackCache } from "./pack_cache.ts";
import { cpuThreads } from "./cpu_threads.ts";
import { relaxedSimdSupported, simdKernelOrNull } from "./simd_support.ts";

/** Cache blocking of the product. */
export interface GemmBlocking {
  /** V rows per block (rounded down to a multiple of the kernel's `mr`). */
  mc: number;
  /** Depths per block. */
  kc: number;
}

/** Options of `WasmGemm`. */
export interface WasmGemmOptions {
  /** Cache blocking; default MC = 128 rows, KC = 512 depths. */
  blocking?: GemmBlocking;
  /** Bytes of packed constants kept before least recently used ones are evicted; 1 GiB. */
  cacheBytes?: number;
  /**
   * Threads a product may use, this one included (default 1): more than 1 puts the memory
   * in a SharedArrayBuffer and starts worker threads (gemm_threads.ts) where the engine
   * allows it.
   */
  threads?: number;
}

/**
 * The default kernel's tile, 8 rows (2 vectors) x 6 columns: 12 f32x4 sums, 2 V vectors and
 * 1 broadcast in registers (x64 has 16, V8 keeps one as scratch). Sums are flushed to R every
 * 32 depths.
 */
export const DEFAULT_KERNEL = { mr: 8, nr: 6, chunk: 32 } as const;

/** `pack_W`'s signature (see gemm_kernel.ts). */
type PackFn = (
  src: number,
  srcRowBytes: number,
  dst: number,
  depth: number,
  panels: number,
) => void;

/**
 * One kernel instance with its own memory.
 *
 * @example
 * ```ts
 * const gemm = new WasmGemm({ mr: 8, nr: 6, chunk: 32, arithmetic: "f32" });
 * gemm.gemm(m, n, k, rowMajor(a, k), rowMajor(b, n), rowMajor(c, n));
 * ```
 */
export class WasmGemm {
  /** The kernel's tile and multiply-add. */
  readonly config: GemmKernelConfig;
  /** The kernel's memory. */
  readonly heap: Heap;
  /** Packed constant operands. */
  readonly cache: PackCache;
  /** The threads asked for (`WasmGemmOptions.threads`). */
  readonly requestedThreads: number;
  readonly #block: BlockFn;
  /** `pack_W` by panel width W. */
  readonly #pack = new Map<number, PackFn>();
  readonly #plan: BlockPlan;
  readonly #threads: GemmThreads | null;

  /**
   * Compiles the kernel for `config` (synchronously: the module is a few KiB) and starts its
   * worker threads, if any.
   */
  constructor(config: GemmKernelConfig, options: WasmGemmOptions = {}) {
    const { mc = 128, kc = 512 } = options.blocking ?? {};
    this.config = config;
    this.requestedThreads = Math.max(1, Math.floor(options.threads ?? 1));
    const { mr, nr } = config;
    this.#plan = { mr, nr, mc: Math.max(mr, Math.floor(mc / mr) * mr), kc: Math.max(1, kc) };
    const memory = createMemory(this.requestedThreads > 1);
    this.heap = new Heap(memory);
    this.cache = new PackCache(this.heap, options.cacheBytes ?? 2 ** 30);
    const bytes = gemmKernelModule(config, importLimits(memory));
    const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } });
    this.#block = instance.exports.gemm_block as BlockFn;
    this.#threads = GemmThreads.start(this.requestedThreads - 1, bytes, memory, this.#plan);
    for (const width of [config.mr, config.nr]) {
      this.#pack.set(width, instance.exports[`pack_${width}`] as PackFn);
    }
  }

  /**
   * Computes C = A B for A [m, k] and B [k, n] (any strides), writing C's m x n elements.
   * C must not overlap A or B.
   */
  gemm(m: number, n: number, k: number, a: MatrixView, b: MatrixView, c: MatrixView): void {
    if (m === 0 || n === 0) return;
    if (k === 0) {
      for (let i = 0; i < m; i++) {
        for (let j = 0; j < n; j++) c.data[c.offset + i * c.rowStride + j * c.colStride] = 0;
      }
      return;
    }
    const { mr, nr } = this.config;
    const swap = vectorizeColumns(m, n);
    const [rows, cols] = swap ? [n, m] : [m, n];
    this.cache.trim();
    const scratch: number[] = [];
    try {
      // Both operands as [lanes, depth]: V's lanes are its rows, S's its columns.
      const v = this.#packed(swap ? transposed(b) : a, rows, k, mr, scratch);
      const s = this.#packed(swap ? a : transposed(b), cols, k, nr, scratch);
      const ldc = resultRows(rows);
      const r = this.#alloc(cols * ldc * 4, scratch);
      this.multiply(v, s, r, rows, cols, k);
      this.#copyOut(r, ldc, rows, cols, swap ? transposed(c) : c);
    } finally {
      for (const ptr of scratch) this.heap.free(ptr);
    }
  }

  /**
   * R = V S on operands already in the heap: V [rows, k] packed in `mr`-lane panels at `v`,
   * S [k, cols] in `nr`-lane panels at `s` (the layouts of gemm_kernel.ts), R column-major
   * at `r` with `resultRows(rows)` floats per column.
   */
  multiply(v: number, s: number, r: number, rows: number, cols: number, k: number): void {
    const panels = Math.ceil(cols / this.config.nr);
    const parts = Math.min(panels, 1 + (this.#threads?.count ?? 0));
    if (parts <= 1) {
      multiplyBlocks(this.#block, this.#plan, v, s, r, rows, cols, k);
      return;
    }
    // Whole panels per thread, as even as they come.
    const { nr } = this.config;
    const ldc = resultRows(rows);
    const shares = Array.from({ length: parts }, (_, t) => {
      const from = Math.floor(t * panels / parts) * nr;
      const to = Math.min(cols, Math.floor((t + 1) * panels / parts) * nr);
      return { s: s + from * k * 4, r: r + from * ldc * 4, cols: to - from };
    });
    this.#threads!.run(v, rows, k, shares, (share) => {
      multiplyBlocks(this.#block, this.#plan, v, share.s, share.r, rows, share.cols, k);
    });
  }

  /**
   * Runs independent products R = V S of equal `rows` and `k` (operands as in `multiply`),
   * spread over the threads a whole product at a time (one hand-off per thread instead of one
   * per product); with one thread, or one product, one by one through `multiply`.
   */
  multiplyMany(products: readonly Product[], rows: number, k: number): void {
    const parts = Math.min(products.length, 1 + (this.#threads?.ready ?? 0));
    if (parts <= 1) {
      for (const p of products) this.multiply(p.v, p.s, p.r, rows, p.cols, k);
      return;
    }
    const lists = Array.from({ length: parts }, (_, t) =>
      products.slice(
        Math.floor(t * products.length / parts),
        Math.floor((t + 1) * products.length / parts),
      ));
    this.heap.withScratch((alloc) => {
      const tables = lists.map((list, t) => {
        if (t === 0) return 0;
        const table = alloc(list.length * PRODUCT_INTS * 4);
        const ints = new Int32Array(this.heap.memory.buffer, table, list.length * PRODUCT_INTS);
        list.forEach((p, i) => ints.set([p.v, p.s, p.r, p.cols], i * PRODUCT_INTS));
        return table;
      });
      this.#threads!.runProducts(lists, tables, rows, k, (p) => {
        multiplyBlocks(this.#block, this.#plan, p.v, p.s, p.r, rows, p.cols, k);
      });
    });
  }

  /** Threads a product runs on now: this one plus the workers that have started. */
  get threads(): number {
    return 1 + (this.#threads?.ready ?? 0);
  }

  /**
   * Resolves true once every requested worker thread has started, or false after
   * `timeoutMs` (workers start asynchronously; one that has not started only costs speed).
   */
  async started(timeoutMs: number): Promise<boolean> {
    for (let waited = 0; this.threads < this.requestedThreads; waited += 5) {
      if (waited >= timeoutMs) return false;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    return true;
  }

  /** Stops the worker threads (the kernel keeps working on this thread alone). */
  dispose(): void {
    this.#threads?.terminate();
  }

  /**
   * The heap address of the constant operand x [lanes, depth] packed in panels of `width`
   * lanes (`mr` for V, `nr` for S), from the cache or packed now and cached. Valid until the
   * next `trim` of the cache.
   */
  packConstant(x: MatrixView, lanes: number, depth: number, width: number): number {
    return this.#packed({ ...x, constant: true }, lanes, depth, width, []);
  }

  /**
   * The heap address of a constant operand derived from `source` (transformed weights, say),
   * packed like `packConstant` and cached under (`source`, `key`): only on a miss is
   * `derive()` called for it [lanes, depth], so the derived array need not outlive the call.
   */
  packDerived(
    source: ArrayBufferView,
    key: string,
    derive: () => MatrixView,
    lanes: number,
    depth: number,
    width: number,
  ): number {
    const bytes = Math.ceil(lanes / width) * width * depth * 4;
    return this.cache.getOrAdd(source, `${key} ${width} ${lanes} ${depth}`, bytes, (ptr) => {
      this.#writePanels(derive(), lanes, depth, width, ptr);
    });
  }

  /** A heap block of `bytes` bytes, recorded in `scratch` to be freed after the product. */
  #alloc(bytes: number, scratch: number[]): number {
    const ptr = this.heap.alloc(bytes);
    scratch.push(ptr);
    return ptr;
  }

  /**
   * The heap address of x [lanes, depth] packed in panels of `width` lanes: row l, column p
   * of panel t at `t * width * depth + p * width + l % width`, lanes past `lanes` zero. From
   * the cache when x is constant, else packed into a scratch block.
   */
  #packed(x: MatrixView, lanes: number, depth: number, width: number, scratch: number[]): number {
    const bytes = Math.ceil(lanes / width) * width * depth * 4;
    const write = (ptr: number) => this.#writePanels(x, lanes, depth, width, ptr);
    if (x.constant) {
      const key = `${width} ${x.offset} ${x.rowStride} ${x.colStride} ${lanes} ${depth}`;
      return this.cache.getOrAdd(x.data, key, bytes, write);
    }
    const ptr = this.#alloc(bytes, scratch);
    write(ptr);
    return ptr;
  }

  /** Writes x [lanes, depth] in panels of `width` lanes at `ptr` (the layout of `#packed`). */
  #writePanels(x: MatrixView, lanes: number, depth: number, width: number, ptr: number): void {
    const full = Math.floor(lanes / width);
    if (x.rowStride === 1 && full > 0) this.#packContiguous(x, full * width, depth, width, ptr);
    else packPanels(x, 0, full * width, depth, width, this.#memory(), ptr / 4);
    if (full * width < lanes) {
      packPanels(x, full * width, lanes, depth, width, this.#memory(), ptr / 4);
    }
  }

  /**
   * Packs lanes [0, lanes) of x, whose lanes are contiguous (rowStride 1), with the kernel's
   * `pack_W`: the depth rows are first copied into a scratch block (one `set` when they are
   * contiguous), then packed in WebAssembly.
   */
  #packContiguous(x: MatrixView, lanes: number, depth: number, width: number, ptr: number): void {
    const { data, offset, colStride } = x;
    if (data.buffer === this.heap.memory.buffer) {
      // Already in WebAssembly memory (Winograd's transformed weights): packed from there.
      this.#pack.get(width)!(
        data.byteOffset + offset * 4,
        colStride * 4,
        ptr,
        depth,
        lanes / width,
      );
      return;
    }
    const rowFloats = colStride <= 2 * lanes ? colStride : lanes;
    const raw = this.heap.alloc(depth * rowFloats * 4);
    try {
      const memory = this.#memory();
      if (rowFloats === colStride) {
        const end = offset + (depth - 1) * colStride + lanes;
        memory.set(data.subarray(offset, end), raw / 4);
      } else {
        for (let p = 0; p < depth; p++) {
          const src = offset + p * colStride;
          memory.set(data.subarray(src, src + lanes), raw / 4 + p * lanes);
        }
      }
      this.#pack.get(width)!(raw, rowFloats * 4, ptr, depth, lanes / width);
    } finally {
      this.heap.free(raw);
    }
  }

  /** A view of the whole heap (recreated after every allocation, which may grow it). */
  #memory(): Float32Array {
    return new Float32Array(this.heap.memory.buffer);
  }

  /** Copies the column-major result at `r` (`ldc` floats per column) into `c` [rows, cols]. */
  #copyOut(r: number, ldc: number, rows: number, cols: number, c: MatrixView): void {
    const memory = this.#memory();
    const { data, offset, rowStride, colStride } = c;
    for (let j = 0; j < cols; j++) {
      const src = r / 4 + j * ldc, dst = offset + j * colStride;
      if (rowStride === 1 && rows >= COPY_WITH_SET) {
        data.set(memory.subarray(src, src + rows), dst);
      } else {
        for (let i = 0; i < rows; i++) data[dst + i * rowStride] = memory[src + i];
      }
    }
  }
}

/** Contiguous runs at least this long are copied with `set` (shorter ones loop: no subarray). */
const COPY_WITH_SET = 64;

/** Lanes a dimension of `d` uses once padded to f32x4 vectors, per real element. */
function lanePadding(d: number): number {
  return Math.ceil(d / 4) * 4 / d;
}

/**
 * True when C [m, n] = A B should run as C^T = B^T A^T, with C's columns as the SIMD lanes:
 * when n fills f32x4 vectors at least as well as m (see the module doc).
 */
export function vectorizeColumns(m: number, n: number): boolean {
  return lanePadding(n) <= lanePadding(m);
}

/** The transposed view of `x` (same data, strides swapped). */
function transposed(x: MatrixView): MatrixView {
  return { ...x, rowStride: x.colStride, colStride: x.rowStride };
}

/**
 * Packs lanes [from, to) of x [lanes, depth] into `width`-lane panels at `base` (`from` a
 * multiple of `width`), in TypeScript for any strides; the lanes of the last panel past `to`
 * are zeroed.
 */
function packPanels(
  x: MatrixView,
  from: number,
  to: number,
  depth: number,
  width: number,
  out: Float32Array,
  base: number,
): void {
  const { data, offset, rowStride, colStride } = x;
  for (let l = from; l < Math.ceil(to / width) * width; l++) {
    const t = Math.floor(l / width);
    let dst = base + t * width * depth + (l - t * width);
    if (l >= to) {
      for (let p = 0; p < depth; p++, dst += width) out[dst] = 0;
      continue;
    }
    let src = offset + l * rowStride;
    for (let p = 0; p < depth; p++, dst += width, src += colStride) out[dst] = data[src];
  }
}

let shared: WasmGemm | null | undefined;

/**
 * The process-wide kernel instance used by `gemmF32` (`DEFAULT_KERNEL`, relaxed-SIMD FMA
 * where the engine has it, `cpuThreads()` threads; rebuilt when that changes), or null when
 * the engine lacks WebAssembly SIMD or refuses to compile WebAssembly at run time (as some
 * edge runtimes do): `gemmF32` then stays in TypeScript.
 *
 * @example
 * ```ts
 * const wasm = sharedWasmGemm();
 * if (wasm) wasm.gemm(m, n, k, a, b, c);
 * ```
 */
export function sharedWasmGemm(): WasmGemm | null {
  const threads = cpuThreads();
  if (shared === undefined || (shared && shared.requestedThreads !== threads)) {
    shared?.dispose();
    shared = simdKernelOrNull(() =>
      new WasmGemm({
        ...DEFAULT_KERNEL,
        arithmetic: relaxedSimdSupported() ? "f32-fma" : "f32",
      }, { threads })
    );
  }
  return shared;
}
