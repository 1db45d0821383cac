import assert from "node:assert/strict";
import type { QuantParams } from "../graph/types.ts";
import { decodeTensorPb } from "../onnx/tensor_pb.ts";
import { seededRandom } from "../testing/random.ts";
import { assertClose, TOLERANCES } from "../testing/tolerance.ts";
import { type ImagePreprocess, PREPROCESS_PRESETS } from "../weights/preprocess.ts";
import { HAS_SHARED, randomRgbImage, SHARED_DIR } from "./_test_images.ts";
import { decodeImage } from "./decode.ts";
import type { RgbImage } from "./image.ts";
import { imagesToTensor, preprocessImage, roundHalfEven } from "./preprocess.ts";

/** The acceptance bound against the ONNX Runtime reference inputs. */
const REFERENCE_ATOL = { atol: 1e-6, rtol: 0 };

/**
 * The reference preprocessing, written out literally from ../shared/models/README.md
 * ("Preprocessing used"), for one 8-bit channel value of output pixel (x, y): shorter side to
 * `size`, centre crop, half-pixel bilinear without antialiasing.
 */
function readmeBilinear(
  image: RgbImage,
  size: number,
  crop: number,
  x: number,
  y: number,
  c: number,
): number {
  const { width: W, height: H } = image;
  const s = size / Math.min(W, H);
  const x0 = Math.floor((Math.round(W * s) - crop) / 2);
  const y0 = Math.floor((Math.round(H * s) - crop) / 2);
  const sx = Math.min(Math.max((x + x0 + 0.5) / s - 0.5, 0), W - 1);
  const sy = Math.min(Math.max((y + y0 + 0.5) / s - 0.5, 0), H - 1);
  const xa = Math.floor(sx);
  const ya = Math.floor(sy);
  const xb = Math.min(xa + 1, W - 1);
  const yb = Math.min(ya + 1, H - 1);
  const at = (px: number, py: number) => image.data[(py * W + px) * 3 + c];
  const fx = sx - xa;
  const fy = sy - ya;
  const top = at(xa, ya) + (at(xb, ya) - at(xa, ya)) * fx;
  const bottom = at(xa, yb) + (at(xb, yb) - at(xa, yb)) * fx;
  return top + (bottom - top) * fy;
}

/**
 * Nearest neighbour with half-pixel centres, by search: output pixel o of `out` covers source
 * span [o * L / out, (o + 1) * L / out); the source pixel i whose span [i, i + 1) holds that
 * span's centre is the largest i with 2 * out * i <= (2 * o + 1) * L (integers, exact).
 */
function nearestIndex(o: number, out: number, length: number): number {
  let i = 0;
  while (i + 1 < length && 2 * out * (i + 1) <= (2 * o + 1) * length) i++;
  return i;
}

function recipe(overrides: Partial<ImagePreprocess>): ImagePreprocess {
  return { ...PREPROCESS_PRESETS.imagenet, ...overrides };
}

Deno.test("shorter-side bilinear resize and crop match the README formula on odd sizes", () => {
  const rand = seededRandom(21);
  const cases: [w: number, h: number, size: number, crop: number][] = [
    [1, 1, 5, 5], // a single pixel, upscaled
    [3, 7, 9, 9], // upscale, portrait
    [300, 200, 64, 57], // downscale, landscape, odd crop
    [17, 500, 32, 31], // very tall
    [64, 64, 64, 64], // same size: a plain copy
  ];
  for (const [w, h, size, crop] of cases) {
    const image = randomRgbImage(rand, w, h);
    const r = recipe({
      resize: { mode: "shorter_side", size, filter: "bilinear" },
      crop: { width: crop, height: crop },
      mean: [0.1, 0.2, 0.3],
      std: [0.5, 0.6, 0.7],
    });
    const t = preprocessImage(image, r);
    assert.deepEqual(t.shape, [1, 3, crop, crop]);
    const expected = new Float32Array(3 * crop * crop);
    for (let c = 0; c < 3; c++) {
      for (let y = 0; y < crop; y++) {
        for (let x = 0; x < crop; x++) {
          const v = readmeBilinear(image, size, crop, x, y, c);
          expected[(c * crop + y) * crop + x] = (v / 255 - r.mean[c]) / r.std[c];
        }
      }
    }
    // Two roundings of the same float64 maths (v * (1/255) here, v / 255 there): an f32 ulp.
    assertClose(t.data, expected, { atol: 1e-6, rtol: 1e-6 }, `${w}x${h} -> ${size} / ${crop}`);
  }
  const same = randomRgbImage(rand, 64, 64);
  const copy = preprocessImage(
    same,
    recipe({
      crop: undefined,
      scale: 1,
      mean: [0, 0, 0],
      std: [1, 1, 1],
      resize: { mode: "shorter_side", size: 64, filter: "bilinear" },
    }),
  );
  for (let p = 0; p < 64 * 64; p++) {
    for (let c = 0; c < 3; c++) assert.equal(copy.data[c * 4096 + p], same.data[3 * p + c]);
  }
});

