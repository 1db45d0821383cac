import assert from "node:assert/strict";
import type { GpuPlan } from "../ops/op.ts";
import { TEXEL_ROW } from "../shaders/texel_rows.ts";
import { gpuTest } from "../testing/gpu.ts";
import { createTexelRows, ScratchTextures } from "./gpu_textures.ts";

/** A plan with scratch values of these bytes and formats (programs do not matter here). */
const plan = (bytes: number[], textures: GpuPlan["scratchTextures"]): GpuPlan => ({
  programs: [],
  scratchBytes: bytes,
  scratchTextures: textures,
});

gpuTest(
  "ScratchTextures makes one texture per format and scratch index, as large as its largest use",
  ({ gpu }) => {
    const made: GPUTexture[] = [];
    const plans = [
      plan([160, 999, 64], ["rgba32float", undefined, "rgba16float"]),
      plan([16 * (3 * TEXEL_ROW + 5), 48], ["rgba32float", "rgba32float"]),
      plan([8 * 3], ["rgba16float"]),
    ];
    const pool = new ScratchTextures(gpu.device, plans, (t) => (made.push(t), t));
    try {
      assert.equal(made.length, 4);
      const extent = (t: GPUTexture | undefined) => t && [t.format, t.width, t.height];
      // Scratch 0 of f32: 10 texels in the first plan, 3 rows and 5 texels in the second.
      assert.deepEqual(extent(pool.of(plans[0], 0)), ["rgba32float", TEXEL_ROW, 5]);
      assert.equal(pool.of(plans[0], 0), pool.of(plans[1], 0));
      assert.equal(pool.of(plans[0], 1), undefined, "a scratch buffer");
      assert.deepEqual(extent(pool.of(plans[1], 1)), ["rgba32float", TEXEL_ROW, 3]);
      assert.deepEqual(extent(pool.of(plans[0], 2)), ["rgba16float", TEXEL_ROW, 3]);
      assert.deepEqual(extent(pool.of(plans[2], 0)), ["rgba16float", TEXEL_ROW, 3]);
      assert.equal(pool.bytes, TEXEL_ROW * (5 * 16 + 3 * 16 + 2 * 3 * 8));
    } finally {
      for (const t of made) t.destroy();
    }
    return Promise.resolve();
  },
);

gpuTest("createTexelRows refuses more rows than the device's textures may have", ({ gpu }) => {
  const rows = gpu.device.limits.maxTextureDimension2D;
  assert.throws(
    () => createTexelRows(gpu.device, "rgba32float", rows * TEXEL_ROW + 1, "too big"),
    /too big: \d+ texels need \d+ texture rows; the device allows \d+/,
  );
  return Promise.resolve();
});
