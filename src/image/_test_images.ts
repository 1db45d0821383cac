/**
 * Test-only image builders: random RGB images, JPEGs from jpeg-js's encoder with an APP1 Exif
 * segment spliced in, and a small PNG writer that covers every colour type, bit depth and
 * Adam7 interlacing (and so lets tests break files on purpose).
 *
 * @module
 */

import jpeg from "jpeg-js";
import type { RgbImage } from "./image.ts";

/** A `width` x `height` image of uniform random bytes. */
export function randomRgbImage(rand: () => number, width: number, height: number): RgbImage {
  const data = new Uint8Array(width * height * 3);
  for (let i = 0; i < data.length; i++) data[i] = Math.floor(rand() * 256);
  return { width, height, data };
}

/** Encodes `image` as a baseline 4:4:4 JPEG with jpeg-js. */
export function encodeJpeg(image: RgbImage, quality = 90): Uint8Array {
  const rgba = new Uint8Array(image.width * image.height * 4);
  for (let i = 0; i < image.width * image.height; i++) {
    rgba.set(image.data.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = 255;
  }
  const encoded = jpeg.encode({ width: image.width, height: image.height, data: rgba }, quality);
  return new Uint8Array(encoded.data);
}

/** A TIFF IFD0 entry: tag, type, count and the 4-byte value field. */
export interface IfdEntry {
  tag: number;
  type: number;
  count: number;
  /** The value field, left-justified (a SHORT sits in its first two bytes). */
  value: number;
}

/** The TIFF structure of an Exif payload holding `entries` in IFD0, in either byte order. */
export function tiffWithEntries(entries: IfdEntry[], littleEndian: boolean): Uint8Array {
  const tiff = new Uint8Array(8 + 2 + 12 * entries.length + 4);
  const view = new DataView(tiff.buffer);
  view.setUint16(0, littleEndian ? 0x4949 : 0x4d4d);
  view.setUint16(2, 42, littleEndian);
  view.setUint32(4, 8, littleEndian);
  view.setUint16(8, entries.length, littleEndian);
  entries.forEach((e, i) => {
    const at = 10 + 12 * i;
    view.setUint16(at, e.tag, littleEndian);
    view.setUint16(at + 2, e.type, littleEndian);
    view.setUint32(at + 4, e.count, littleEndian);
    if (e.type === 3) view.setUint16(at + 8, e.value, littleEndian);
    else view.setUint32(at + 8, e.value, littleEndian);
  });
  return tiff;
}

/** The TIFF structure of an Exif payload whose IFD0 has a few tags, orientation among them. */
export function exifWithOrientation(orientation: number, littleEndian: boolean): Uint8Array {
  return tiffWithEntries([
    { tag: 0x010f, type: 2, count: 4, value: 0x41424300 }, // Make "ABC\0"
    { tag: 0x0112, type: 3, count: 1, value: orientation },
    { tag: 0x011a, type: 5, count: 1, value: 0 }, // XResolution (offset unused here)
  ], littleEndian);
}

/** `jpegBytes` with an APP1 segment (`Exif\0\0` + `tiff`) inserted right after SOI. */
export function withExif(jpegBytes: Uint8Array, tiff: Uint8Array): Uint8Array {
  const length = 2 + 6 + tiff.length;
  const app1 = new Uint8Array(2 + length);
  app1.set([0xff, 0xe1, length >> 8, length & 0xff, 0x45, 0x78, 0x69, 0x66, 0, 0]);
  app1.set(tiff, 10);
  const out = new Uint8Array(jpegBytes.length + app1.length);
  out.set(jpegBytes.subarray(0, 2));
  out.set(app1, 2);
  out.set(jpegBytes.subarray(2), 2 + app1.length);
  return out;
}

/** Offset of the first `FF marker` in a JPEG, or -1. */
export function findMarker(bytes: Uint8Array, marker: number): number {
  for (let i = 0; i + 1 < bytes.length; i++) {
    if (bytes[i] === 0xff && bytes[i + 1] === marker) return i;
  }
  return -1;
}

const CRC_TABLE = Uint32Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

/** CRC-32 as PNG chunks use it. */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function pngChunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

async function zlib(data: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([data as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

/** What {@link encodePng} writes. */
export interface PngSpec {
  width: number;
  height: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray-alpha, 6 RGBA. */
  colorType: number;
  /** Bits per sample. */
  depth: number;
  /** Row-major samples (or palette indices), `channels` per pixel, each within the depth. */
  samples: ArrayLike<number>;
  /** RGB palette entries for colour type 3. */
  palette?: [number, number, number][];
  /** Writes the Adam7 interlaced form. */
  interlace?: boolean;
}

/** Channels per pixel of a PNG colour type. */
export function pngChannels(colorType: number): number {
  return { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[colorType]!;
}

/** Filtered scanlines of the pixels `(x, y)` listed row by row; odd rows use filter Sub. */
function scanlines(spec: PngSpec, rows: number[][]): Uint8Array {
  const channels = pngChannels(spec.colorType);
  const bits = spec.depth * channels;
  const bpp = Math.max(1, bits >> 3);
  const out: number[] = [];
  rows.forEach((pixels, r) => {
    const line = new Uint8Array(Math.ceil(pixels.length * bits / 8));
    let bit = 0;
    for (const p of pixels) {
      for (let c = 0; c < channels; c++) {
        const v = spec.samples[p * channels + c];
        if (spec.depth === 16) {
          line[bit >> 3] = v >> 8;
          line[(bit >> 3) + 1] = v & 0xff;
        } else {
          line[bit >> 3] |= v << (8 - spec.depth - (bit & 7));
        }
        bit += spec.depth;
      }
    }
    const sub = r % 2 === 1;
    out.push(sub ? 1 : 0);
    for (let i = 0; i < line.length; i++) {
      out.push(sub ? (line[i] - (line[i - bpp] ?? 0)) & 0xff : line[i]);
    }
  });
  return new Uint8Array(out);
}

const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Writes a PNG (a tEXt chunk, then the image data split over two IDAT chunks). */
export async function encodePng(spec: PngSpec): Promise<Uint8Array> {
  const { width, height } = spec;
  const raw: Uint8Array[] = [];
  const passes = spec.interlace ? ADAM7 : [[0, 0, 1, 1]];
  for (const [x0, y0, dx, dy] of passes) {
    const rows: number[][] = [];
    for (let y = y0; y < height; y += dy) {
      const row: number[] = [];
      for (let x = x0; x < width; x += dx) row.push(y * width + x);
      if (row.length > 0) rows.push(row);
    }
    raw.push(scanlines(spec, rows));
  }
  const all = new Uint8Array(raw.reduce((n, r) => n + r.length, 0));
  raw.reduce((at, r) => (all.set(r, at), at + r.length), 0);
  const idat = await zlib(all);
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([spec.depth, spec.colorType, 0, 0, spec.interlace ? 1 : 0], 8);
  const half = idat.length >> 1;
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk("IHDR", ihdr),
    ...(spec.palette ? [pngChunk("PLTE", new Uint8Array(spec.palette.flat()))] : []),
    pngChunk("tEXt", new TextEncoder().encode("Comment\0resin test")),
    pngChunk("IDAT", idat.subarray(0, half)),
    pngChunk("IDAT", idat.subarray(half)),
    pngChunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

/** The read-only test data folder beside the repository (../shared). */
export const SHARED_DIR: string = new URL("../../../shared/", import.meta.url).pathname;

/** Whether ../shared is there; tests that need it are ignored otherwise. */
export const HAS_SHARED: boolean = (() => {
  try {
    return Deno.statSync(SHARED_DIR).isDirectory;
  } catch {
    return false;
  }
})();
