/**
 * Reads a JPEG's structure without decoding pixels: the frame header (SOFn: size, components,
 * coding), the first APP1 Exif payload, and that the marker stream is complete up to the
 * end-of-image marker. This runs before jpeg-js, so that an oversized, truncated or
 * unsupported file is refused before anything is allocated for its pixels.
 *
 * Marker syntax (ITU T.81 B.1): a marker is 0xFF (any number of fill 0xFF bytes) then a code;
 * SOI, EOI, RSTn and TEM stand alone, every other marker has a big-endian length that counts
 * itself. After SOS comes entropy-coded data in which 0xFF is followed by 0x00 (stuffing) or
 * RSTn. Stray bytes between segments are skipped, as libjpeg does.
 *
 * @module
 */

import { checkPixelLimit, ImageError, type ImageLimits } from "./image.ts";

/** JPEG coding processes jpeg-js decodes. */
export type JpegCoding = "baseline" | "extended" | "progressive";

/** What a JPEG's headers say. */
export interface JpegHeader {
  /** Width in pixels. */
  width: number;
  /** Height in pixels. */
  height: number;
  /** Colour components: 1 (grayscale), 3 (YCbCr or RGB) or 4 (CMYK or YCCK). */
  components: number;
  /** Coding process of the frame. */
  coding: JpegCoding;
  /** The TIFF data of the first APP1 Exif segment (after `Exif\0\0`), when there is one. */
  exif?: Uint8Array;
}

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP1 = 0xe1;
const TEM = 0x01;

/** Frame markers jpeg-js decodes. */
const CODINGS: Readonly<Record<number, JpegCoding>> = {
  0xc0: "baseline",
  0xc1: "extended",
  0xc2: "progressive",
};

/** Frame markers it does not, by name. */
const UNSUPPORTED_CODINGS: Readonly<Record<number, string>> = {
  0xc3: "lossless",
  0xc5: "differential sequential",
  0xc6: "differential progressive",
  0xc7: "differential lossless",
  0xc9: "arithmetic sequential",
  0xca: "arithmetic progressive",
  0xcb: "arithmetic lossless",
  0xcd: "arithmetic differential sequential",
  0xce: "arithmetic differential progressive",
  0xcf: "arithmetic differential lossless",
};

const EXIF_ID = [0x45, 0x78, 0x69, 0x66, 0x00, 0x00]; // "Exif\0\0"

function hex(byte: number): string {
  return `0x${byte.toString(16).padStart(2, "0")}`;
}

function truncated(at: number, what: string): ImageError {
  return new ImageError(
    `Truncated JPEG: the data ends at byte ${at} inside ${what}, before the end-of-image marker`,
  );
}

function corrupt(detail: string): ImageError {
  return new ImageError(`Corrupt JPEG: ${detail}`);
}

function readFrame(
  marker: number,
  seg: Uint8Array,
  at: number,
  limits: ImageLimits,
): JpegHeader {
  const unsupported = UNSUPPORTED_CODINGS[marker];
  if (unsupported !== undefined) {
    throw new ImageError(
      `Unsupported JPEG: ${unsupported} coding (SOF${marker - 0xc0}); only baseline and ` +
        `progressive Huffman-coded JPEGs decode`,
    );
  }
  if (seg.length < 6) throw corrupt(`frame header at byte ${at} is ${seg.length} bytes long`);
  const precision = seg[0];
  const height = (seg[1] << 8) | seg[2];
  const width = (seg[3] << 8) | seg[4];
  const components = seg[5];
  if (precision !== 8) {
    throw new ImageError(`Unsupported JPEG: ${precision}-bit samples; only 8-bit JPEGs decode`);
  }
  if (width === 0 || height === 0) {
    throw corrupt(`frame header gives a size of ${width}x${height}`);
  }
  checkPixelLimit("JPEG", width, height, limits);
  if (components !== 1 && components !== 3 && components !== 4) {
    throw new ImageError(
      `Unsupported JPEG: ${components} colour components; only 1, 3 or 4 decode`,
    );
  }
  if (seg.length < 6 + 3 * components) {
    throw corrupt(`frame header at byte ${at} is too short for ${components} components`);
  }
  for (let i = 0; i < components; i++) {
    const h = seg[7 + 3 * i] >> 4;
    const v = seg[7 + 3 * i] & 15;
    if (h < 1 || h > 4 || v < 1 || v > 4) {
      throw corrupt(`component ${i} has sampling factors ${h}x${v} (each must be 1 to 4)`);
    }
  }
  return { width, height, components, coding: CODINGS[marker] };
}

function isExif(seg: Uint8Array): boolean {
  return seg.length >= EXIF_ID.length && EXIF_ID.every((b, i) => seg[i] === b);
}

/** Returns the offset of the first marker after the entropy-coded data that starts at `pos`. */
function skipEntropyData(bytes: Uint8Array, pos: number): number {
  const n = bytes.length;
  while (pos < n) {
    if (bytes[pos] !== 0xff) {
      pos++;
      continue;
    }
    if (pos + 1 >= n) break;
    const next = bytes[pos + 1];
    if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
      pos += 2;
      continue;
    }
    return pos;
  }
  throw truncated(n, "entropy-coded scan data");
}

/**
 * Walks the JPEG's marker segments up to EOI and returns its frame header and Exif data.
 * Throws an {@link ImageError} for a truncated or malformed stream, an unsupported coding or
 * sample precision, or a frame over `limits.maxPixels` (checked as soon as the frame header
 * is read).
 */
export function readJpegHeader(bytes: Uint8Array, limits: ImageLimits): JpegHeader {
  const n = bytes.length;
  if (n < 2 || bytes[0] !== 0xff || bytes[1] !== SOI) {
    throw corrupt("no start-of-image marker");
  }
  let frame: JpegHeader | undefined;
  let exif: Uint8Array | undefined;
  let scans = 0;
  let pos = 2;
  for (;;) {
    while (pos < n && bytes[pos] !== 0xff) pos++;
    while (pos < n && bytes[pos] === 0xff) pos++;
    if (pos >= n) throw truncated(n, "the marker stream");
    const marker = bytes[pos++];
    if (marker === EOI) break;
    if (marker === TEM || (marker >= 0xd0 && marker <= 0xd7)) continue;
    if (marker === 0x00 || marker === SOI) {
      throw corrupt(`marker ${hex(marker)} at byte ${pos - 1} is not allowed here`);
    }
    if (pos + 2 > n) throw truncated(n, `the length of marker ${hex(marker)}`);
    const length = (bytes[pos] << 8) | bytes[pos + 1];
    if (length < 2) throw corrupt(`marker ${hex(marker)} at byte ${pos - 1} has length ${length}`);
    if (pos + length > n) throw truncated(n, `the segment of marker ${hex(marker)}`);
    const seg = bytes.subarray(pos + 2, pos + length);
    const segStart = pos - 1;
    pos += length;
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (frame) throw corrupt(`second frame header at byte ${segStart}`);
      frame = readFrame(marker, seg, segStart, limits);
    } else if (marker === APP1 && exif === undefined && isExif(seg)) {
      exif = seg.subarray(EXIF_ID.length);
    } else if (marker === SOS) {
      if (!frame) throw corrupt(`scan at byte ${segStart} comes before the frame header`);
      scans++;
      pos = skipEntropyData(bytes, pos);
    }
  }
  if (!frame) throw corrupt("no frame header (SOFn) before the end-of-image marker");
  if (scans === 0) throw corrupt("no scan (SOS) before the end-of-image marker");
  return exif ? { ...frame, exif } : frame;
}
