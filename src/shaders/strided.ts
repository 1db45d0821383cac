/**
 * Strided indexing shared by broadcasting, transposition and reduction kernels: a flat
 * row-major index over some dims is decomposed into coordinates and dotted with per-operand
 * element strides (0 along a broadcast dim). Dims and strides live in uniforms as
 * `array<vec4<u32>, 2>` (up to `MAX_STRIDED_RANK` entries); the host first collapses dims
 * that are contiguous for every operand, so the usual cases need one or two dims.
 *
 * @module
 */

/** Most dims a strided uniform array holds. */
export const MAX_STRIDED_RANK = 8;

/** WGSL type of a uniform field holding up to `MAX_STRIDED_RANK` dims or strides. */
export const STRIDED_FIELD = `array<vec4<u32>, ${MAX_STRIDED_RANK / 4}>`;

/** Row-major element strides of `shape`. */
export function contiguousStrides(shape: readonly number[]): number[] {
  const strides = new Array<number>(shape.length);
  let stride = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    strides[d] = stride;
    stride *= shape[d];
  }
  return strides;
}

/**
 * The element offset of flat row-major index `index` over `dims`, for an operand with the
 * given element `strides` (the host twin of `stridedOffsetsFn`).
 */
export function stridedOffset(
  index: number,
  dims: readonly number[],
  strides: readonly number[],
): number {
  let offset = 0;
  let rem = index;
  for (let d = dims.length - 1; d >= 0; d--) {
    offset += (rem % dims[d]) * strides[d];
    rem = Math.floor(rem / dims[d]);
  }
  return offset;
}

/**
 * Simplifies an iteration space: drops dims of size 1 and merges each dim into the previous
 * one when every operand's strides make the pair contiguous (stride[d-1] = stride[d] *
 * dims[d]; broadcast dims with stride 0 merge with each other). Offsets are unchanged.
 */
export function collapseDims(
  dims: readonly number[],
  strides: readonly (readonly number[])[],
): { dims: number[]; strides: number[][] } {
  const outDims: number[] = [];
  const outStrides = strides.map(() => [] as number[]);
  dims.forEach((n, d) => {
    if (n === 1) return;
    const last = outDims.length - 1;
    if (last >= 0 && strides.every((s, k) => outStrides[k][last] === s[d] * n)) {
      outDims[last] *= n;
      outStrides.forEach((s, k) => (s[last] = strides[k][d]));
    } else {
      outDims.push(n);
      outStrides.forEach((s, k) => s.push(strides[k][d]));
    }
  });
  return { dims: outDims, strides: outStrides };
}

/**
 * Pads `values` (dims or strides) to the `STRIDED_FIELD` uniform layout; throws naming
 * `owner` when there are more than `MAX_STRIDED_RANK`.
 */
export function stridedWords(values: readonly number[], owner: string): number[] {
  if (values.length > MAX_STRIDED_RANK) {
    throw new Error(
      `${owner}: ${values.length} dims after collapsing exceed the GPU limit of ` +
        `${MAX_STRIDED_RANK}`,
    );
  }
  return [...values, ...new Array<number>(MAX_STRIDED_RANK - values.length).fill(0)];
}

/**
 * WGSL `struct Params` of a two-operand elementwise kernel over a strided iteration space:
 * element count, rank, the dims and the operands' strides (`a_strides`, `b_strides`), packed by
 * `binaryStridedUniforms`.
 */
export const BINARY_STRIDED_PARAMS = /* wgsl */ `struct Params {
  length: u32, rank: u32, _pad0: u32, _pad1: u32,
  dims: ${STRIDED_FIELD}, a_strides: ${STRIDED_FIELD}, b_strides: ${STRIDED_FIELD},
}`;

/**
 * Uniform words of `BINARY_STRIDED_PARAMS` for `length` elements over `dims` with the two
 * operands' `strides`; throws naming `owner` past `MAX_STRIDED_RANK` dims.
 */
export function binaryStridedUniforms(
  length: number,
  dims: readonly number[],
  strides: readonly [readonly number[], readonly number[]],
  owner: string,
): Uint32Array {
  return new Uint32Array([
    length,
    dims.length,
    0,
    0,
    ...stridedWords(dims, owner),
    ...stridedWords(strides[0], owner),
    ...stridedWords(strides[1], owner),
  ]);
}

/**
 * A WGSL function `fn <name>(i: u32) -> array<u32, K>` that decomposes the flat index `i`
 * over `dims` (a `STRIDED_FIELD` expression with `rank` entries) and returns, for each of
 * the K `strides` expressions, the dot product of the coordinates with those strides.
 */
export function stridedOffsetsFn(
  name: string,
  rank: string,
  dims: string,
  strides: readonly string[],
): string {
  const accumulate = strides.map((s, k) => `offsets[${k}] += c * ${s}[d / 4u][d % 4u];`);
  return /* wgsl */ `
fn ${name}(i: u32) -> array<u32, ${strides.length}> {
  var offsets: array<u32, ${strides.length}>;
  var rem = i;
  for (var e = ${rank}; e > 0u; e--) {
    let d = e - 1u;
    let n = ${dims}[d / 4u][d % 4u];
    let c = rem % n;
    rem = rem / n;
    ${accumulate.join("\n    ")}
  }
  return offsets;
}`;
}
