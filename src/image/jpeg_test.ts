import assert from "node:assert/strict";
import {
  COLOR_BASELINE,
  COLOR_PROGRESSIVE,
  FIXTURE_SIZE,
  fixtureBytes,
  fixturePattern,
  GRAY_BASELINE,
  GRAY_PROGRESSIVE,
} from "./_jpeg_fixtures.ts";
import {
  encodeJpeg,
  exifWithOrientation,
  findMarker,
  HAS_SHARED,
  randomRgbImage,
  SHARED_DIR,
  tiffWithEntries,
  withExif,
} from "./_test_images.ts";
import { decodeImage } from "./decode.ts";
import { readExifOrientation } from "./exif.ts";
import { DEFAULT_IMAGE_LIMITS, ImageError, type RgbImage } from "./image.ts";
import { readJpegHeader } from "./jpeg_header.ts";
import { seededRandom } from "../testing/random.ts";

function pixel(image: RgbImage, x: number, y: number): number[] {
  const i = (y * image.width + x) * 3;
  return Array.from(image.data.subarray(i, i + 3));
}

function assertImageError(fn: () => unknown, pattern: RegExp): ImageError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ImageError, `expected an ImageError, got ${err}`);
    assert.match(err.message, pattern);
    assert.ok(!err.message.includes("\n"), `message has a line break: ${err.message}`);
    return err;
  }
  throw new Error(`expected an ImageError matching ${pattern}, nothing was thrown`);
}

Deno.test("progressive JPEGs decode to exactly the pixels of their baseline twins", () => {
  for (
    const [baseline, progressive] of [[COLOR_BASELINE, COLOR_PROGRESSIVE], [
      GRAY_BASELINE,
      GRAY_PROGRESSIVE,
    ]]
  ) {
    const bBytes = fixtureBytes(baseline);
    const pBytes = fixtureBytes(progressive);
    assert.equal(readJpegHeader(bBytes, DEFAULT_IMAGE_LIMITS).coding, "baseline");
    assert.equal(readJpegHeader(pBytes, DEFAULT_IMAGE_LIMITS).coding, "progressive");
    const b = decodeImage(bBytes);
    const p = decodeImage(pBytes);
    assert.deepEqual([p.width, p.height], [FIXTURE_SIZE.width, FIXTURE_SIZE.height]);
    assert.deepEqual(p.data, b.data);
  }
});

Deno.test("colour and grayscale JPEG fixtures decode close to their source pattern", () => {
  const color = decodeImage(fixtureBytes(COLOR_BASELINE));
  const gray = decodeImage(fixtureBytes(GRAY_BASELINE));
  assert.equal(readJpegHeader(fixtureBytes(GRAY_BASELINE), DEFAULT_IMAGE_LIMITS).components, 1);
  let colorErr = 0;
  let grayErr = 0;
  const { width, height } = FIXTURE_SIZE;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const [r, g, b] = fixturePattern(x, y);
      const c = pixel(color, x, y);
      colorErr += Math.abs(c[0] - r) + Math.abs(c[1] - g) + Math.abs(c[2] - b);
      const [gr, gg, gb] = pixel(gray, x, y);
      assert.ok(gr === gg && gg === gb, `gray pixel (${x}, ${y}) is not gray: ${[gr, gg, gb]}`);
      // JFIF luma: the encoder converted RGB to Y with these BT.601 weights.
      grayErr += Math.abs(gr - (0.299 * r + 0.587 * g + 0.114 * b));
    }
  }
  const n = width * height;
  // 4:2:0 halves the chroma resolution and blue carries a fast sine, so errors reach ~8 on
  // average; a swapped or misplaced channel would give tens.
  assert.ok(colorErr / (3 * n) < 12, `mean colour error ${colorErr / (3 * n)}`);
  assert.ok(grayErr / n < 2, `mean gray error ${grayErr / n}`);
});

/**
 * The EXIF spec's definition of each orientation: which visual side the stored 0th row and
 * 0th column lie along.
 */
const EXIF_SIDES: Record<number, [row: string, column: string]> = {
  1: ["top", "left"],
  2: ["top", "right"],
  3: ["bottom", "right"],
  4: ["bottom", "left"],
  5: ["left", "top"],
  6: ["right", "top"],
  7: ["right", "bottom"],
  8: ["left", "bottom"],
};

