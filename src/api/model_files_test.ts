import assert from "node:assert/strict";
import type { ValueInfo } from "../graph/types.ts";
import { PREPROCESS_PRESETS } from "../weights/preprocess.ts";
import { imagenetRecipeFor } from "./model_files.ts";

Deno.test("imagenetRecipeFor keeps the zoo's 256 -> 224 ratio at the input's size", () => {
  const input = (shape: ValueInfo["shape"], extra: Partial<ValueInfo> = {}): ValueInfo => ({
    name: "data",
    dtype: "f32",
    shape,
    ...extra,
  });
  const preset = PREPROCESS_PRESETS.imagenet;
  assert.deepEqual(imagenetRecipeFor(input(["N", 3, 224, 224])), preset);
  assert.deepEqual(imagenetRecipeFor(input(["N", 3, "H", "W"])), preset);
  // 32 * 256 / 224 = 36.57; a 20x30 input takes its longer side: 30 * 256 / 224 = 34.29.
  assert.deepEqual(imagenetRecipeFor(input([1, 3, 32, 32], { layout: "NCHW" })), {
    ...preset,
    resize: { mode: "shorter_side", size: 37, filter: "bilinear" },
    crop: { width: 32, height: 32 },
  });
  assert.deepEqual(imagenetRecipeFor(input([1, 3, 20, 30])), {
    ...preset,
    resize: { mode: "shorter_side", size: 34, filter: "bilinear" },
    crop: { width: 30, height: 20 },
  });
  assert.equal(imagenetRecipeFor(input([1, 224, 224, 3], { layout: "NHWC" })), undefined);
  assert.equal(imagenetRecipeFor(input([1, 3, 224, 224], { dtype: "u8" })), undefined);
  assert.equal(imagenetRecipeFor(input([1, 1, 28, 28])), undefined);
  assert.equal(imagenetRecipeFor(input([1, 1000])), undefined);
});
