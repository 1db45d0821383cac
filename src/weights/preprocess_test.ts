import assert from "node:assert/strict";
import type { Graph } from "../graph/types.ts";
import { encodeModel } from "./encode.ts";
import { validateManifest, validatePreprocess } from "./manifest.ts";
import { type ImagePreprocess, PREPROCESS_PRESETS } from "./preprocess.ts";

/** A weightless Identity model whose input is `input`. */
function model(input: Graph["inputs"][number]): Graph {
  return {
    name: "identity",
    inputs: [input],
    outputs: [{ ...input, name: "y" }],
    nodes: [{ name: "id", op: "Identity", inputs: [input.name], outputs: ["y"], attrs: {} }],
    initializers: new Map(),
  };
}

const PROVENANCE = {
  source: "m.onnx",
  sha256: "cd".repeat(32),
  sourceFormat: "onnx",
  converter: "resin test",
} as const;

const IMAGENET_INPUT = {
  name: "x",
  dtype: "f32",
  shape: ["N", 3, 224, 224],
  layout: "NCHW",
} as const satisfies Graph["inputs"][number];

const STM_INPUT = {
  name: "x",
  dtype: "u8",
  shape: [1, 224, 224, 3],
  layout: "NHWC",
  quant: { scale: [1], zeroPoint: [0] },
} as const satisfies Graph["inputs"][number];

async function manifestJson(input: Graph["inputs"][number], preprocess: unknown) {
  const { manifest } = await encodeModel(model(structuredClone(input)), {
    name: "m",
    provenance: PROVENANCE,
  });
  return { ...manifest, preprocess };
}

Deno.test("every preset passes validatePreprocess unchanged", () => {
  for (const [name, preset] of Object.entries(PREPROCESS_PRESETS)) {
    assert.deepStrictEqual(validatePreprocess(preset), preset, name);
  }
});

Deno.test("presets fit the inputs of the models they are for", async () => {
  for (
    const [preset, input] of [
      ["imagenet", IMAGENET_INPUT],
      ["pixels_01", IMAGENET_INPUT],
      ["stm_uint8", STM_INPUT],
    ] as const
  ) {
    const json = await manifestJson(input, PREPROCESS_PRESETS[preset]);
    assert.deepStrictEqual(validateManifest(json).preprocess, PREPROCESS_PRESETS[preset], preset);
  }
});

Deno.test("pixels_01 is imagenet without mean and std", () => {
  const { mean, std, ...rest } = PREPROCESS_PRESETS.pixels_01;
  const { mean: _m, std: _s, ...imagenet } = PREPROCESS_PRESETS.imagenet;
  assert.deepStrictEqual(rest, imagenet);
  assert.deepStrictEqual([mean, std], [[0, 0, 0], [1, 1, 1]]);
});

async function assertMisfit(
  input: Graph["inputs"][number],
  preprocess: unknown,
  message: string | RegExp,
): Promise<void> {
  const json = await manifestJson(input, preprocess);
  assert.throws(() => validateManifest(json), { name: "ManifestError", message });
}

Deno.test("a recipe that does not fit the model input is rejected", async () => {
  const fit = 'Manifest preprocess does not fit graph input "x":';
  await assertMisfit(STM_INPUT, PREPROCESS_PRESETS.imagenet, `${fit} dtype f32 vs u8`);
  await assertMisfit(
    { ...IMAGENET_INPUT, layout: "NHWC", shape: ["N", 224, 224, 3] },
    PREPROCESS_PRESETS.imagenet,
    `${fit} layout NCHW vs NHWC`,
  );
  await assertMisfit(
    { ...STM_INPUT, quant: undefined },
    PREPROCESS_PRESETS.stm_uint8,
    `${fit} u8 input needs per-tensor quant params`,
  );
  await assertMisfit(
    { ...IMAGENET_INPUT, shape: ["N", 3, 299, 299] },
    PREPROCESS_PRESETS.imagenet,
    `${fit} height x width 299x299, recipe makes 224x224`,
  );
  await assertMisfit(
    { ...IMAGENET_INPUT, shape: ["N", 1, 224, 224] },
    PREPROCESS_PRESETS.imagenet,
    `${fit} 1 channels, but images have 3`,
  );
  const { crop: _, ...uncropped } = PREPROCESS_PRESETS.imagenet;
  await assertMisfit(
    IMAGENET_INPUT,
    uncropped,
    `${fit} fixed size 224x224, but the image size varies`,
  );
  await assertMisfit(
    { ...IMAGENET_INPUT, shape: ["N", 3, 224] },
    PREPROCESS_PRESETS.imagenet,
    `${fit} shape [N,3,224] is not 4-D`,
  );
});

Deno.test("a recipe with symbolic height and width fits any size", async () => {
  const { crop: _, ...uncropped } = PREPROCESS_PRESETS.imagenet;
  const json = await manifestJson({ ...IMAGENET_INPUT, shape: ["N", 3, "H", "W"] }, uncropped);
  assert.deepStrictEqual(validateManifest(json).preprocess, uncropped);
});

Deno.test("malformed recipes name the field", () => {
  const base: ImagePreprocess = PREPROCESS_PRESETS.imagenet;
  const cases: [unknown, string][] = [
    [{ ...base, std: [0.2, 0, 0.2] }, "Manifest preprocess.std[1] must be positive, got 0"],
    [{ ...base, mean: [0, 0] }, "Manifest preprocess.mean must have 3 values (R, G, B), got [0,0]"],
    [
      { ...base, resize: { mode: "fit", size: 256 } },
      'Manifest preprocess.resize.mode is "fit"; expected one of "shorter_side", "exact"',
    ],
    [
      { ...base, resize: { ...base.resize, width: 3 } },
      'Manifest preprocess.resize has an unknown field "width"',
    ],
    [
      { ...base, crop: { width: 300, height: 224 } },
      "Manifest preprocess.crop 300x224 is larger than the resized image",
    ],
    [
      { ...base, dtype: "f16" },
      'Manifest preprocess.dtype is "f16"; expected one of "f32", "u8", "i8"',
    ],
  ];
  for (const [recipe, message] of cases) {
    assert.throws(() => validatePreprocess(recipe), { name: "ManifestError", message });
  }
});
