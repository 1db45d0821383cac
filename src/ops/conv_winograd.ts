/**
 * Winograd F(2x2, 3x3) convolution on the GPU, for 3x3 stride-1 convs on CPU-like adapters
 * (src/shaders/winograd.ts has the math and the layouts). Four dispatches: the weight
 * transform (a derived buffer, once at load), the input transform (pre-activation applied),
 * 16 GEMMs on the register kernel of src/shaders/tiled_matmul.ts, and the output transform
 * with the fused epilogue (+ B + Z, activation).
 *
 * Why on llvmpipe: its cost is the per-lane emulation of every load, about 2/3 of a 3x3
 * conv's time, and the register kernel's loads per multiply-add do not change with the
 * problem; Winograd does 16 multiply-adds per (input channel, output channel, 2x2 outputs)
 * where the direct conv does 36 (ratio 0.44, 0.47-0.51 on 14x14 and 7x7 maps after padding
 * to whole tiles), for transforms that load each input and product value once.
 *
 * @module
 */

import {
  MATMUL_UNIFORMS,
  matmulDispatch,
  matmulTileFor,
  tiledMatmulWgsl,
} from "../shaders/tiled_matmul.ts";
import { rowKernelMain, workgroupGrid } from "../shaders/grid.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import {
  WINOGRAD_OUTPUT_WGSL,
  WINOGRAD_POSITIONS,
  winogradInput,
  winogradLayout,
  winogradWeights,
} from "../shaders/winograd.ts";
import type { ConvGeometry } from "./conv.ts";
import {
  B,
  CONV_UNIFORMS,
  convUniformValues,
  epilogueWgsl,
  fusedKey,
  PRE_SCALE,
  PRE_SHIFT,
  preWgsl,
  transposedWeightHooks,
  W,
  X,
  Z,
} from "./conv_wgsl.ts";
import type { GpuBindingSource, GpuPlan, GpuProgram } from "./op.ts";

/** True when `g` is a convolution the Winograd kernel computes: 3x3, stride 1, no dilation, one group. */
export function winogradApplies(g: ConvGeometry): boolean {
  return g.kh === 3 && g.kw === 3 && g.strideH === 1 && g.strideW === 1 && g.dilH === 1 &&
    g.dilW === 1 && g.group === 1;
}

const GEMM_UNIFORMS = uniformLayout("Params", { ...MATMUL_UNIFORMS, mg: "u32", quads: "u32" });
const OUTPUT_UNIFORMS = uniformLayout("Params", {
  rows: "u32",
  quads: "u32",
  tiles: "u32",
  tiles_h: "u32",
  tiles_w: "u32",
  ...CONV_UNIFORMS,
});

const WORKGROUP = 64;
const range = (n: number) => [...Array(n).keys()];
const COMPONENTS = ["x", "y", "z", "w"];

/** The 16 GEMMs: M[xi] = U[xi] (m x c) times V[xi] (c x cols), from scratch 0 and derived 0 into scratch 1. */
function gemmProgram(
  g: ConvGeometry,
  cols: number,
  limits: GPUSupportedLimits,
): GpuProgram {
  const tile = matmulTileFor(
    { rows: g.m, cols, batches: WINOGRAD_POSITIONS },
    true,
    "quad",
    "quad",
  );
  const { uniforms, workgroups } = matmulDispatch(
    tile,
    g.m,
    cols,
    g.c,
    WINOGRAD_POSITIONS,
    limits.maxComputeWorkgroupsPerDimension,
  );
  const wgsl = () =>
    tiledMatmulWgsl({
      tile,
      aOrder: "k",
      bOrder: "quad",
      decls: /* wgsl */ `@group(0) @binding(0) var<storage, read> xs: array<vec4<f32>>;
@group(0) @binding(1) var<storage, read> wt: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read_write> mm: array<vec4<f32>>;
${GEMM_UNIFORMS.struct}
@group(0) @binding(3) var<uniform> params: Params;

struct MmDepth { k: u32 }
fn mm_depth(k: u32) -> MmDepth { return MmDepth(k); }
fn mm_depth_next(d: MmDepth) -> MmDepth { return MmDepth(d.k + 1u); }
${transposedWeightHooks("f32")}
struct MmBSetup { base: u32 }
fn mm_b_setup(grp: u32, col: u32) -> MmBSetup {
  return MmBSetup(grp * params.mm_depth * params.quads + min(col, params.mm_cols - 4u) / 4u);
}
fn mm_load_b(s: MmBSetup, d: MmDepth) -> vec4<f32> {
  return xs[s.base + d.k * params.quads];
}
fn mm_store(grp: u32, row: u32, col: u32, v: vec4<f32>) {
  if (col < params.mm_cols) { mm[(grp * params.mg + row) * params.quads + col / 4u] = v; }
}`,
    });
  return {
    key: `conv_winograd_gemm_${tile.name}`,
    wgsl,
    bindings: [{ kind: "scratch", index: 0 }, { kind: "derived", index: 0 }, {
      kind: "scratch",
      index: 1,
    }],
    uniforms: GEMM_UNIFORMS.pack({ ...uniforms, mg: g.m, quads: cols / 4 }),
    workgroups,
  };
}

