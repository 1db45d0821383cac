/**
 * PNG to 8-bit RGB with fast-png 8.0.0 (pure JS, no Node APIs), CRCs checked.
 *
 * Before fast-png runs, the chunk layout is walked (every chunk inside the data, IHDR first,
 * IEND present) and IHDR is checked against the pixel limit. All colour types and bit depths
 * of the PNG spec are accepted, except Adam7 interlacing below 8 bits, which fast-png
 * mis-decodes. Conversion: gray is replicated to RGB; palette indices are looked up; alpha and
 * tRNS are dropped (not composited); 16-bit samples are scaled exactly, round(v * 255 / 65535);
 * 1/2/4-bit gray is scaled to 0..255 (v * 255 / (2^depth - 1), an integer).
 *
 * @module
 */

import { errorMessage } from "../errors.ts";
import { decode as decodePngData, type DecodedPng } from "fast-png";
import { checkPixelLimit, ImageError, type ImageLimits, type RgbImage } from "./image.ts";

/** The 8-byte PNG signature. */
export const PNG_SIGNATURE: readonly number[] = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

const COLOR_GRAY = 0;
const COLOR_RGB = 2;
const COLOR_PALETTE = 3;
const COLOR_GRAY_ALPHA = 4;
const COLOR_RGBA = 6;

/** Bit depths the PNG spec allows for each colour type. */
const DEPTHS: Readonly<Record<number, readonly number[]>> = {
  [COLOR_GRAY]: [1, 2, 4, 8, 16],
  [COLOR_RGB]: [8, 16],
  [COLOR_PALETTE]: [1, 2, 4, 8],
  [COLOR_GRAY_ALPHA]: [8, 16],
  [COLOR_RGBA]: [8, 16],
};

interface PngHeader {
  width: number;
  height: number;
  depth: number;
  colorType: number;
  interlaced: boolean;
}

function corrupt(detail: string): ImageError {
  return new ImageError(`Corrupt PNG: ${detail}`);
}

function chunkType(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(...bytes.subarray(at, at + 4));
}

/** Walks the chunks up to IEND and returns the checked IHDR. */
function readPngHeader(bytes: Uint8Array, limits: ImageLimits): PngHeader {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = bytes.length;
  if (n < 33 || chunkType(bytes, 12) !== "IHDR" || view.getUint32(8) !== 13) {
    if (n < 33) {
      throw new ImageError(`Truncated PNG: ${n} bytes, too short for the IHDR header`);
    }
    throw corrupt(`the first chunk is "${chunkType(bytes, 12)}", not a 13-byte IHDR`);
  }
  const header: PngHeader = {
    width: view.getUint32(16),
    height: view.getUint32(20),
    depth: bytes[24],
    colorType: bytes[25],
    interlaced: bytes[28] === 1,
  };
  const { width, height, depth, colorType } = header;
  if (width === 0 || height === 0) throw corrupt(`IHDR gives a size of ${width}x${height}`);
  checkPixelLimit("PNG", width, height, limits);
  const depths = DEPTHS[colorType];
  if (depths === undefined) throw corrupt(`colour type ${colorType} does not exist`);
  if (!depths.includes(depth)) {
    throw corrupt(`bit depth ${depth} is not allowed for colour type ${colorType}`);
  }
  if (header.interlaced && depth < 8) {
    throw new ImageError(
      `Unsupported PNG: Adam7 interlacing with ${depth}-bit samples; re-save it non-interlaced`,
    );
  }
  let pos = 8;
  for (;;) {
    if (pos + 12 > n) {
      throw new ImageError(`Truncated PNG: the data ends at byte ${n}, before IEND`);
    }
    const length = view.getUint32(pos);
    const type = chunkType(bytes, pos + 4);
    if (pos + 12 + length > n) {
      throw new ImageError(
        `Truncated PNG: chunk "${type}" at byte ${pos} needs ${length} bytes, ` +
          `the data ends at byte ${n}`,
      );
    }
    pos += 12 + length;
    if (type === "IEND") return header;
  }
}

/** One 8-bit value per sample; sub-byte gray scaled to 0..255, palette indices kept. */
function samples8(png: DecodedPng, header: PngHeader): Uint8Array {
  const { width, height, depth } = header;
  const count = width * height * png.channels;
  const data = png.data;
  if (depth === 16) {
    if (data.length !== count) throw corrupt(`decoded ${data.length} samples, not ${count}`);
    return Uint8Array.from(data, (v) => Math.round(v / 257));
  }
  if (depth === 8) {
    if (data.length !== count) throw corrupt(`decoded ${data.length} samples, not ${count}`);
    return data instanceof Uint8Array ? data : new Uint8Array(data);
  }
  const rowBytes = Math.ceil(width * depth / 8);
  if (data.length !== rowBytes * height) {
    throw corrupt(`decoded ${data.length} bytes, not ${rowBytes * height}`);
  }
  const mask = (1 << depth) - 1;
  const gain = header.colorType === COLOR_PALETTE ? 1 : 255 / mask;
  const out = new Uint8Array(count);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const bit = x * depth;
      const byte = data[y * rowBytes + (bit >> 3)];
      out[y * width + x] = ((byte >> (8 - depth - (bit & 7))) & mask) * gain;
    }
  }
  return out;
}

function toRgb(png: DecodedPng, header: PngHeader): Uint8Array {
  const samples = samples8(png, header);
  const pixels = header.width * header.height;
  const channels = png.channels;
  const out = new Uint8Array(pixels * 3);
  if (header.colorType === COLOR_PALETTE) {
    const palette = png.palette ?? [];
    if (palette.length === 0) throw corrupt("colour type 3 (palette) without a PLTE chunk");
    for (let i = 0; i < pixels; i++) {
      const color = palette[samples[i]];
      if (color === undefined) {
        throw corrupt(
          `pixel ${i} uses palette index ${samples[i]}, the palette has ${palette.length} colours`,
        );
      }
      out[3 * i] = color[0];
      out[3 * i + 1] = color[1];
      out[3 * i + 2] = color[2];
    }
    return out;
  }
  const gray = channels < 3;
  for (let i = 0; i < pixels; i++) {
    const s = i * channels;
    out[3 * i] = samples[s];
    out[3 * i + 1] = samples[gray ? s : s + 1];
    out[3 * i + 2] = samples[gray ? s : s + 2];
  }
  return out;
}

/** Decodes PNG `bytes` to RGB, or throws an {@link ImageError}. */
export function decodePng(bytes: Uint8Array, limits: ImageLimits): RgbImage {
  const header = readPngHeader(bytes, limits);
  let png: DecodedPng;
  try {
    png = decodePngData(bytes, { checkCrc: true });
  } catch (err) {
    const cause = err instanceof Error && err.cause !== undefined
      ? `: ${errorMessage(err.cause)}`
      : "";
    throw corrupt(`${errorMessage(err)}${cause}`);
  }
  return { width: header.width, height: header.height, data: toRgb(png, header) };
}
