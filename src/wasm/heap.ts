/**
 * A first-fit allocator over a WebAssembly linear memory: the JS side places packed matrices
 * and scratch buffers in the memory the generated kernels address. Blocks are aligned to
 * 64 bytes (a cache line, and v128's 16); freed neighbours merge; the memory grows when no
 * free block fits and never shrinks.
 *
 * @module
 */

import type { MemoryLimits } from "./module_builder.ts";

/** Alignment of every block, in bytes. */
const ALIGN = 64;
/** WebAssembly page size. */
const PAGE = 65536;
/** Largest size of the memories `createMemory` makes: 4 GiB, the 32-bit address space. */
const MAX_PAGES = 65536;

/**
 * A memory for the generated kernels, shared (a SharedArrayBuffer that worker threads can
 * address) when `shared` is true and the engine allows it, else an ordinary one.
 *
 * @example
 * ```ts
 * const heap = new Heap(createMemory(true));
 * ```
 */
export function createMemory(shared: boolean): WebAssembly.Memory {
  if (shared) {
    try {
      return new WebAssembly.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
    } catch {
      // No shared memories here (e.g. no SharedArrayBuffer): one thread it is.
    }
  }
  return new WebAssembly.Memory({ initial: 16 });
}

/** The limits a module must declare to import `memory` (shared ones declare their maximum). */
export function importLimits(memory: WebAssembly.Memory): MemoryLimits {
  return isShared(memory) ? { minPages: 1, maxPages: MAX_PAGES, shared: true } : { minPages: 1 };
}

/** True when `memory` is shared (its buffer is a SharedArrayBuffer). */
export function isShared(memory: WebAssembly.Memory): boolean {
  return typeof SharedArrayBuffer !== "undefined" && memory.buffer instanceof SharedArrayBuffer;
}

/**
 * Allocates byte ranges of `memory`. Address 0 is never handed out, so 0 can mean "none".
 *
 * @example
 * ```ts
 * const heap = new Heap(new WebAssembly.Memory({ initial: 1 }));
 * const ptr = heap.alloc(1024);
 * new Float32Array(heap.memory.buffer, ptr, 256).fill(1);
 * heap.free(ptr);
 * ```
 */
export class Heap {
  /** The memory the blocks live in (its buffer changes when it grows). */
  readonly memory: WebAssembly.Memory;
  /** Free blocks [start, size], sorted by start, never adjacent. */
  readonly #free: [number, number][] = [];
  /** Size of each allocated block by start. */
  readonly #used = new Map<number, number>();

  /** Manages all of `memory` from byte `ALIGN` on. */
  constructor(memory: WebAssembly.Memory) {
    this.memory = memory;
    const size = memory.buffer.byteLength;
    if (size > ALIGN) this.#free.push([ALIGN, size - ALIGN]);
  }

  /** Bytes currently allocated. */
  get usedBytes(): number {
    let total = 0;
    for (const size of this.#used.values()) total += size;
    return total;
  }

  /** The size in bytes of the allocated block at `ptr` (its request rounded up to 64). */
  size(ptr: number): number {
    const size = this.#used.get(ptr);
    if (size === undefined) throw new Error(`Heap.size: ${ptr} is not an allocated block`);
    return size;
  }

  /** Returns the start of a new block of at least `bytes` bytes, 64-byte aligned. */
  alloc(bytes: number): number {
    if (!Number.isInteger(bytes) || bytes < 0) {
      throw new RangeError(`Heap.alloc: ${bytes} is not a byte count`);
    }
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    let index = this.#free.findIndex(([, free]) => free >= size);
    if (index < 0) index = this.#grow(size);
    const block = this.#free[index];
    const start = block[0];
    if (block[1] === size) this.#free.splice(index, 1);
    else {
      block[0] += size;
      block[1] -= size;
    }
    this.#used.set(start, size);
    return start;
  }

  /**
   * Runs `body` with an allocator whose blocks are all freed when `body` returns or throws:
   * the scratch buffers of one kernel call.
   *
   * @example
   * ```ts
   * heap.withScratch((alloc) => kernel(alloc(1024), alloc(4096)));
   * ```
   */
  withScratch<T>(body: (alloc: (bytes: number) => number) => T): T {
    const blocks: number[] = [];
    try {
      return body((bytes) => {
        const ptr = this.alloc(bytes);
        blocks.push(ptr);
        return ptr;
      });
    } finally {
      for (const ptr of blocks) this.free(ptr);
    }
  }

  /** Returns the block starting at `ptr` (from `alloc`) to the free list. */
  free(ptr: number): void {
    const size = this.#used.get(ptr);
    if (size === undefined) throw new Error(`Heap.free: ${ptr} is not an allocated block`);
    this.#used.delete(ptr);
    let index = this.#free.findIndex(([start]) => start > ptr);
    if (index < 0) index = this.#free.length;
    this.#free.splice(index, 0, [ptr, size]);
    this.#mergeWithNext(index);
    if (index > 0) this.#mergeWithNext(index - 1);
  }

  /** Grows the memory so that the last free block holds `size` bytes; returns its index. */
  #grow(size: number): number {
    const end = this.memory.buffer.byteLength;
    const last = this.#free.at(-1);
    const tail = last && last[0] + last[1] === end ? last[1] : 0;
    const pages = Math.ceil((size - tail) / PAGE);
    try {
      this.memory.grow(pages);
    } catch (cause) {
      throw new RangeError(
        `WebAssembly memory cannot grow by ${pages} pages beyond ${end} bytes`,
        { cause },
      );
    }
    if (tail > 0) last![1] += pages * PAGE;
    else this.#free.push([end, pages * PAGE]);
    return this.#free.length - 1;
  }

  /** Merges free block `index` with the one after it when they touch. */
  #mergeWithNext(index: number): void {
    const block = this.#free[index], next = this.#free[index + 1];
    if (next && block[0] + block[1] === next[0]) {
      block[1] += next[1];
      this.#free.splice(index + 1, 1);
    }
  }
}