Deno.test("nearest resize samples the source pixel under each output pixel's centre", () => {
  const rand = seededRandom(5);
  const raw: Partial<ImagePreprocess> = {
    scale: 1,
    mean: [0, 0, 0],
    std: [1, 1, 1],
    layout: "NHWC",
  };
  const cases: [w: number, h: number, ow: number, oh: number][] = [
    [448, 300, 224, 224], // 2x down one way, 1.34x the other
    [7, 3, 11, 13], // upscale
    [224, 224, 224, 224], // identity
    [1000, 17, 9, 5],
  ];
  for (const [w, h, ow, oh] of cases) {
    const image = randomRgbImage(rand, w, h);
    const t = preprocessImage(
      image,
      recipe({
        ...raw,
        crop: undefined,
        resize: { mode: "exact", width: ow, height: oh, filter: "nearest" },
      }),
    );
    assert.deepEqual(t.shape, [1, oh, ow, 3]);
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        const src = (nearestIndex(y, oh, h) * w + nearestIndex(x, ow, w)) * 3;
        for (let c = 0; c < 3; c++) {
          assert.equal(
            t.data[(y * ow + x) * 3 + c],
            image.data[src + c],
            `(${x}, ${y}) of ${w}x${h}`,
          );
        }
      }
    }
  }
});

Deno.test("stm_uint8 gives raw pixels NHWC; i8 with zero point -128 gives pixel - 128", () => {
  const image = randomRgbImage(seededRandom(8), 224, 224);
  const u8 = preprocessImage(image, PREPROCESS_PRESETS.stm_uint8, { scale: [1], zeroPoint: [0] });
  assert.equal(u8.dtype, "u8");
  assert.deepEqual(u8.shape, [1, 224, 224, 3]);
  assert.deepEqual(u8.quant, { scale: [1], zeroPoint: [0] });
  assert.deepEqual(u8.data, image.data);
  const i8Recipe = recipe({ ...PREPROCESS_PRESETS.stm_uint8, dtype: "i8" });
  const i8 = preprocessImage(image, i8Recipe, { scale: [1], zeroPoint: [-128] });
  assert.equal(i8.dtype, "i8");
  for (let i = 0; i < image.data.length; i++) assert.equal(i8.data[i], image.data[i] - 128);
});

Deno.test("integer outputs round half to even, then clamp to the dtype's range", () => {
  const cases: [number, number][] = [
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [-0.5, 0],
    [-1.5, -2],
    [-2.5, -2],
    [2.4999, 2],
    [2.5001, 3],
    [-7, -7],
  ];
  for (const [x, want] of cases) assert.equal(roundHalfEven(x) + 0, want, `round(${x})`);
  // value = pixel - 100 with scale 1; q = round(value / 2) + 10: pixel 105 is a tie (2.5 -> 2).
  const pixels = [0, 5, 105, 107, 255, 101];
  const image: RgbImage = { width: 2, height: 1, data: new Uint8Array(pixels) };
  const r = recipe({
    resize: { mode: "exact", width: 2, height: 1, filter: "nearest" },
    crop: undefined,
    scale: 1,
    mean: [100, 100, 100],
    std: [1, 1, 1],
    layout: "NHWC",
  });
  const quant: QuantParams = { scale: [2], zeroPoint: [10] };
  const i8 = preprocessImage(image, { ...r, dtype: "i8" }, quant);
  assert.deepEqual(Array.from(i8.data), [-40, -38, 12, 14, 88, 10]);
  const u8 = preprocessImage(image, { ...r, dtype: "u8" }, { scale: [0.25], zeroPoint: [200] });
  assert.deepEqual(Array.from(u8.data), [0, 0, 220, 228, 255, 204]);
});

