/**
 * WGSL helpers for 8-bit values held four per u32 word (element k in byte k): reading one
 * byte as u8 or i8, widening a word to i8 lanes, and the residual-add lookup used by fused
 * int8 epilogues.
 *
 * @module
 */

/**
 * XOR mask turning raw bytes of `dtype` into i8 values offset by -128 for u8 (x' = x - 128),
 * and leaving i8 bytes as they are: `dot4I8Packed(word ^ mask, w)` is then exact for both.
 */
export function i8Offset(dtype: "u8" | "i8"): { mask: string; offset: number } {
  return dtype === "u8" ? { mask: "0x80808080u", offset: 128 } : { mask: "0u", offset: 0 };
}

/** `fn byte_of(word: u32, k: u32) -> u32`: byte k (0..3) of a word. */
export const BYTE_OF_WGSL = /* wgsl */ `
fn byte_of(word: u32, k: u32) -> u32 {
  return (word >> (k * 8u)) & 0xffu;
}`;

/**
 * `fn lut_byte(i: u32) -> u32`: byte i of the 65536-entry table bound as `lut` (needs
 * `BYTE_OF_WGSL`).
 */
export const LUT_BYTE_WGSL = /* wgsl */ `
fn lut_byte(i: u32) -> u32 {
  return byte_of(lut[i >> 2u], i & 3u);
}`;
