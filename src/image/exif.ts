/**
 * The EXIF orientation tag (0x0112) from the TIFF structure of a JPEG's APP1 Exif segment:
 * TIFF header ("II" little-endian or "MM" big-endian, 42, offset of IFD0), then IFD0's
 * 12-byte entries (tag, type, count, value). Metadata never fails a decode: a malformed or
 * missing tag reads as orientation 1.
 *
 * @module
 */

/** EXIF orientation, 1 to 8 (1: stored upright). */
export type Orientation = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8;

const ORIENTATION_TAG = 0x0112;
const TYPE_SHORT = 3;

/** Returns the orientation in the TIFF data `tiff`, or 1 when it has none or is malformed. */
export function readExifOrientation(tiff: Uint8Array): Orientation {
  if (tiff.length < 8) return 1;
  const view = new DataView(tiff.buffer, tiff.byteOffset, tiff.byteLength);
  const order = view.getUint16(0);
  if (order !== 0x4949 && order !== 0x4d4d) return 1;
  const little = order === 0x4949;
  if (view.getUint16(2, little) !== 42) return 1;
  const ifd = view.getUint32(4, little);
  if (ifd < 8 || ifd + 2 > tiff.length) return 1;
  const count = view.getUint16(ifd, little);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > tiff.length) return 1;
    if (view.getUint16(entry, little) !== ORIENTATION_TAG) continue;
    if (view.getUint16(entry + 2, little) !== TYPE_SHORT) return 1;
    if (view.getUint32(entry + 4, little) !== 1) return 1;
    const value = view.getUint16(entry + 8, little);
    return value >= 1 && value <= 8 ? value as Orientation : 1;
  }
  return 1;
}