/**
 * The output transform: one invocation per (output channel, 4 consecutive tiles) loads the
 * tiles' 16 products as 16 vec4s from scratch 1, transforms each tile into its 2x2 outputs
 * and stores those inside the output plane through the fused epilogue.
 */
function outputProgram(
  g: ConvGeometry,
  limits: GPUSupportedLimits,
): GpuProgram {
  const layout = winogradLayout(g);
  const quads = layout.cols / 4;
  const rows = g.m * quads;
  const optional: [number, string][] = [];
  if (g.hasBias) optional.push([B, "bias"]);
  if (g.hasResidual) optional.push([Z, "z"]);
  const bindings: GpuBindingSource[] = [
    { kind: "scratch", index: 1 },
    ...optional.map(([index]): GpuBindingSource => ({ kind: "input", index })),
    { kind: "output", index: 0 },
  ];
  const tiles = range(4).map((t) => {
    const c = COMPONENTS[t];
    const rowsOf = range(4).map((r) =>
      `vec4<f32>(${range(4).map((s) => `v${4 * r + s}.${c}`).join(", ")})`
    );
    const outputs = range(4).map((o) => {
      const [dy, dx] = [o >> 1, o & 1];
      return `if (oy + ${dy}u < params.oh && ox + ${dx}u < params.ow) {
        let index = base + ${dy}u * params.ow + ${dx}u;
        ${epilogueWgsl(g, `out.${COMPONENTS[o]}`, "m", "index")}
      }`;
    });
    return `{
    let t = quad * 4u + ${t}u;
    if (t < params.tiles) {
      let out = output_tile(${rowsOf.join(", ")});
      let r = t % (params.tiles_h * params.tiles_w);
      let oy = (r / params.tiles_w) * 2u;
      let ox = (r % params.tiles_w) * 2u;
      let base = ((t / (params.tiles_h * params.tiles_w) * params.m + m) * params.oh + oy) *
                 params.ow + ox;
      ${outputs.join("\n      ")}
    }
  }`;
  });
  const wgsl = () =>
    /* wgsl */ `@group(0) @binding(0) var<storage, read> mm: array<vec4<f32>>;
${
      optional.map(([, name], i) =>
        `@group(0) @binding(${i + 1}) var<storage, read> ${name}: array<f32>;`
      ).join("\n")
    }
@group(0) @binding(${optional.length + 1}) var<storage, read_write> y: array<f32>;
${OUTPUT_UNIFORMS.struct}
@group(0) @binding(${optional.length + 2}) var<uniform> params: Params;
${WINOGRAD_OUTPUT_WGSL}

${rowKernelMain(WORKGROUP)}
  let quad = row % params.quads;
  let m = row / params.quads;
  ${
      range(WINOGRAD_POSITIONS).map((xi) =>
        `let v${xi} = mm[(${xi}u * params.m + m) * params.quads + quad];`
      ).join("\n  ")
    }
  ${tiles.join("\n  ")}
}
`;
  return {
    key: `conv_winograd_output_wg${WORKGROUP}_${fusedKey(g)}`,
    wgsl,
    bindings,
    uniforms: OUTPUT_UNIFORMS.pack({
      rows,
      quads,
      tiles: layout.tiles,
      tiles_h: layout.tilesH,
      tiles_w: layout.tilesW,
      ...convUniformValues(g),
    }),
    workgroups: workgroupGrid(Math.ceil(rows / WORKGROUP), limits.maxComputeWorkgroupsPerDimension),
  };
}

/**
 * The Winograd plan of `g` (`winogradApplies`): the weight transform as derived buffer 0, the
 * transformed input (scratch 0), the GEMMs' products (scratch 1), then the output transform
 * into the node's output; all f32, whatever the session's storage precision.
 */
export function winogradPlan(g: ConvGeometry, limits: GPUSupportedLimits): GpuPlan {
  const layout = winogradLayout(g);
  const weights = winogradWeights(
    g,
    { kind: "input", index: W },
    { kind: "derived", index: 0 },
    limits,
  );
  const input = winogradInput(
    g,
    [X, ...(g.pre === "none" ? [] : [PRE_SCALE, PRE_SHIFT])].map((index): GpuBindingSource => ({
      kind: "input",
      index,
    })),
    { kind: "scratch", index: 0 },
    (v, c) => preWgsl(g.pre, v, "vec4<f32>", c),
    limits,
  );
  return {
    programs: [
      input.program,
      gemmProgram(g, layout.cols, limits),
      outputProgram(g, limits),
    ],
    scratchBytes: [input.bytes, WINOGRAD_POSITIONS * g.m * layout.cols * 4],
    derived: [weights],
  };
}
