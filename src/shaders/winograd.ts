/**
 * Winograd F(m x m, 3x3) transforms for 3x3 stride-1 convolutions (src/ops/conv_winograd.ts):
 * each m x m block of outputs ("tile") of one channel is computed from the t x t input patch
 * under it (t = m + 2) as Y = A^T [ (G g G^T) * (B^T d B) ] A, t^2 multiplies per input
 * channel instead of 9 m^2 (Lavin and Gray, "Fast Algorithms for Convolutional Neural
 * Networks", 2016). Two algorithms, as data in src/ops/winograd_algorithms.ts:
 * - F(2x2, 3x3): 16 multiplies per 4 outputs (0.44 of direct), transform coefficients 0, +-1
 *   and +-1/2, so a few roundings per value;
 * - F(4x4, 3x3): 36 per 16 outputs (0.25 of direct) and its transforms load 2.25 values per
 *   output instead of 4, but its products are summed over the input channels in the
 *   transformed space, where they are several times larger than the outputs they cancel
 *   into: its rounding error is about 5x F(2x2)'s (1e-6 relative per layer in f32, measured
 *   and simulated), which is why it is opt-in (src/ops/conv_winograd.ts).
 * The elementwise products summed over input channels are t^2 independent GEMMs, one per
 * position xi of the transformed tile, run on the tiled matmul core.
 *
 * Every transform is a "sandwich" L X L^T of a small grid X whose entries are vec4s of 4
 * independent problems (4 tiles, or 4 output channels for the weights); the WGSL is generated
 * from the matrices, zero coefficients left out.
 *
 * Layouts (T = tiles of the whole batch, `cols` = T rounded up to a multiple of 4):
 * - transformed weights U: the transposed-weight layout of src/shaders/conv_repack.ts with the
 *   t^2 positions as its groups (`wt_index(xi, m, c)`: 4 output channels per vec4, blocks of
 *   16); a derived buffer, made once at load;
 * - transformed input V: [xi][c][cols / 4] vec4s of 4 consecutive tiles (zero past T);
 *   a scratch buffer written on every run;
 * - products M: [xi][m][cols / 4] vec4s, f32; a scratch buffer the output transform reads.
 *
 * All three are f32, also under f16 storage (`StoragePrecision`): rounding the transformed
 * values to f16 would need its own error bound, and Winograd already removes more loads than
 * f16 copies did.
 *
 * @module
 */

import type { GpuBindingSource } from "../ops/op.ts";
import type { ConvGeometry } from "../ops/conv.ts";
import { copyAccess, type Repack, transposedIndexWgsl, WEIGHT_BLOCK } from "./conv_repack.ts";
import { rowKernelMain, workgroupGrid } from "./grid.ts";
import { uniformLayout } from "./uniform_layout.ts";
import {
  type Matrix,
  type WinogradAlgorithm,
  winogradPositions,
} from "../ops/winograd_algorithms.ts";

const WORKGROUP = 64;
const MAIN = rowKernelMain(WORKGROUP);
const range = (n: number) => [...Array(n).keys()];

/** WGSL f32 literal of `c`. */
function literal(c: number): string {
  const text = String(c);
  return /[.e]/.test(text) ? text : `${text}.0`;
}

/** WGSL for the sum of `coeffs[k] * terms[k]` (vec4s); zero terms left out, +-1 unmultiplied. */
function combination(coeffs: readonly number[], terms: readonly string[]): string {
  const parts: string[] = [];
  coeffs.forEach((c, k) => {
    if (c === 0) return;
    const term = Math.abs(c) === 1 ? terms[k] : `${literal(Math.abs(c))} * ${terms[k]}`;
    const sign = c < 0 ? "-" : "+";
    parts.push(parts.length === 0 ? (c < 0 ? `-${term}` : term) : `${sign} ${term}`);
  });
  return parts.length === 0 ? "vec4<f32>(0.0)" : parts.join(" ");
}

/**
 * WGSL lines declaring `<name>_i_j` = (L X L^T)[i][j] for a grid `x` of vec4 expressions (via
 * `<name>h_i_j` = (L X)[i][j]), and the grid of those names.
 */
export function sandwichWgsl(
  l: Matrix,
  x: readonly (readonly string[])[],
  name: string,
): { lines: string[]; grid: string[][] } {
  const lines: string[] = [];
  const half = l.map((row, i) =>
    x[0].map((_, j) => {
      lines.push(`let ${name}h_${i}_${j} = ${combination(row, x.map((r) => r[j]))};`);
      return `${name}h_${i}_${j}`;
    })
  );
  const grid = l.map((_, i) =>
    l.map((row, j) => {
      lines.push(`let ${name}_${i}_${j} = ${combination(row, half[i])};`);
      return `${name}_${i}_${j}`;
    })
  );
  return { lines, grid };
}

