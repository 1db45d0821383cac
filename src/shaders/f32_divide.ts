/**
 * Correctly rounded f32 division in WGSL. WGSL only promises 2.5 ulp for `x / y`, so kernels
 * that must reproduce a C++ `float` division bit for bit (TFLite's SOFTMAX and QUANTIZE) divide
 * the 24-bit significands with integers instead: restoring long division to 24 quotient bits,
 * rounded to nearest, ties to even, by comparing twice the remainder with the divisor.
 *
 * @module
 */

/**
 * `fn divide(a: f32, b: f32) -> f32`: `a / b` correctly rounded, for normal `a` and `b` whose
 * quotient is a normal f32 (callers keep their operands in that range).
 */
export const DIVIDE_WGSL = /* wgsl */ `
fn divide(a: f32, b: f32) -> f32 {
  let ab = bitcast<u32>(a);
  let bb = bitcast<u32>(b);
  let ma = (ab & 0x7fffffu) | 0x800000u;
  let mb = (bb & 0x7fffffu) | 0x800000u;
  var e = i32((ab >> 23u) & 0xffu) - i32((bb >> 23u) & 0xffu) + 127;
  // Scale the dividend so the significand quotient lies in [1, 2).
  var rem = ma;
  if (ma < mb) {
    rem = ma << 1u;
    e -= 1;
  }
  var q = 0u;
  for (var i = 0u; i < 24u; i++) {
    q = q << 1u;
    if (rem >= mb) {
      rem -= mb;
      q |= 1u;
    }
    rem = rem << 1u;
  }
  // rem is now twice the remainder: compare it with the divisor.
  if (rem > mb || (rem == mb && (q & 1u) == 1u)) { q += 1u; }
  if (q == 0x1000000u) {
    q = 0x800000u;
    e += 1;
  }
  return bitcast<f32>(((ab ^ bb) & 0x80000000u) | (u32(e) << 23u) | (q & 0x7fffffu));
}`;