Deno.test("EXIF orientations 1-8, both byte orders, put each pixel where the spec says", () => {
  const stored = randomRgbImage(seededRandom(7), 13, 6);
  const plain = encodeJpeg(stored, 95);
  const upright = decodeImage(plain);
  for (const littleEndian of [true, false]) {
    for (let orientation = 1; orientation <= 8; orientation++) {
      const image = decodeImage(withExif(plain, exifWithOrientation(orientation, littleEndian)));
      const [rowSide, colSide] = EXIF_SIDES[orientation];
      const sideways = rowSide === "left" || rowSide === "right";
      const w = sideways ? upright.height : upright.width;
      const h = sideways ? upright.width : upright.height;
      assert.deepEqual([image.width, image.height], [w, h], `orientation ${orientation}`);
      for (let j = 0; j < upright.height; j++) {
        for (let i = 0; i < upright.width; i++) {
          const at = { x: 0, y: 0 };
          for (const [side, d] of [[rowSide, j], [colSide, i]] as const) {
            if (side === "top") at.y = d;
            if (side === "bottom") at.y = h - 1 - d;
            if (side === "left") at.x = d;
            if (side === "right") at.x = w - 1 - d;
          }
          assert.deepEqual(
            pixel(image, at.x, at.y),
            pixel(upright, i, j),
            `orientation ${orientation}, stored (${i}, ${j})`,
          );
        }
      }
    }
  }
});

Deno.test("malformed or odd EXIF data reads as orientation 1 and never fails a decode", () => {
  const orientationEntry = (type: number, count: number, value: number) =>
    tiffWithEntries([{ tag: 0x0112, type, count, value }], true);
  assert.equal(readExifOrientation(orientationEntry(3, 1, 6)), 6);
  assert.equal(readExifOrientation(orientationEntry(3, 1, 0)), 1);
  assert.equal(readExifOrientation(orientationEntry(3, 1, 9)), 1);
  assert.equal(readExifOrientation(orientationEntry(4, 1, 6)), 1);
  assert.equal(readExifOrientation(orientationEntry(3, 2, 6)), 1);
  const cut = exifWithOrientation(6, false);
  assert.equal(readExifOrientation(cut), 6);
  assert.equal(readExifOrientation(cut.subarray(0, 20)), 1);
  const badOffset = cut.slice();
  badOffset[7] = 200;
  assert.equal(readExifOrientation(badOffset), 1);
  assert.equal(readExifOrientation(new TextEncoder().encode("XX*\0\0\0\0\x08")), 1);
  const image = randomRgbImage(seededRandom(3), 9, 5);
  const decoded = decodeImage(withExif(encodeJpeg(image), cut.subarray(0, 20)));
  assert.deepEqual([decoded.width, decoded.height], [9, 5]);
});

Deno.test("a JPEG truncated anywhere fails with a one-line 'Truncated JPEG' error", () => {
  const bytes = encodeJpeg(randomRgbImage(seededRandom(11), 24, 17));
  const sos = findMarker(bytes, 0xda);
  const cuts = [
    4, // inside the first segment's length
    findMarker(bytes, 0xdb) + 10, // inside DQT
    findMarker(bytes, 0xc0) + 7, // inside the frame header
    sos + 6, // inside the scan header
    sos + 40, // inside the entropy-coded data
    bytes.length - 2, // only EOI missing
    bytes.length - 1, // half of EOI
  ];
  for (const cut of cuts) {
    assertImageError(
      () => decodeImage(bytes.subarray(0, cut)),
      /^Truncated JPEG: the data ends at/,
    );
  }
});

Deno.test("a frame header over the pixel limit fails fast, before any pixel allocation", () => {
  const bytes = encodeJpeg(randomRgbImage(seededRandom(5), 16, 16));
  const sof = findMarker(bytes, 0xc0);
  const huge = bytes.slice();
  huge.set([0xea, 0x60, 0xea, 0x60], sof + 5); // height, width = 60000
  const headerOnly = huge.subarray(0, sof + 19); // SOI ... SOF0, nothing after
  for (const data of [huge, headerOnly]) {
    const start = performance.now();
    assertImageError(
      () => decodeImage(data),
      /^JPEG image is 60000x60000 \(3600\.0 megapixels\), over the limit of 40 megapixels/,
    );
    const ms = performance.now() - start;
    assert.ok(ms < 50, `rejecting the 60000x60000 header took ${ms} ms`);
  }
  assertImageError(
    () => decodeImage(bytes, { maxPixels: 255 }),
    /^JPEG image is 16x16 .* over the limit of 0\.000255 megapixels/,
  );
  assert.equal(decodeImage(bytes, { maxPixels: 256 }).width, 16);
});