/** How the tiles of a conv's output are laid out as GEMM columns. */
export interface WinogradLayout {
  /** Tile rows and columns of one output plane (m x m outputs per tile). */
  tilesH: number;
  tilesW: number;
  /** Tiles of the whole batch. */
  tiles: number;
  /** GEMM columns: tiles rounded up to a multiple of 4. */
  cols: number;
}

/** The tile layout of `g` under `alg`. */
export function winogradLayout(g: ConvGeometry, alg: WinogradAlgorithm): WinogradLayout {
  const tilesH = Math.ceil(g.oh / alg.m), tilesW = Math.ceil(g.ow / alg.m);
  const tiles = g.n * tilesH * tilesW;
  return { tilesH, tilesW, tiles, cols: Math.ceil(tiles / 4) * 4 };
}

const FILTER_UNIFORMS = uniformLayout("Params", { rows: "u32", mg: "u32", depth: "u32" });

/** Number of vec4s of `g`'s transformed weights under `alg` (16-channel blocks padded). */
export function winogradWeightVectors(g: ConvGeometry, alg: WinogradAlgorithm): number {
  return winogradPositions(alg) * Math.ceil(g.m / WEIGHT_BLOCK) * (WEIGHT_BLOCK / 4) * g.c;
}

/**
 * The weight transform of `g` into U (module doc): reads binding `weights` (W, [m][c][3][3]),
 * writes `out`, a buffer, or where `texture` a texture (`copyAccess`). One invocation per
 * (4 output channels, input channel) transforms 4 kernels (zero past m) at once, a vec4 per
 * kernel tap, and stores one vec4 per position.
 *
 * @example
 * ```ts
 * const { program, bytes } = winogradWeights(g, WINOGRAD_F2, { kind: "input", index: 1 }, { kind: "derived", index: 0 }, limits);
 * ```
 */
export function winogradWeights(
  g: ConvGeometry,
  alg: WinogradAlgorithm,
  weights: GpuBindingSource,
  out: GpuBindingSource,
  limits: GPUSupportedLimits,
  texture = false,
): Repack {
  const copy = copyAccess("f32", texture);
  const quads = Math.ceil(g.m / WEIGHT_BLOCK) * (WEIGHT_BLOCK / 4);
  const rows = quads * g.c;
  const taps = range(3).map((r) =>
    range(3).map((s) => {
      const lanes = ["x", "y", "z", "w"].map((c) => `w[base.${c} + ${3 * r + s}u]`);
      return `select(vec4<f32>(0.0), vec4<f32>(${lanes.join(", ")}), live)`;
    })
  );
  const { lines, grid } = sandwichWgsl(alg.g, taps, "u");
  const stores = grid.flat().map((u, xi) => copy.store("wt", `wt_index(${xi}u, m0, k)`, u));
  const wgsl = () =>
    /* wgsl */ `@group(0) @binding(0) var<storage, read> w: array<f32>;
${copy.writeDecl(1, "wt")}
${FILTER_UNIFORMS.struct}
@group(0) @binding(2) var<uniform> params: Params;
${copy.functions}

${transposedIndexWgsl("depth")}

${MAIN}
  let k = row % params.depth;
  let m0 = (row / params.depth) * 4u;
  let channels = vec4<u32>(m0) + vec4<u32>(0u, 1u, 2u, 3u);
  let live = channels < vec4<u32>(params.mg);
  let base = min(channels, vec4<u32>(params.mg - 1u)) * params.depth * 9u + k * 9u;
  ${lines.join("\n  ")}
  ${stores.join("\n  ")}
}
`;
  return {
    program: {
      key: `conv_winograd_weights_${alg.name}${texture ? "_texels" : ""}_wg${WORKGROUP}`,
      wgsl,
      bindings: [weights, out],
      uniforms: FILTER_UNIFORMS.pack({ rows, mg: g.m, depth: g.c }),
      workgroups: workgroupGrid(
        Math.ceil(rows / WORKGROUP),
        limits.maxComputeWorkgroupsPerDimension,
      ),
    },
    bytes: winogradWeightVectors(g, alg) * copy.bytes,
    texture: copy.texture,
  };
}

/** Number of vec4s of `g`'s transformed input under `alg`. */
export function winogradInputVectors(g: ConvGeometry, alg: WinogradAlgorithm): number {
  return winogradPositions(alg) * g.c * winogradLayout(g, alg).cols / 4;
}

const INPUT_UNIFORMS = uniformLayout("Params", {
  rows: "u32",
  quads: "u32",
  tiles: "u32",
  tiles_h: "u32",
  tiles_w: "u32",
  c: "u32",
  h: "u32",
  w: "u32",
  pad_t: "i32",
  pad_l: "i32",
});

