import assert from "node:assert/strict";
import { broadcastStrides } from "../ops/broadcast.ts";
import { collapseDims, contiguousStrides, stridedOffset } from "./strided.ts";

/** Checks that the collapsed space yields the same offsets as the original, index by index. */
function assertSameOffsets(dims: number[], strides: number[][]): void {
  const collapsed = collapseDims(dims, strides);
  const count = dims.reduce((a, b) => a * b, 1);
  for (let i = 0; i < count; i++) {
    strides.forEach((s, k) => {
      assert.equal(
        stridedOffset(i, collapsed.dims, collapsed.strides[k]),
        stridedOffset(i, dims, s),
        `operand ${k} index ${i}`,
      );
    });
  }
}

Deno.test("stridedOffset walks row-major coordinates", () => {
  // [2, 3, 4] read through strides [1, 2, 6] (a transposed [4, 3, 2] tensor): index 17 is
  // coordinates (1, 1, 1), offset 1 + 2 + 6 = 9.
  assert.equal(stridedOffset(17, [2, 3, 4], [1, 2, 6]), 9);
  assert.deepEqual(contiguousStrides([2, 3, 4]), [12, 4, 1]);
});

Deno.test("collapseDims merges contiguous and broadcast runs and keeps offsets", () => {
  const same = contiguousStrides([2, 3, 5, 7]);
  assert.deepEqual(collapseDims([2, 3, 5, 7], [same, same]), { dims: [210], strides: [[1], [1]] });
  const channel = broadcastStrides([3, 1, 1], [2, 3, 5, 7]);
  assert.deepEqual(collapseDims([2, 3, 5, 7], [same, channel]), {
    dims: [2, 3, 35],
    strides: [[105, 35, 1], [0, 1, 0]],
  });
  assert.deepEqual(collapseDims([1, 1], [[1, 1]]), { dims: [], strides: [[]] });
  assertSameOffsets([2, 3, 5, 7], [same, channel]);
  assertSameOffsets([4, 1, 3, 2], [[6, 0, 2, 1], [0, 0, 1, 3]]);
  assertSameOffsets([3, 4, 5], [[1, 15, 3]]);
});
