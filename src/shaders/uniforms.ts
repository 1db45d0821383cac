/**
 * Host-side packing of uniform words: `GpuProgram.uniforms` is a Uint32Array, so f32
 * constants travel as their bit patterns and the WGSL struct declares the field as f32.
 *
 * @module
 */

const scratch = new DataView(new ArrayBuffer(4));

/** The IEEE-754 single-precision bit pattern of `value` (rounded to f32 first). */
export function f32Bits(value: number): number {
  scratch.setFloat32(0, value, true);
  return scratch.getUint32(0, true);
}
