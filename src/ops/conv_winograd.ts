/**
 * Winograd convolution on the GPU for 3x3 stride-1 convs on CPU-like adapters: F(2x2, 3x3), or
 * F(4x4, 3x3) where it is cheaper (`winogradAlgorithmFor`); src/shaders/winograd.ts has the
 * math and the layouts. Four dispatches: the weight transform (a derived buffer, once
 * at load), the input transform (pre-activation applied), t^2 GEMMs on the register kernel of
 * src/shaders/tiled_matmul.ts, and the output transform with the fused epilogue (+ B + Z,
 * activation).
 *
 * Why on llvmpipe: its cost is the per-lane emulation of every load, about 2/3 of a 3x3
 * conv's time, and the register kernel's loads per multiply-add do not change with the
 * problem; Winograd does t^2 multiply-adds per (input channel, output channel, m x m outputs)
 * where the direct conv does 9 m^2 (F(2x2): 0.44; F(4x4): 0.25, before padding to whole
 * tiles), for transforms that load each input and product value once.
 *
 * @module
 */

import { ACTIVATION_WGSL } from "../shaders/activation.ts";
import {
  LOAD_CYCLES,
  MATMUL_UNIFORMS,
  matmulDispatch,
  REGISTER_THREADS,
  registerCycles,
  registerTileFor,
  tiledMatmulWgsl,
} from "../shaders/tiled_matmul.ts";
import { copyAccess } from "../shaders/conv_repack.ts";
import { rowKernelMain, workgroupGrid } from "../shaders/grid.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import {
  sandwichWgsl,
  winogradInput,
  winogradInputVectors,
  winogradLayout,
  winogradWeights,
  winogradWeightVectors,
} from "../shaders/winograd.ts";
import { TEXEL_OF_WGSL, texelRowsFit } from "../shaders/texel_rows.ts";
import {
  WINOGRAD_F2,
  WINOGRAD_F4,
  type WinogradAlgorithm,
  winogradPositions,
} from "./winograd_algorithms.ts";
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
  residualSource,
  transposedWeightHooks,
  W,
  X,
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

/**
 * Which copies of a Winograd conv are textures (src/shaders/texel_rows.ts): each where it fits
 * one.
 */
interface WinogradTexels {
  /** The transformed weights U (derived 0). */
  weights: boolean;
  /** The transformed input V (scratch 0). */
  input: boolean;
}

/**
 * The t^2 GEMMs: M[xi] = U[xi] (m x c) times V[xi] (c x cols), from scratch 0 and derived 0
 * (textures where `texels` says) into scratch 1.
 */
