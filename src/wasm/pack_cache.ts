/**
 * Packed constant operands (weights) kept in WebAssembly memory between products, keyed by
 * the identity of the typed array they were packed from plus the view and layout (a string
 * key). A block is freed when its source array is garbage-collected, or, least recently used
 * first, when the cache holds more than its capacity.
 *
 * @module
 */

import type { Heap } from "./heap.ts";

/** One cached block. */
interface Entry {
  /** Byte address in the heap. */
  ptr: number;
  /** Size in bytes. */
  bytes: number;
  /** The source array's entries (holds no reference to the array itself). */
  owner: Map<string, Entry>;
  /** This entry's key in `owner`. */
  key: string;
}

/**
 * Heap blocks by (source array, key).
 *
 * @example
 * ```ts
 * const cache = new PackCache(heap, 1 << 30);
 * let ptr = cache.get(weights, "v8");
 * if (ptr === undefined) cache.set(weights, "v8", (ptr = pack(weights)));
 * ```
 */
export class PackCache {
  readonly #heap: Heap;
  readonly #capacity: number;
  readonly #byArray = new WeakMap<ArrayBufferView, Map<string, Entry>>();
  /** Every live entry, least recently used first. */
  readonly #lru = new Set<Entry>();
  #bytes = 0;
  readonly #finalizer = new FinalizationRegistry<Map<string, Entry>>((owner) => {
    for (const entry of owner.values()) this.#drop(entry);
  });

  /** A cache placing blocks in `heap` that evicts down to `capacityBytes` on `trim`. */
  constructor(heap: Heap, capacityBytes: number) {
    this.#heap = heap;
    this.#capacity = capacityBytes;
  }

  /** Bytes held (heap block sizes). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The block cached for (`source`, `key`), now the most recently used; undefined if none. */
  get(source: ArrayBufferView, key: string): number | undefined {
    const entry = this.#byArray.get(source)?.get(key);
    if (!entry) return undefined;
    this.#lru.delete(entry);
    this.#lru.add(entry);
    return entry.ptr;
  }

  /**
   * The block cached for (`source`, `key`); on a miss, a new block of `bytes` bytes that
   * `write` fills, then cached.
   */
  getOrAdd(
    source: ArrayBufferView,
    key: string,
    bytes: number,
    write: (ptr: number) => void,
  ): number {
    const cached = this.get(source, key);
    if (cached !== undefined) return cached;
    const ptr = this.#heap.alloc(bytes);
    write(ptr);
    this.set(source, key, ptr);
    return ptr;
  }

  /** Records heap block `ptr` as the packed form of (`source`, `key`). */
  set(source: ArrayBufferView, key: string, ptr: number): void {
    let owner = this.#byArray.get(source);
    if (!owner) {
      owner = new Map();
      this.#byArray.set(source, owner);
      this.#finalizer.register(source, owner);
    }
    const old = owner.get(key);
    if (old) this.#drop(old);
    const entry = { ptr, bytes: this.#heap.size(ptr), owner, key };
    owner.set(key, entry);
    this.#lru.add(entry);
    this.#bytes += entry.bytes;
  }

  /**
   * Frees least recently used blocks until at most the capacity is held. Call it only while
   * no block from `get` is in use: it is the one place blocks are evicted.
   */
  trim(): void {
    for (const entry of this.#lru) {
      if (this.#bytes <= this.#capacity) return;
      this.#drop(entry);
    }
  }

  /** Frees `entry`'s block and forgets it. */
  #drop(entry: Entry): void {
    if (!this.#lru.delete(entry)) return;
    entry.owner.delete(entry.key);
    this.#bytes -= entry.bytes;
    this.#heap.free(entry.ptr);
  }
}
