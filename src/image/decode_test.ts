import assert from "node:assert/strict";
import { seededRandom } from "../testing/random.ts";
import { encodeJpeg, encodePng, randomRgbImage } from "./_test_images.ts";
import { decodeImage, sniffImageFormat } from "./decode.ts";
import { ImageError } from "./image.ts";

function assertImageError(fn: () => unknown, message: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ImageError, `expected an ImageError, got ${err}`);
    if (typeof message === "string") assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

Deno.test("the format comes from the magic bytes", async () => {
  const image = randomRgbImage(seededRandom(1), 5, 3);
  const jpeg = encodeJpeg(image);
  const png = await encodePng({ width: 5, height: 3, colorType: 2, depth: 8, samples: image.data });
  assert.equal(sniffImageFormat(jpeg), "jpeg");
  assert.equal(sniffImageFormat(png), "png");
  assert.equal(sniffImageFormat(png.subarray(0, 7)), undefined);
  assert.equal(sniffImageFormat(new TextEncoder().encode("GIF89a")), undefined);
  assert.deepEqual(decodeImage(png), image);
  const padded = new Uint8Array(png.length + 5);
  padded.set(png, 3);
  assert.deepEqual(decodeImage(padded.subarray(3, 3 + png.length)), image, "a view at an offset");
});

Deno.test("zero-length and random bytes are refused with one-line messages", () => {
  assertImageError(() => decodeImage(new Uint8Array(0)), "Image data is empty (0 bytes)");
  const rand = seededRandom(77);
  const noise = Uint8Array.from({ length: 4096 }, () => Math.floor(rand() * 256));
  const head = Array.from(noise.subarray(0, 8), (b) => b.toString(16).padStart(2, "0")).join(" ");
  assertImageError(
    () => decodeImage(noise),
    `Image data is not a JPEG or PNG image (it starts with bytes ${head})`,
  );
  assertImageError(
    () => decodeImage(new TextEncoder().encode("GIF89a")),
    "Image data is not a JPEG or PNG image (it starts with bytes 47 49 46 38 39 61)",
  );
});

Deno.test("limits must be positive numbers", () => {
  const jpeg = encodeJpeg(randomRgbImage(seededRandom(2), 4, 4));
  assertImageError(
    () => decodeImage(jpeg, { maxPixels: 0 }),
    "Image limit maxPixels must be positive, got 0",
  );
  assertImageError(
    () => decodeImage(jpeg, { maxMemoryMB: NaN }),
    "Image limit maxMemoryMB must be positive, got NaN",
  );
});
