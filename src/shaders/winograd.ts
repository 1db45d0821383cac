/**
 * Winograd F(2x2, 3x3) transforms for 3x3 stride-1 convolutions (src/ops/conv_winograd.ts):
 * each 2x2 block of outputs ("tile") of one channel is computed from the 4x4 input patch
 * under it as Y = A^T [ (G g G^T) * (B^T d B) ] A, 16 multiplies per input channel instead
 * of 36, with
 *
 *     B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   G = [1 0 0; .5 .5 .5; .5 -.5 .5; 0 0 1]
 *     A^T = [1 1 1 0; 0 1 -1 -1]
 *
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016). The elementwise
 * products summed over input channels are 16 independent GEMMs, one per position xi of the
 * 4x4 transformed tile, run on the tiled matmul core. The transforms' coefficients are 0, +-1
 * and +-1/2, so they add only a few roundings per value.
 *
 * Layouts (T = tiles of the whole batch, `cols` = T rounded up to a multiple of 4):
 * - transformed weights U: the transposed-weight layout of src/shaders/conv_repack.ts with the
 *   16 positions as its groups (`wt_index(xi, m, c)`: 4 output channels per vec4, blocks of
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
import { type Repack, transposedIndexWgsl, WEIGHT_BLOCK } from "./conv_repack.ts";
import { rowKernelMain, workgroupGrid } from "./grid.ts";
import { uniformLayout } from "./uniform_layout.ts";

/** Positions of the transformed 4x4 tile: the number of GEMMs. */
export const WINOGRAD_POSITIONS = 16;

const WORKGROUP = 64;
const MAIN = rowKernelMain(WORKGROUP);
const range = (n: number) => [...Array(n).keys()];
const COMPONENTS = ["x", "y", "z", "w"];

/** How the tiles of a conv's output are laid out as GEMM columns. */
export interface WinogradLayout {
  /** Tile rows and columns of one output plane (2x2 outputs per tile). */
  tilesH: number;
  tilesW: number;
  /** Tiles of the whole batch. */
  tiles: number;
  /** GEMM columns: tiles rounded up to a multiple of 4. */
  cols: number;
}

/** The tile layout of `g`. */
export function winogradLayout(g: ConvGeometry): WinogradLayout {
  const tilesH = Math.ceil(g.oh / 2), tilesW = Math.ceil(g.ow / 2);
  const tiles = g.n * tilesH * tilesW;
  return { tilesH, tilesW, tiles, cols: Math.ceil(tiles / 4) * 4 };
}

const FILTER_UNIFORMS = uniformLayout("Params", { rows: "u32", mg: "u32", depth: "u32" });

/**
 * The weight transform of `g` into U (module doc): reads binding `weights` (W, [m][c][3][3]),
 * writes `out`. One invocation per (4 output channels, input channel) transforms 4 kernels
 * (zero past m) and stores one vec4 per position.
 *
 * @example
 * ```ts
 * const { program, bytes } = winogradWeights(g, { kind: "input", index: 1 }, { kind: "derived", index: 0 }, limits);
 * ```
 */