/**
 * The input transform of `g` into V (module doc): reads X, and the pre-activation's scale and
 * shift where `g.pre` is not "none", from `inputs` (in that order); writes `scratch`, a
 * buffer, or where `texture` a texture (`copyAccess`). One
 * invocation per (input channel, 4 consecutive tiles) loads the 4 tiles' t x t patches with
 * bounds checks (the pre-activation applied inside the input, padding exactly 0) as vec4s of
 * the 4 tiles, transforms them and stores one vec4 per position. `pre(v, c)` is the WGSL
 * applying the pre-activation of channel `c` to the vec4 `v`.
 *
 * @example
 * ```ts
 * const { program, bytes } = winogradInput(g, WINOGRAD_F2, [{ kind: "input", index: 0 }], { kind: "scratch", index: 0 }, (v) => v, limits);
 * ```
 */
export function winogradInput(
  g: ConvGeometry,
  alg: WinogradAlgorithm,
  inputs: GpuBindingSource[],
  scratch: GpuBindingSource,
  pre: (v: string, channel: string) => string,
  limits: GPUSupportedLimits,
  texture = false,
): Repack {
  const copy = copyAccess("f32", texture);
  const layout = winogradLayout(g, alg);
  const quads = layout.cols / 4;
  const rows = g.c * quads;
  const names = ["x", ...(g.pre === "none" ? [] : ["pre_scale", "pre_shift"])];
  const columns = range(alg.t).map((j) =>
    `let col${j} = left + vec4<i32>(${j});
  let in_col${j} = (col${j} >= vec4<i32>(0)) & (col${j} < vec4<i32>(i32(params.w)));`
  );
  const patch = range(alg.t).map((i) =>
    range(alg.t).map((j) => {
      const index = `i_${i}_${j}`;
      return `let in_${i}_${j} = in_row${i} & in_col${j};
  let ${index} = select(vec4<u32>(0u), at_row${i} + vec4<u32>(max(col${j}, vec4<i32>(0))), in_${i}_${j});
  let d_${i}_${j} = select(vec4<f32>(0.0), ${
        pre(`vec4<f32>(x[${index}.x], x[${index}.y], x[${index}.z], x[${index}.w])`, "channel")
      }, in_${i}_${j});`;
    })
  );
  const patchRows = range(alg.t).map((i) =>
    `let row${i} = top + vec4<i32>(${i});
  let in_row${i} = valid & (row${i} >= vec4<i32>(0)) & (row${i} < vec4<i32>(i32(params.h)));
  let at_row${i} = base + vec4<u32>(max(row${i}, vec4<i32>(0))) * params.w;`
  );
  const d = range(alg.t).map((i) => range(alg.t).map((j) => `d_${i}_${j}`));
  const { lines, grid } = sandwichWgsl(alg.bt, d, "v");
  const stores = grid.flat().map((v, xi) =>
    copy.store("xs", `(${xi}u * params.c + channel) * params.quads + quad`, v)
  );
  const wgsl = () =>
    /* wgsl */ `${
      names.map((name, i) => `@group(0) @binding(${i}) var<storage, read> ${name}: array<f32>;`)
        .join("\n")
    }
${copy.writeDecl(names.length, "xs")}
${INPUT_UNIFORMS.struct}
@group(0) @binding(${names.length + 1}) var<uniform> params: Params;
${copy.functions}

${MAIN}
  let quad = row % params.quads;
  let channel = row / params.quads;
  let tile = vec4<u32>(quad * 4u) + vec4<u32>(0u, 1u, 2u, 3u);
  let valid = tile < vec4<u32>(params.tiles);
  let plane = params.tiles_h * params.tiles_w;
  let r = tile % vec4<u32>(plane);
  let top = vec4<i32>((r / vec4<u32>(params.tiles_w)) * ${alg.m}u) - vec4<i32>(params.pad_t);
  let left = vec4<i32>((r % vec4<u32>(params.tiles_w)) * ${alg.m}u) - vec4<i32>(params.pad_l);
  let base = ((tile / vec4<u32>(plane)) * params.c + channel) * params.h * params.w;
  ${columns.join("\n  ")}
  ${patchRows.join("\n  ")}
  ${patch.flat().join("\n  ")}
  ${lines.join("\n  ")}
  ${stores.join("\n  ")}
}
`;
  return {
    program: {
      key: `conv_winograd_input_${alg.name}${texture ? "_texels" : ""}_pre-${g.pre}_wg${WORKGROUP}`,
      wgsl,
      bindings: [...inputs, scratch],
      uniforms: INPUT_UNIFORMS.pack({
        rows,
        quads,
        tiles: layout.tiles,
        tiles_h: layout.tilesH,
        tiles_w: layout.tilesW,
        c: g.c,
        h: g.h,
        w: g.w,
        pad_t: g.padT,
        pad_l: g.padL,
      }),
      workgroups: workgroupGrid(
        Math.ceil(rows / WORKGROUP),
        limits.maxComputeWorkgroupsPerDimension,
      ),
    },
    bytes: winogradInputVectors(g, alg) * copy.bytes,
    texture: copy.texture,
  };
}
