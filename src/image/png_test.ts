import assert from "node:assert/strict";
import { seededRandom } from "../testing/random.ts";
import { crc32, encodePng, pngChannels, type PngSpec } from "./_test_images.ts";
import { decodeImage } from "./decode.ts";
import { ImageError } from "./image.ts";

/** Every (colour type, bit depth) pair the PNG spec allows. */
const FORMATS: [colorType: number, depth: number][] = [
  [0, 1],
  [0, 2],
  [0, 4],
  [0, 8],
  [0, 16],
  [2, 8],
  [2, 16],
  [3, 1],
  [3, 2],
  [3, 4],
  [3, 8],
  [4, 8],
  [4, 16],
  [6, 8],
  [6, 16],
];

function randomSpec(rand: () => number, colorType: number, depth: number): PngSpec {
  const width = 13;
  const height = 7;
  const count = width * height * pngChannels(colorType);
  const paletteSize = Math.min(1 << depth, 6);
  const max = colorType === 3 ? paletteSize : 1 << depth;
  const samples = Array.from({ length: count }, () => Math.floor(rand() * max));
  const palette = colorType === 3
    ? Array.from(
      { length: paletteSize },
      () => [0, 0, 0].map(() => Math.floor(rand() * 256)) as [number, number, number],
    )
    : undefined;
  return { width, height, colorType, depth, samples, palette };
}

/** RGB by the PNG spec's conversion rules: scale to 8 bits, look up, drop alpha. */
function expectedRgb(spec: PngSpec): number[] {
  const channels = pngChannels(spec.colorType);
  const to8 = (v: number) => Math.round(v * 255 / ((1 << spec.depth) - 1));
  const out: number[] = [];
  for (let p = 0; p < spec.width * spec.height; p++) {
    const s = Array.from({ length: channels }, (_, c) => spec.samples[p * channels + c]);
    if (spec.colorType === 3) out.push(...spec.palette![s[0]]);
    else if (channels <= 2) out.push(to8(s[0]), to8(s[0]), to8(s[0]));
    else out.push(to8(s[0]), to8(s[1]), to8(s[2]));
  }
  return out;
}

function assertImageError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ImageError, `expected an ImageError, got ${err}`);
    assert.match(err.message, pattern);
    return true;
  });
}

Deno.test("PNGs of every colour type and bit depth decode to the spec's RGB", async () => {
  const rand = seededRandom(31);
  for (const [colorType, depth] of FORMATS) {
    for (const interlace of depth >= 8 ? [false, true] : [false]) {
      const spec = { ...randomSpec(rand, colorType, depth), interlace };
      const image = decodeImage(await encodePng(spec));
      const label = `colour type ${colorType}, ${depth}-bit${interlace ? ", Adam7" : ""}`;
      assert.deepEqual([image.width, image.height], [spec.width, spec.height], label);
      assert.deepEqual(Array.from(image.data), expectedRgb(spec), label);
    }
  }
});

Deno.test("a PNG chunk with a bad CRC fails with 'Corrupt PNG'", async () => {
  const bytes = await encodePng(randomSpec(seededRandom(4), 2, 8));
  const idat = bytes.findIndex((_, i) =>
    String.fromCharCode(...bytes.subarray(i, i + 4)) === "IDAT"
  );
  const broken = bytes.slice();
  broken[idat + 6] ^= 0x40;
  assertImageError(() => decodeImage(broken), /^Corrupt PNG: CRC mismatch for chunk IDAT/);
  const brokenCrc = bytes.slice();
  brokenCrc[29] ^= 1; // the IHDR CRC itself
  assertImageError(() => decodeImage(brokenCrc), /^Corrupt PNG: CRC mismatch for chunk IHDR/);
});

Deno.test("a PNG truncated anywhere fails with 'Truncated PNG'", async () => {
  const bytes = await encodePng(randomSpec(seededRandom(6), 6, 16));
  for (const cut of [8, 20, 33, 40, 60, bytes.length - 12, bytes.length - 1]) {
    assertImageError(() => decodeImage(bytes.subarray(0, cut)), /^Truncated PNG: /);
  }
});

/** `bytes` with the IHDR field at `offset` (from the chunk data start) set and the CRC fixed. */
function patchIhdr(bytes: Uint8Array, offset: number, values: number[]): Uint8Array {
  const out = bytes.slice();
  out.set(values, 16 + offset);
  new DataView(out.buffer).setUint32(29, crc32(out.subarray(12, 29)));
  return out;
}

Deno.test("unsupported, inconsistent or oversized PNGs fail before decoding", async () => {
  const rgb = await encodePng(randomSpec(seededRandom(8), 2, 8));
  const huge = patchIhdr(rgb, 0, [0, 0, 0xea, 0x60, 0, 0, 0xea, 0x60]);
  const start = performance.now();
  assertImageError(
    () => decodeImage(huge),
    /^PNG image is 60000x60000 \(3600\.0 megapixels\), over the limit of 40 megapixels/,
  );
  assert.ok(performance.now() - start < 50, "rejecting the 60000x60000 IHDR took too long");
  assertImageError(
    () => decodeImage(patchIhdr(rgb, 8, [4])),
    /^Corrupt PNG: bit depth 4 is not allowed for colour type 2$/,
  );
  assertImageError(
    () => decodeImage(patchIhdr(rgb, 9, [5])),
    /^Corrupt PNG: colour type 5 does not exist$/,
  );
  assertImageError(
    () => decodeImage(patchIhdr(rgb, 0, [0, 0, 0, 0])),
    /^Corrupt PNG: IHDR gives a size of 0x7$/,
  );
  const gray4 = await encodePng({ ...randomSpec(seededRandom(9), 0, 4), interlace: true });
  assertImageError(
    () => decodeImage(gray4),
    /^Unsupported PNG: Adam7 interlacing with 4-bit samples/,
  );
  const noPalette = await encodePng({ ...randomSpec(seededRandom(1), 3, 8), palette: undefined });
  assertImageError(
    () => decodeImage(noPalette),
    /^Corrupt PNG: colour type 3 \(palette\) without a PLTE chunk$/,
  );
  const spec = randomSpec(seededRandom(2), 3, 8);
  const outOfRange = await encodePng({
    ...spec,
    samples: Array.from(spec.samples, (_, i) => i === 5 ? 6 : 0),
  });
  assertImageError(
    () => decodeImage(outOfRange),
    /^Corrupt PNG: pixel 5 uses palette index 6, the palette has 6 colours$/,
  );
});

Deno.test("PNG data that does not inflate fails with 'Corrupt PNG'", async () => {
  const bytes = await encodePng(randomSpec(seededRandom(12), 0, 8));
  const idat = bytes.findIndex((_, i) =>
    String.fromCharCode(...bytes.subarray(i, i + 4)) === "IDAT"
  );
  const length = new DataView(bytes.buffer).getUint32(idat - 4);
  const broken = bytes.slice();
  broken.fill(0xff, idat + 6, idat + 4 + length); // keep the zlib header, wreck the deflate data
  new DataView(broken.buffer).setUint32(
    idat + 4 + length,
    crc32(broken.subarray(idat, idat + 4 + length)),
  );
  assertImageError(() => decodeImage(broken), /^Corrupt PNG: /);
});
