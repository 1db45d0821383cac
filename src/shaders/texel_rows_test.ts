import assert from "node:assert/strict";
import { TEXEL_ROW, texelRowsExtent, texelRowsFit } from "./texel_rows.ts";

Deno.test("texelRowsExtent holds the texels in full rows of TEXEL_ROW, never a power of 2 of them", () => {
  assert.deepEqual(texelRowsExtent(1), [TEXEL_ROW, 3]);
  assert.deepEqual(texelRowsExtent(TEXEL_ROW + 1), [TEXEL_ROW, 3]);
  assert.deepEqual(texelRowsExtent(3 * TEXEL_ROW), [TEXEL_ROW, 3]);
  assert.deepEqual(texelRowsExtent(3 * TEXEL_ROW + 1), [TEXEL_ROW, 5]);
  assert.deepEqual(texelRowsExtent(7 * TEXEL_ROW - 3), [TEXEL_ROW, 7]);
  assert.deepEqual(texelRowsExtent(64 * TEXEL_ROW), [TEXEL_ROW, 65]);
  assert.deepEqual(texelRowsExtent(1000 * TEXEL_ROW), [TEXEL_ROW, 1000]);
});

Deno.test("texelRowsFit compares the rows needed with maxTextureDimension2D", () => {
  const limits = { maxTextureDimension2D: 3 } as GPUSupportedLimits;
  assert.ok(texelRowsFit(3 * TEXEL_ROW, limits));
  assert.ok(!texelRowsFit(3 * TEXEL_ROW + 1, limits));
  assert.ok(!texelRowsFit(3 * TEXEL_ROW + 1, { maxTextureDimension2D: 4 } as GPUSupportedLimits));
});