Deno.test("jpeg-js's memory budget comes from limits.maxMemoryMB", () => {
  const bytes = encodeJpeg(randomRgbImage(seededRandom(5), 64, 64));
  assertImageError(
    () => decodeImage(bytes, { maxMemoryMB: 0.01 }),
    /^JPEG image 64x64 needs more than the 0\.01 MiB decoder memory limit/,
  );
  assert.equal(decodeImage(bytes, { maxMemoryMB: 1 }).height, 64);
});

Deno.test("corrupt and unsupported JPEGs fail with one-line messages", () => {
  const bytes = encodeJpeg(randomRgbImage(seededRandom(13), 20, 12));
  const sof = findMarker(bytes, 0xc0);
  const sos = findMarker(bytes, 0xda);
  const patched = (at: number, ...values: number[]) => {
    const copy = bytes.slice();
    copy.set(values, at);
    return copy;
  };
  assertImageError(
    () => decodeImage(patched(sof + 1, 0xc3)),
    /^Unsupported JPEG: lossless coding \(SOF3\); only baseline and progressive/,
  );
  assertImageError(
    () => decodeImage(patched(sof + 1, 0xc9)),
    /^Unsupported JPEG: arithmetic sequential coding \(SOF9\)/,
  );
  assertImageError(() => decodeImage(patched(sof + 4, 12)), /^Unsupported JPEG: 12-bit samples/);
  assertImageError(
    () => decodeImage(patched(sof + 5, 0, 0)),
    /^Corrupt JPEG: frame header gives a size of 20x0$/,
  );
  assertImageError(
    () => decodeImage(patched(sof + 11, 0x50)),
    /^Corrupt JPEG: component 0 has sampling factors 5x0 \(each must be 1 to 4\)$/,
  );
  // The scan names component 9, which the frame does not have: jpeg-js's TypeError, wrapped.
  assertImageError(() => decodeImage(patched(sos + 5, 9)), /^Corrupt JPEG: /);
  // A DHT turned into the reserved marker JPG (0xFFC8): jpeg-js stops on it.
  assertImageError(
    () => decodeImage(patched(findMarker(bytes, 0xc4) + 1, 0xc8)),
    /^Corrupt JPEG: unknown JPEG marker ffc8$/,
  );
  const twoFrames = new Uint8Array([...bytes.subarray(0, sos), ...bytes.subarray(sof)]);
  assertImageError(() => decodeImage(twoFrames), /^Corrupt JPEG: second frame header at byte/);
});

Deno.test("randomly damaged JPEGs either decode or throw an ImageError, quickly", () => {
  const rand = seededRandom(99);
  const bytes = encodeJpeg(randomRgbImage(rand, 40, 24));
  let failures = 0;
  const start = performance.now();
  for (let k = 0; k < 300; k++) {
    const copy = bytes.slice();
    for (let f = 0; f < 1 + k % 4; f++) {
      copy[Math.floor(rand() * copy.length)] = Math.floor(rand() * 256);
    }
    try {
      decodeImage(copy);
    } catch (err) {
      assert.ok(err instanceof ImageError, `damage ${k} threw a raw ${err}`);
      failures++;
    }
  }
  const ms = performance.now() - start;
  assert.ok(failures > 0, "no damaged file was rejected");
  assert.ok(ms < 10_000, `300 damaged decodes took ${ms} ms`);
});

Deno.test({
  name: "every JPEG in ../shared/images decodes; grayscale ones come out gray (needs ../shared)",
  ignore: !HAS_SHARED,
  fn() {
    const dir = `${SHARED_DIR}images`;
    const names = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => /\.jpe?g$/i.test(n));
    assert.equal(names.length, 274);
    let grayscale = 0;
    for (const name of names) {
      const bytes = Deno.readFileSync(`${dir}/${name}`);
      const header = readJpegHeader(bytes, DEFAULT_IMAGE_LIMITS);
      const image = decodeImage(bytes);
      assert.equal(image.data.length, image.width * image.height * 3, name);
      if (header.components === 1) {
        grayscale++;
        for (let i = 0; i < image.data.length; i += 3) {
          const d = image.data;
          assert.ok(d[i] === d[i + 1] && d[i] === d[i + 2], `${name}: pixel ${i / 3} not gray`);
        }
      }
    }
    assert.equal(grayscale, 23);
  },
});
