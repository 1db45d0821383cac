/**
 * WGSL for 8-bit tensors, which live packed four per u32 word (little-endian: element `i` is
 * byte `i % 4` of word `i / 4`).
 *
 * @module
 */

/**
 * A WGSL function `load_<array>(i: u32) -> i32` reading element `i` of the packed u8 or i8
 * storage array named `array` (i8 sign-extended).
 */
export function packed8Load(array: string, dtype: "u8" | "i8"): string {
  const value = dtype === "u8"
    ? `i32((word >> shift) & 0xffu)`
    : `bitcast<i32>(word << (24u - shift)) >> 24u`;
  return /* wgsl */ `
fn load_${array}(i: u32) -> i32 {
  let word = ${array}[i >> 2u];
  let shift = (i & 3u) * 8u;
  return ${value};
}`;
}