export function winogradWeights(
  g: ConvGeometry,
  weights: GpuBindingSource,
  out: GpuBindingSource,
  limits: GPUSupportedLimits,
): Repack {
  const quads = Math.ceil(g.m / WEIGHT_BLOCK) * (WEIGHT_BLOCK / 4);
  const rows = quads * g.c;
  const kernels = range(4).map((i) => {
    const taps = range(3).map((r) =>
      `select(vec3<f32>(0.0), vec3<f32>(${
        range(3).map((s) => `w[base${i} + ${3 * r + s}u]`).join(", ")
      }), m0 + ${i}u < params.mg)`
    );
    return `let base${i} = min(m0 + ${i}u, params.mg - 1u) * params.depth * 9u + k * 9u;
  let u${i} = filter_tile(${taps.join(", ")});`;
  });
  const stores = range(WINOGRAD_POSITIONS).map((xi) => {
    const [r, s] = [xi >> 2, xi & 3];
    const v = `vec4<f32>(${range(4).map((i) => `u${i}[${r}].${COMPONENTS[s]}`).join(", ")})`;
    return `wt[wt_index(${xi}u, m0, k)] = ${v};`;
  });
  const wgsl = () =>
    /* wgsl */ `@group(0) @binding(0) var<storage, read> w: array<f32>;
@group(0) @binding(1) var<storage, read_write> wt: array<vec4<f32>>;
${FILTER_UNIFORMS.struct}
@group(0) @binding(2) var<uniform> params: Params;

${transposedIndexWgsl("depth")}

// Rows of G g G^T for the 3x3 kernel with rows g0, g1, g2.
fn filter_row(u: vec3<f32>) -> vec4<f32> {
  return vec4<f32>(u.x, 0.5 * (u.x + u.y + u.z), 0.5 * (u.x - u.y + u.z), u.z);
}
fn filter_tile(g0: vec3<f32>, g1: vec3<f32>, g2: vec3<f32>) -> array<vec4<f32>, 4> {
  return array<vec4<f32>, 4>(filter_row(g0), filter_row(0.5 * (g0 + g1 + g2)),
                             filter_row(0.5 * (g0 - g1 + g2)), filter_row(g2));
}

${MAIN}
  let k = row % params.depth;
  let m0 = (row / params.depth) * 4u;
  ${kernels.join("\n  ")}
  ${stores.join("\n  ")}
}
`;
  return {
    program: {
      key: `conv_winograd_weights_wg${WORKGROUP}`,
      wgsl,
      bindings: [weights, out],
      uniforms: FILTER_UNIFORMS.pack({ rows, mg: g.m, depth: g.c }),
      workgroups: workgroupGrid(
        Math.ceil(rows / WORKGROUP),
        limits.maxComputeWorkgroupsPerDimension,
      ),
    },
    bytes: WINOGRAD_POSITIONS * quads * g.c * 16,
  };
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
 * shift where `g.pre` is not "none", from `inputs` (in that order); writes `scratch`. One
 * invocation per (input channel, 4 consecutive tiles) loads each tile's 4x4 patch with bounds
 * checks (the pre-activation applied inside the input, padding exactly 0), transforms it and
 * stores one vec4 of 4 tiles per position. `pre(v, c)` is the WGSL applying the
 * pre-activation of channel `c` to the vec4 `v`.
 *
 * @example
 * ```ts
 * const { program, bytes } = winogradInput(g, [{ kind: "input", index: 0 }], { kind: "scratch", index: 0 }, (v) => v, limits);
 * ```
 */
export function winogradInput(
  g: ConvGeometry,
  inputs: GpuBindingSource[],
  scratch: GpuBindingSource,
  pre: (v: string, channel: string) => string,
  limits: GPUSupportedLimits,
): Repack {
  const layout = winogradLayout(g);
  const quads = layout.cols / 4;
  const rows = g.c * quads;
  const names = ["x", ...(g.pre === "none" ? [] : ["pre_scale", "pre_shift"])];
  const patchRows = range(4).map((i) =>
    `let row${i} = top + ${i};
  let in${i} = columns & vec4<bool>(row${i} >= 0 && row${i} < i32(params.h));
  let i${i} = select(vec4<u32>(0u), base + u32(max(row${i}, 0)) * params.w + vec4<u32>(iw), in${i});
  let d${i} = select(vec4<f32>(0.0), ${
      pre(`vec4<f32>(x[i${i}.x], x[i${i}.y], x[i${i}.z], x[i${i}.w])`, "channel")
    }, in${i});`
  );
  const stores = range(WINOGRAD_POSITIONS).map((xi) => {
    const [r, s] = [xi >> 2, xi & 3];
    const v = `vec4<f32>(${range(4).map((t) => `v${t}[${r}].${COMPONENTS[s]}`).join(", ")})`;
    return `xs[(${xi}u * params.c + channel) * params.quads + quad] = ${v};`;
  });
  const wgsl = () =>
    /* wgsl */ `${
      names.map((name, i) => `@group(0) @binding(${i}) var<storage, read> ${name}: array<f32>;`)
        .join("\n")
    }
@group(0) @binding(${names.length}) var<storage, read_write> xs: array<vec4<f32>>;
${INPUT_UNIFORMS.struct}
@group(0) @binding(${names.length + 1}) var<uniform> params: Params;

// A row r of B^T d, as B^T d B's row.
fn input_row(r: vec4<f32>) -> vec4<f32> {
  return vec4<f32>(r.x - r.z, r.y + r.z, r.z - r.y, r.y - r.w);
}

// B^T d B for the 4x4 patch of tile t of channel \`channel\`; zero past the last tile.
fn input_tile(t: u32, channel: u32) -> array<vec4<f32>, 4> {
  if (t >= params.tiles) { return array<vec4<f32>, 4>(); }
  let plane = params.tiles_h * params.tiles_w;
  let image = t / plane;
  let r = t % plane;
  let top = i32((r / params.tiles_w) * 2u) - params.pad_t;
  let iw = vec4<i32>(i32((r % params.tiles_w) * 2u) - params.pad_l) + vec4<i32>(0, 1, 2, 3);
  let columns = (iw >= vec4<i32>(0)) & (iw < vec4<i32>(i32(params.w)));
  let base = (image * params.c + channel) * params.h * params.w;
  ${patchRows.join("\n  ")}
  return array<vec4<f32>, 4>(input_row(d0 - d2), input_row(d1 + d2), input_row(d2 - d1),
                             input_row(d1 - d3));
}

${MAIN}
  let quad = row % params.quads;
  let channel = row / params.quads;
  ${range(4).map((t) => `let v${t} = input_tile(quad * 4u + ${t}u, channel);`).join("\n  ")}
  ${stores.join("\n  ")}
}
`;
  return {
    program: {
      key: `conv_winograd_input_pre-${g.pre}_wg${WORKGROUP}`,
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
    bytes: WINOGRAD_POSITIONS * g.c * quads * 16,
  };
}

/**
 * WGSL `output_tile(m0, m1, m2, m3: vec4<f32>) -> vec4<f32>`: A^T M A for the transformed
 * tile with rows m0..m3, as the 2x2 outputs (top left, top right, bottom left, bottom right).
 */
export const WINOGRAD_OUTPUT_WGSL = /* wgsl */ `
fn output_tile(m0: vec4<f32>, m1: vec4<f32>, m2: vec4<f32>, m3: vec4<f32>) -> vec4<f32> {
  let s0 = m0 + m1 + m2;
  let s1 = m1 - m2 - m3;
  return vec4<f32>(s0.x + s0.y + s0.z, s0.y - s0.z - s0.w, s1.x + s1.y + s1.z,
                   s1.y - s1.z - s1.w);
}`;