Deno.test("NCHW and NHWC hold the same values; batches stack images of any size", () => {
  const rand = seededRandom(17);
  const images = [
    randomRgbImage(rand, 40, 31),
    randomRgbImage(rand, 23, 50),
    randomRgbImage(rand, 32, 32),
  ];
  const r = recipe({
    resize: { mode: "shorter_side", size: 24, filter: "bilinear" },
    crop: { width: 21, height: 19 },
  });
  const nchw = imagesToTensor(images, r);
  const nhwc = imagesToTensor(images, { ...r, layout: "NHWC" });
  assert.deepEqual(nchw.shape, [3, 3, 19, 21]);
  assert.deepEqual(nhwc.shape, [3, 19, 21, 3]);
  const plane = 19 * 21;
  for (let n = 0; n < 3; n++) {
    const one = preprocessImage(images[n], r);
    assertClose(
      nchw.data.subarray(n * 3 * plane, (n + 1) * 3 * plane),
      one.data,
      TOLERANCES.exact,
      `image ${n}`,
    );
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        assert.equal(nhwc.data[(n * plane + p) * 3 + c], nchw.data[(n * 3 + c) * plane + p]);
      }
    }
  }
});

Deno.test("bad recipes and quant params fail with messages that quote the value", () => {
  const image = randomRgbImage(seededRandom(2), 8, 8);
  const stm = PREPROCESS_PRESETS.stm_uint8;
  assert.throws(() => imagesToTensor([], stm), /^Error: imagesToTensor needs at least one image$/);
  assert.throws(
    () => preprocessImage(image, stm),
    /Preprocess dtype "u8" needs the model input's quant params/,
  );
  assert.throws(
    () => preprocessImage(image, stm, { scale: [1, 1, 1], zeroPoint: [0, 0, 0], axis: 3 }),
    /needs per-tensor input quant params, got 3 scales and 3 zero points/,
  );
  assert.throws(
    () => preprocessImage(image, stm, { scale: [0], zeroPoint: [0] }),
    /Input quant scale 0 is not a finite positive number/,
  );
  assert.throws(
    () => preprocessImage(image, { ...stm, dtype: "i8" }, { scale: [1], zeroPoint: [200] }),
    /Input zero point 200 is not an integer in \[-128, 127\] for i8/,
  );
  assert.throws(
    () =>
      preprocessImage(
        image,
        recipe({ resize: { mode: "shorter_side", size: 200, filter: "bilinear" } }),
      ),
    /Centre crop 224x224 is larger than the 200x200 resized image/,
  );
});

for (const [set, file] of [[0, "pytorch_hub_dog.jpg"], [1, "n02123045_tabby.JPEG"]] as const) {
  Deno.test({
    name: `${file} preprocesses to test_data_set_${set}/input_0.pb within 1e-6 (needs ../shared)`,
    ignore: !HAS_SHARED,
    fn() {
      const pb = `${SHARED_DIR}models/mobilenetv2-12-int8/test_data_set_${set}/input_0.pb`;
      const { tensor: expected } = decodeTensorPb(Deno.readFileSync(pb));
      const image = decodeImage(Deno.readFileSync(`${SHARED_DIR}images/${file}`));
      const actual = preprocessImage(image, PREPROCESS_PRESETS.imagenet);
      assert.equal(actual.dtype, expected.dtype);
      assert.deepEqual(actual.shape, expected.shape);
      assertClose(actual.data, expected.data, REFERENCE_ATOL, file);
    },
  });
}

Deno.test({
  name: "a batch of the two reference photos equals their two input_0.pb tensors (needs ../shared)",
  ignore: !HAS_SHARED,
  fn() {
    const images = ["pytorch_hub_dog.jpg", "n02123045_tabby.JPEG"].map((f) =>
      decodeImage(Deno.readFileSync(`${SHARED_DIR}images/${f}`))
    );
    const batch = imagesToTensor(images, PREPROCESS_PRESETS.imagenet);
    assert.deepEqual(batch.shape, [2, 3, 224, 224]);
    const expected = [0, 1].flatMap((set) => {
      const pb = `${SHARED_DIR}models/mobilenetv2-12-int8/test_data_set_${set}/input_0.pb`;
      return Array.from(decodeTensorPb(Deno.readFileSync(pb)).tensor.data);
    });
    assertClose(batch.data, expected, REFERENCE_ATOL, "batch of 2");
  },
});
