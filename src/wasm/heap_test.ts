import assert from "node:assert/strict";
import { seededRandom } from "../testing/random.ts";
import { Heap } from "./heap.ts";

Deno.test("Heap blocks are aligned, disjoint, reused after free, and merge back", () => {
  const heap = new Heap(new WebAssembly.Memory({ initial: 1 }));
  const rand = seededRandom(11);
  const live = new Map<number, number>();
  for (let step = 0; step < 2000; step++) {
    if (live.size > 0 && rand() < 0.45) {
      const ptrs = [...live.keys()];
      const ptr = ptrs[Math.floor(rand() * ptrs.length)];
      heap.free(ptr);
      live.delete(ptr);
      continue;
    }
    const bytes = Math.floor(rand() * 40000);
    const ptr = heap.alloc(bytes);
    assert.equal(ptr % 64, 0, `block ${ptr} is 64-byte aligned`);
    assert.ok(ptr >= 64 && ptr + bytes <= heap.memory.buffer.byteLength, `block ${ptr} in bounds`);
    for (const [other, size] of live) {
      assert.ok(ptr + bytes <= other || other + size <= ptr, `block ${ptr} overlaps ${other}`);
    }
    live.set(ptr, bytes);
  }
  const grown = heap.memory.buffer.byteLength;
  for (const ptr of live.keys()) heap.free(ptr);
  assert.equal(heap.usedBytes, 0);
  // Everything merged into one free block: the whole memory fits without growing.
  heap.alloc(grown - 64);
  assert.equal(heap.memory.buffer.byteLength, grown);
});

Deno.test("Heap grows the memory by whole pages only when no free block fits", () => {
  const heap = new Heap(new WebAssembly.Memory({ initial: 1 }));
  const a = heap.alloc(30000);
  assert.equal(heap.memory.buffer.byteLength, 65536);
  // 100000 bytes need 1 page more, not 2: the free tail of 65536 - 64 - 30016 bytes is used.
  heap.alloc(100000);
  assert.equal(heap.memory.buffer.byteLength, 65536 * 2);
  heap.free(a);
  assert.equal(heap.alloc(30000), a, "first fit takes the freed block");
});

Deno.test("Heap reports bad frees and impossible growth with the offending value", () => {
  const heap = new Heap(new WebAssembly.Memory({ initial: 1, maximum: 2 }));
  const ptr = heap.alloc(10);
  heap.free(ptr);
  assert.throws(() => heap.free(ptr), /Heap.free: 64 is not an allocated block/);
  assert.throws(() => heap.alloc(-1), /Heap.alloc: -1 is not a byte count/);
  assert.throws(() => heap.alloc(200000), /cannot grow by 3 pages beyond 65536 bytes/);
});