function gemmProgram(
  g: ConvGeometry,
  alg: WinogradAlgorithm,
  cols: number,
  limits: GPUSupportedLimits,
  texels: WinogradTexels,
): GpuProgram {
  const weights = copyAccess("f32", texels.weights);
  const input = copyAccess("f32", texels.input);
  const positions = winogradPositions(alg);
  const tile = registerTileFor({ rows: g.m, cols, batches: positions }, "quad", "quad");
  const { uniforms, workgroups } = matmulDispatch(
    tile,
    g.m,
    cols,
    g.c,
    positions,
    limits.maxComputeWorkgroupsPerDimension,
  );
  const wgsl = () =>
    tiledMatmulWgsl({
      tile,
      aOrder: "k",
      bOrder: "quad",
      decls: /* wgsl */ `${input.readDecl(0, "xs")}
${weights.readDecl(1, "wt")}
@group(0) @binding(2) var<storage, read_write> mm: array<vec4<f32>>;
${GEMM_UNIFORMS.struct}
@group(0) @binding(3) var<uniform> params: Params;

struct MmDepth { k: u32 }
fn mm_depth(k: u32) -> MmDepth { return MmDepth(k); }
fn mm_depth_next(d: MmDepth) -> MmDepth { return MmDepth(d.k + 1u); }
${texels.weights || texels.input ? TEXEL_OF_WGSL : ""}
${transposedWeightHooks("f32", texels.weights)}
struct MmBSetup { base: u32 }
fn mm_b_setup(grp: u32, col: u32) -> MmBSetup {
  return MmBSetup(grp * params.mm_depth * params.quads + min(col, params.mm_cols - 4u) / 4u);
}
fn mm_load_b(s: MmBSetup, d: MmDepth) -> vec4<f32> {
  return ${input.load("xs", "s.base + d.k * params.quads")};
}
fn mm_store(grp: u32, row: u32, col: u32, v: vec4<f32>) {
  if (col < params.mm_cols) { mm[(grp * params.mg + row) * params.quads + col / 4u] = v; }
}`,
    });
  return {
    key: `conv_winograd_gemm_${tile.name}${texels.weights ? "_w-texels" : ""}${
      texels.input ? "_x-texels" : ""
    }`,
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
 * True when every row of every output tile of `g` under `alg` is whole vec4s of y: tiles a
 * multiple of 4 wide that divide the output width (so rows are 4-aligned and never cut).
 */
function tileRowsAreQuads(g: ConvGeometry, alg: WinogradAlgorithm): boolean {
  return alg.m % 4 === 0 && g.ow % alg.m === 0;
}

/**
 * The output transform: one invocation per (output channel, 4 consecutive tiles) loads the
 * tiles' t^2 products as vec4s of the 4 tiles from scratch 1, transforms them into the m x m
 * outputs of each tile and stores those inside the output plane through the fused epilogue,
 * reading the channel's bias once. Where `tileRowsAreQuads`, each tile row is stored (and its
 * residual read) as vec4s, a compiled variant: on lavapipe every store or load site is a loop
 * over the SIMD lanes, and F(4x4)'s 16 scalar sites per tile took a 56x56 output transform
 * 1.39 ms where 4 vec4 sites take 1.08 (its bias read once: 1.45 -> 1.39).
 */
function outputProgram(
  g: ConvGeometry,
  alg: WinogradAlgorithm,
  limits: GPUSupportedLimits,
): GpuProgram {
  const layout = winogradLayout(g, alg);
  const quads = layout.cols / 4;
  const rows = g.m * quads;
  const products: GpuBindingSource = { kind: "scratch", index: 1 };
  const epilogueReads: [GpuBindingSource, string][] = [];
  if (g.hasBias) epilogueReads.push([{ kind: "input", index: B }, "bias"]);
  // Without a residual, the products' buffer stands in for z (see fusedKey).
  epilogueReads.push([residualSource(g, products), "z"]);
  const bindings: GpuBindingSource[] = [
    products,
    ...epilogueReads.map(([source]) => source),
    { kind: "output", index: 0 },
  ];
  const positions = range(alg.t).map((i) =>
    range(alg.t).map((j) => `mm[(${i * alg.t + j}u * params.m + m) * params.quads + quad]`)
  );
  const { lines, grid } = sandwichWgsl(alg.at, positions, "y");
  const quads4 = tileRowsAreQuads(g, alg);
  const stores = quads4
    ? grid.flatMap((row, dy) =>
      range(alg.m / 4).map((q) =>
        `if (oy + ${dy}u < params.oh) {
      let index = (base + ${dy}u * params.ow) / 4u + ${q}u;
      ${
          epilogueWgsl(
            g,
            `vec4<f32>(${row.slice(4 * q, 4 * q + 4).map((y) => `${y}[lane]`).join(", ")})`,
            "bias_m",
            "index",
            "quad4",
          )
        }
    }`
      )
    )
    : grid.flatMap((row, dy) =>
      row.map((y, dx) =>
        `if (oy + ${dy}u < params.oh && ox + ${dx}u < params.ow) {
      let index = base + ${dy}u * params.ow + ${dx}u;
      ${epilogueWgsl(g, `${y}[lane]`, "bias_m", "index")}
    }`
      )
    );
  const element = quads4 ? "vec4<f32>" : "f32";
  const wgsl = () =>
    /* wgsl */ `@group(0) @binding(0) var<storage, read> mm: array<vec4<f32>>;
${
      epilogueReads.map(([, name], i) =>
        `@group(0) @binding(${i + 1}) var<storage, read> ${name}: array<${
          name === "z" ? element : "f32"
        }>;`
      ).join("\n")
    }
@group(0) @binding(${epilogueReads.length + 1}) var<storage, read_write> y: array<${element}>;
${OUTPUT_UNIFORMS.struct}
@group(0) @binding(${epilogueReads.length + 2}) var<uniform> params: Params;
${ACTIVATION_WGSL}

${rowKernelMain(WORKGROUP)}
  let quad = row % params.quads;
  let m = row / params.quads;
  ${g.hasBias ? "let bias_m = bias[m];" : ""}
  ${lines.join("\n  ")}
  let plane = params.tiles_h * params.tiles_w;
  for (var lane = 0u; lane < 4u; lane++) {
    let tile = quad * 4u + lane;
    if (tile >= params.tiles) { break; }
    let r = tile % plane;
    let oy = (r / params.tiles_w) * ${alg.m}u;
    let ox = (r % params.tiles_w) * ${alg.m}u;
    let base = ((tile / plane * params.m + m) * params.oh + oy) * params.ow + ox;
    ${stores.join("\n    ")}
  }
}
`;
  return {
    key: `conv_winograd_output_${alg.name}${quads4 ? "_quad4" : ""}_wg${WORKGROUP}_${fusedKey(g)}`,
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
 * Estimated cycles of `g` under `alg` on llvmpipe, in the register kernel's cost model
 * (tiled_matmul.ts): the GEMMs on their planned tile, plus every element the transforms load
 * or store per lane (input: t^2 values of 4 tiles loaded and stored per invocation; output:
 * t^2 products of 4 tiles loaded and their 4 m^2 outputs stored, the residual loaded too).
 */
function winogradCycles(g: ConvGeometry, alg: WinogradAlgorithm): number {
  const { cols } = winogradLayout(g, alg);
  const positions = winogradPositions(alg);
  const p = { rows: g.m, cols, batches: positions };
  const gemm = registerCycles(p, registerTileFor(p, "quad", "quad"), g.c);
  const groups = (channels: number) => channels * cols / 4 / REGISTER_THREADS;
  const input = groups(g.c) * 8 * positions;
  const output = groups(g.m) * 4 * (positions + alg.m * alg.m * (g.hasResidual ? 2 : 1));
  return gemm + (input + output) * LOAD_CYCLES;
}

/**
 * The algorithm for `g`: the cheaper of F(2x2, 3x3) and F(4x4, 3x3) by `winogradCycles`, in
 * every session. F(4x4) does 0.56x the multiply-adds of F(2x2) and its transforms load fewer
 * values per output, but on small maps its fewer tiles make narrow GEMMs (ResNet-50: F(4x4) on
 * the 56x56, 28x28 and 14x14 stages, F(2x2) on 7x7; 207 -> 191 ms a run on lavapipe,
 * interleaved). Its rounding error is about 4.5x F(2x2)'s per layer (winograd_algorithms.ts),
 * which whole models mostly absorb: against onnxruntime ResNet-50's logits moved from 4.0e-6 to
 * 5.8e-6 relative L2, and against LiteRT ResNet-8's worst of 1000 CIFAR images from 6.4e-6 to
 * 9.5e-6, inside the 1e-5 that f32 results are held to but with little to spare.
 */
export function winogradAlgorithmFor(g: ConvGeometry): WinogradAlgorithm {
  return winogradCycles(g, WINOGRAD_F4) < winogradCycles(g, WINOGRAD_F2)
    ? WINOGRAD_F4
    : WINOGRAD_F2;
}

/**
 * The Winograd plan of `g` (`winogradApplies`) with `alg`: the weight transform as derived
 * buffer 0, the transformed input (scratch 0), the GEMMs' products (scratch 1), then the
 * output transform into the node's output; all f32, whatever the session's storage precision.
 * The transformed weights and input are textures where they fit one (`WinogradTexels`).
 */
export function winogradPlan(
  g: ConvGeometry,
  limits: GPUSupportedLimits,
  alg: WinogradAlgorithm,
): GpuPlan {
  const layout = winogradLayout(g, alg);
  const texels: WinogradTexels = {
    weights: texelRowsFit(winogradWeightVectors(g, alg), limits),
    input: texelRowsFit(winogradInputVectors(g, alg), limits),
  };
  const weights = winogradWeights(
    g,
    alg,
    { kind: "input", index: W },
    { kind: "derived", index: 0 },
    limits,
    texels.weights,
  );
  const input = winogradInput(
    g,
    alg,
    [X, ...(g.pre === "none" ? [] : [PRE_SCALE, PRE_SHIFT])].map((index): GpuBindingSource => ({
      kind: "input",
      index,
    })),
    { kind: "scratch", index: 0 },
    (v, c) => preWgsl(g.pre, v, "vec4<f32>", c),
    limits,
    texels.input,
  );
  return {
    programs: [
      input.program,
      gemmProgram(g, alg, layout.cols, limits, texels),
      outputProgram(g, alg, limits),
    ],
    scratchBytes: [input.bytes, winogradPositions(alg) * g.m * layout.cols * 4],
    scratchTextures: [input.texture],
    derived: [weights],
  };
}
