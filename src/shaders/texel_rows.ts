/**
 * Operand copies kept in textures instead of storage buffers: a flat array of vec4s laid out
 * as rows of `TEXEL_ROW` texels of a 2D texture, element i at texel (i % TEXEL_ROW,
 * i / TEXEL_ROW). The program making the copy writes it through a write-only storage texture
 * (`textureStore`), the kernels reading it use `textureLoad`.
 *
 * Why: on llvmpipe (Mesa 22.3) every storage-buffer load is a loop over the SIMD lanes with a
 * bounds check and a branch per lane and component, while a texel fetch is one vectorised
 * gather of the 8 lanes' texels. In a register-kernel microbenchmark (16 x 16 blocks, vec4
 * operands) reading one operand from a texture instead of a buffer ran 1.2x faster, both
 * operands 1.5x.
 *
 * @module
 */

/** Texels per texture row (a power of 2: the address split is a mask and a shift). */
export const TEXEL_ROW = 4096;

/**
 * Texel formats of the copies: f32 values, f16 (the opt-in reduced storage precision), or 32-bit
 * words (packed int8 weights).
 */
export type TexelFormat = "rgba32float" | "rgba16float" | "rgba32uint";

/** Bytes of one texel of `format`. */
export function texelBytes(format: TexelFormat): number {
  return format === "rgba16float" ? 8 : 16;
}

/**
 * Texture extent [width, height] holding `texels` texels in rows of `TEXEL_ROW`, in the one
 * size class every copy shares: the full row width (a power of 2) and a row count that is not
 * a power of 2 (at least 3; one row more where it would be). llvmpipe compiles a variant of a
 * shader for each size class of the textures bound to it (power of 2 or not, per dimension),
 * and a ResNet-50 conv variant takes LLVM over a second: with copies of mixed classes a
 * pipeline compiled at load compiled again in the first run (first start 1.3 s longer).
 */
export function texelRowsExtent(texels: number): [number, number] {
  const rows = Math.max(3, Math.ceil(texels / TEXEL_ROW));
  return [TEXEL_ROW, (rows & (rows - 1)) === 0 ? rows + 1 : rows];
}

/** Whether `texels` texels fit a 2D texture under `limits` (`maxTextureDimension2D` rows). */
export function texelRowsFit(texels: number, limits: GPUSupportedLimits): boolean {
  return texelRowsExtent(texels)[1] <= limits.maxTextureDimension2D;
}

/** WGSL `texel_of(i) -> vec2<u32>`: the texel of element i. */
export const TEXEL_OF_WGSL = /* wgsl */ `fn texel_of(i: u32) -> vec2<u32> {
  return vec2<u32>(i % ${TEXEL_ROW}u, i / ${TEXEL_ROW}u);
}`;
