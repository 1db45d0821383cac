import assert from "node:assert/strict";
import { Heap } from "./heap.ts";
import { PackCache } from "./pack_cache.ts";

Deno.test("PackCache finds blocks by array identity and key and evicts the least recent", () => {
  const heap = new Heap(new WebAssembly.Memory({ initial: 1 }));
  const cache = new PackCache(heap, 3 * 1024); // blocks of 1000 bytes take 1024
  const w1 = new Float32Array(4), w2 = new Float32Array(4), w3 = new Float32Array(4);
  const put = (w: Float32Array, key: string) => {
    const ptr = heap.alloc(1000);
    cache.set(w, key, ptr);
    return ptr;
  };
  const p1 = put(w1, "a"), p1b = put(w1, "b"), p2 = put(w2, "a");
  assert.equal(cache.get(w1, "a"), p1);
  assert.equal(cache.get(w1, "b"), p1b);
  assert.equal(cache.get(w2, "a"), p2);
  assert.equal(cache.get(new Float32Array(4), "a"), undefined, "an equal array is another key");
  assert.equal(cache.get(w1, "c"), undefined);
  cache.get(w1, "a"); // now w1/b is the least recently used
  put(w3, "a");
  assert.equal(cache.bytes, 4 * 1024);
  cache.trim();
  assert.equal(cache.bytes, 3 * 1024);
  assert.equal(cache.get(w1, "b"), undefined, "the least recently used entry went");
  assert.equal(cache.get(w1, "a"), p1);
  assert.equal(heap.usedBytes, 3 * 1024, "its block was freed");
  const replaced = put(w2, "a");
  assert.equal(cache.get(w2, "a"), replaced);
  assert.equal(heap.usedBytes, 3 * 1024, "replacing an entry frees the old block");
});
