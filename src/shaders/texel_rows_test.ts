import assert from "node:assert/strict";
import { TEXEL_ROW, texelRowsExtent, texelRowsFit } from "./texel_rows.ts";

Deno.test("texelRowsExtent holds the texels in whole rows of TEXEL_ROW, narrower when one row is part full", () => {
  assert.deepEqual(texelRowsExtent(1), [1, 1]);
  assert.deepEqual(texelRowsExtent(4095), [4095, 1]);
  assert.deepEqual(texelRowsExtent(TEXEL_ROW), [TEXEL_ROW, 1]);
  assert.deepEqual(texelRowsExtent(TEXEL_ROW + 1), [TEXEL_ROW, 2]);
  assert.deepEqual(texelRowsExtent(7 * TEXEL_ROW - 3), [TEXEL_ROW, 7]);
});

Deno.test("texelRowsFit compares the rows needed with maxTextureDimension2D", () => {
  const limits = { maxTextureDimension2D: 3 } as GPUSupportedLimits;
  assert.ok(texelRowsFit(3 * TEXEL_ROW, limits));
  assert.ok(!texelRowsFit(3 * TEXEL_ROW + 1, limits));
});
