/**
 * Gemm (ONNX): Y = alpha * A' * B' + beta * C, with A' = transA ? A^T : A (likewise B'), A' of
 * shape [M, K], B' of [K, N], and the optional C broadcast unidirectionally to [M, N] (shapes
 * [], [1], [N], [1, N], [M, 1], [M, N], [1, 1]).
 *
 * Also home of the dense GPU product shared with MatMul (`denseMatmulProgram`): the tiled
 * matmul core over strided, batched operands with an alpha/beta epilogue.
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import {
  MATMUL_UNIFORMS,
  matmulDispatch,
  matmulTileFor,
  tiledMatmulWgsl,
} from "../shaders/tiled_matmul.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { gemmF32, type MatrixView, rowMajor } from "./cpu_gemm.ts";
import type { BatchDim } from "./matmul.ts";
import type { GpuBindingSource, GpuPlan, GpuPlanContext, GpuProgram, OpDef } from "./op.ts";

/** A Gemm node's validated dimensions, attributes and C broadcast strides. */
export interface GemmGeometry {
  m: number;
  n: number;
  k: number;
  transA: boolean;
  transB: boolean;
  alpha: number;
  beta: number;
  /** Element strides of C along M and N (0 where C broadcasts); undefined without C. */
  c?: { strideM: number; strideN: number };
}

function flagAttr(node: Node, name: string): boolean {
  const v = node.attrs[name] ?? 0;
  if (v !== 0 && v !== 1) {
    throw new Error(`Gemm "${node.name}": ${name} must be 0 or 1, got ${JSON.stringify(v)}`);
  }
  return v === 1;
}

function floatAttr(node: Node, name: string): number {
  const v = node.attrs[name] ?? 1;
  if (typeof v !== "number" || !Number.isFinite(v)) {
    throw new Error(
      `Gemm "${node.name}": ${name} must be a finite number, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

/** Validates a Gemm node against its input types; every error names the node. */
export function gemmGeometry(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
): GemmGeometry {
  const fail = (msg: string): never => {
    throw new Error(`Gemm "${node.name}": ${msg}`);
  };
  if (inputs.length > 3) fail(`takes at most 3 inputs, got ${inputs.length}`);
  const a = inputs[0] ?? fail("input A is missing");
  const b = inputs[1] ?? fail("input B is missing");
  const c = inputs[2];
  for (const t of [a, b, c]) if (t && t.dtype !== "f32") fail(`inputs must be f32, got ${t.dtype}`);
  if (a.shape.length !== 2 || b.shape.length !== 2) {
    fail(`A and B must be 2-D, got A [${a.shape}] and B [${b.shape}]`);
  }
  const transA = flagAttr(node, "transA");
  const transB = flagAttr(node, "transB");
  const [m, k] = transA ? [a.shape[1], a.shape[0]] : a.shape;
  const [kb, n] = transB ? [b.shape[1], b.shape[0]] : b.shape;
  if (k !== kb) {
    fail(
      `inner dimensions differ: A' is [${m}, ${k}], B' is [${kb}, ${n}] (transA ${
        Number(transA)
      }, transB ${Number(transB)})`,
    );
  }
  const geometry: GemmGeometry = {
    m,
    n,
    k,
    transA,
    transB,
    alpha: floatAttr(node, "alpha"),
    beta: floatAttr(node, "beta"),
  };
  if (c) {
    const dims = c.shape;
    const cn = dims.length >= 1 ? dims[dims.length - 1] : 1;
    const cm = dims.length === 2 ? dims[0] : 1;
    if (dims.length > 2 || (cn !== 1 && cn !== n) || (cm !== 1 && cm !== m)) {
      fail(`C [${dims}] does not broadcast to [${m}, ${n}]`);
    }
    geometry.c = { strideM: cm === 1 ? 0 : cn, strideN: cn === 1 ? 0 : 1 };
  }
  return geometry;
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = gemmGeometry(node, inputs);
  return [{ dtype: "f32", shape: [g.m, g.n] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = gemmGeometry(node, inputs);
  const a = inputs[0]!.data, b = inputs[1]!.data, c = inputs[2]?.data;
  const y = makeTensor("f32", [g.m, g.n]);
  for (let i = 0; i < g.m; i++) {
    for (let j = 0; j < g.n; j++) {
      let sum = 0;
      for (let p = 0; p < g.k; p++) {
        const av = g.transA ? a[p * g.m + i] : a[i * g.k + p];
        const bv = g.transB ? b[j * g.k + p] : b[p * g.n + j];
        sum += av * bv;
      }
      let v = g.alpha * sum;
      if (c && g.c) v += g.beta * c[i * g.c.strideM + j * g.c.strideN];
      y.data[i * g.n + j] = v;
    }
  }
  return [y];
}

/** A' or B' as a strided view: `rows x cols` of `data`, transposed in place when `trans`. */
function operand(data: Float32Array, cols: number, trans: boolean, rows: number): MatrixView {
  return trans ? { data, offset: 0, rowStride: 1, colStride: rows } : rowMajor(data, cols);
}

/** Fast CPU Gemm: the blocked product of cpu_gemm.ts, then alpha and beta * C in one pass. */
function cpu(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = gemmGeometry(node, inputs);
  const y = makeTensor("f32", [g.m, g.n]);
  const out = y.data as Float32Array;
  gemmF32(
    g.m,
    g.n,
    g.k,
    operand(inputs[0]!.data as Float32Array, g.k, g.transA, g.m),
    { ...operand(inputs[1]!.data as Float32Array, g.n, g.transB, g.k), constant: true },
    rowMajor(out, g.n),
  );
  const c = inputs[2]?.data;
  for (let i = 0; i < g.m; i++) {
    for (let j = 0; j < g.n; j++) {
      let v = g.alpha * out[i * g.n + j];
      if (c && g.c) v += g.beta * c[i * g.c.strideM + j * g.c.strideN];
      out[i * g.n + j] = v;
    }
  }
  return [y];
}

/** Batch dims the dense kernel decodes (MatMul merges adjacent dims first). */
const MAX_BATCH_DIMS = 4;

const DENSE_UNIFORMS = uniformLayout("Params", {
  ...MATMUL_UNIFORMS,
  a_stride_m: "u32",
  a_stride_k: "u32",
  b_stride_k: "u32",
  b_stride_n: "u32",
  c_stride_m: "u32",
  c_stride_n: "u32",
  alpha: "f32",
  beta: "f32",
  ...Object.fromEntries(
    [0, 1, 2, 3].flatMap((d) => [
      [`batch${d}`, "u32"],
      [`batch${d}_a`, "u32"],
      [`batch${d}_b`, "u32"],
    ]),
  ) as Record<string, "u32">,
});

/** A strided, batched product Y[t] = alpha * A'[t] B'[t] (+ beta * C) for the GPU. */
export interface DenseMatmul {
  /** Rows, columns, depth of each product. */
  m: number;
  n: number;
  k: number;
  /** Whether A is stored [K, M] and B [N, K] (per batch). */
  transA: boolean;
  transB: boolean;
  /** Broadcast batch dims, outermost first (at most 4); Y's batches are dense. */
  batch: readonly BatchDim[];
  /** Number of products. */
  batches: number;
  alpha: number;
  beta: number;
  /** C's strides when there is a C (binding: input 2). */
  c?: { strideM: number; strideN: number };
}

/**
 * How the dense kernel reads its operands. A: `quad`, 4 rows at one depth as scalar loads,
 * or `k4`, one aligned vec4 of 4 depths (A contiguous along k, offsets multiples of 4). B:
 * `quad` (scalar loads), `quad4` (one aligned vec4 of 4 columns: B contiguous along the
 * columns) or `k4`. The workgroup kernel always reads scalar quads.
 */
interface DenseForms {
  a: "quad" | "k4";
  b: "quad" | "quad4" | "k4";
}

/** Element strides of A (along m, k) and B (along k, n) for the transposes. */
function denseStrides(d: DenseMatmul) {
  return {
    aM: d.transA ? 1 : d.k,
    aK: d.transA ? d.m : 1,
    bK: d.transB ? 1 : d.n,
    bN: d.transB ? d.k : 1,
  };
}

/** The vector loads the register kernel can use for `d` (every offset a multiple of 4). */
function denseForms(d: DenseMatmul): DenseForms {
  const s = denseStrides(d);
  const aligned = (...values: number[]) => values.every((v) => v % 4 === 0);
  const batchA = d.batch.map((b) => b.strideA), batchB = d.batch.map((b) => b.strideB);
  const a = s.aK === 1 && aligned(d.k, s.aM, ...batchA) ? "k4" : "quad";
  const b = s.bK === 1 && aligned(d.k, s.bN, ...batchB)
    ? "k4"
    : s.bN === 1 && aligned(d.n, s.bK, ...batchB)
    ? "quad4"
    : "quad";
  return { a, b };
}

/** WGSL of A's setup and load hooks in `form`, reading binding `a`. */
function denseAHooks(form: DenseForms["a"]): string {
  if (form === "k4") {
    return /* wgsl */ `
struct MmASetup { base: u32 }
fn mm_a_setup(batch: u32, row: u32) -> MmASetup {
  return MmASetup(batch_offsets(batch).x + min(row, params.mm_rows - 1u) * params.a_stride_m);
}
fn mm_load_a(s: MmASetup, d: MmDepth) -> vec4<f32> { return a[(s.base + d.k) / 4u]; }`;
  }
  return /* wgsl */ `
struct MmASetup { base: vec4<u32> }
fn mm_a_setup(batch: u32, row: u32) -> MmASetup {
  let rows = min(vec4<u32>(row) + ${LANES}, vec4<u32>(params.mm_rows - 1u));
  return MmASetup(batch_offsets(batch).x + rows * params.a_stride_m);
}
fn mm_load_a(s: MmASetup, d: MmDepth) -> vec4<f32> {
  let i = s.base + d.k * params.a_stride_k;
  return vec4<f32>(a[i.x], a[i.y], a[i.z], a[i.w]);
}`;
}

/** WGSL of B's setup and load hooks in `form`, reading binding `b`. */
function denseBHooks(form: DenseForms["b"]): string {
  if (form === "k4") {
    return /* wgsl */ `
struct MmBSetup { base: u32 }
fn mm_b_setup(batch: u32, col: u32) -> MmBSetup {
  return MmBSetup(batch_offsets(batch).y + min(col, params.mm_cols - 1u) * params.b_stride_n);
}
fn mm_load_b(s: MmBSetup, d: MmDepth) -> vec4<f32> { return b[(s.base + d.k) / 4u]; }`;
  }
  if (form === "quad4") {
    return /* wgsl */ `
struct MmBSetup { base: u32 }
fn mm_b_setup(batch: u32, col: u32) -> MmBSetup {
  return MmBSetup(batch_offsets(batch).y + min(col, params.mm_cols - 4u));
}
fn mm_load_b(s: MmBSetup, d: MmDepth) -> vec4<f32> {
  return b[(s.base + d.k * params.b_stride_k) / 4u];
}`;
  }
  return /* wgsl */ `
struct MmBSetup { base: vec4<u32> }
fn mm_b_setup(batch: u32, col: u32) -> MmBSetup {
  let cols = min(vec4<u32>(col) + ${LANES}, vec4<u32>(params.mm_cols - 1u));
  return MmBSetup(batch_offsets(batch).y + cols * params.b_stride_n);
}
fn mm_load_b(s: MmBSetup, d: MmDepth) -> vec4<f32> {
  let i = s.base + d.k * params.b_stride_k;
  return vec4<f32>(b[i.x], b[i.y], b[i.z], b[i.w]);
}`;
}

const LANES = "vec4<u32>(0u, 1u, 2u, 3u)";

/**
 * WGSL of the dense product: bindings a, b, (c), y; A(row, k) = a[batchA + row*a_stride_m +
 * k*a_stride_k], B(k, col) = b[batchB + k*b_stride_k + col*b_stride_n]; Y row-major per
 * batch. Out-of-range rows/columns are clamped to the last one (their results are dropped).
 * A `k4`/`quad4` operand is declared as an array of vec4.
 */
function denseDecls(hasC: boolean, forms: DenseForms): string {
  const bindings: [string, string][] = [
    ["a", forms.a === "quad" ? "f32" : "vec4<f32>"],
    ["b", forms.b === "quad" ? "f32" : "vec4<f32>"],
    ...(hasC ? [["c", "f32"] as [string, string]] : []),
  ];
  const batchDecode = [3, 2, 1, 0].map((d) =>
    `off += (rest % params.batch${d}) * vec2<u32>(params.batch${d}_a, params.batch${d}_b);
  rest /= params.batch${d};`
  ).join("\n  ");
  return /* wgsl */ `
${
    bindings.map(([name, type], i) =>
      `@group(0) @binding(${i}) var<storage, read> ${name}: array<${type}>;`
    ).join("\n")
  }
@group(0) @binding(${bindings.length}) var<storage, read_write> y: array<f32>;
${DENSE_UNIFORMS.struct}
@group(0) @binding(${bindings.length + 1}) var<uniform> params: Params;

// Element offsets of the A and B matrices of one batch index.
fn batch_offsets(batch: u32) -> vec2<u32> {
  var off = vec2<u32>(0u);
  var rest = batch;
  ${batchDecode}
  return off;
}

struct MmDepth { k: u32 }
fn mm_depth(k: u32) -> MmDepth { return MmDepth(k); }
fn mm_depth_next(d: MmDepth) -> MmDepth { return MmDepth(d.k + 1u); }
${denseAHooks(forms.a)}
${denseBHooks(forms.b)}

fn mm_store(batch: u32, row: u32, col: u32, v: vec4<f32>) {
  let out = (batch * params.mm_rows + row) * params.mm_cols;
  for (var i = 0u; i < 4u; i++) {
    let j = col + i;
    if (j < params.mm_cols) {
      var o = params.alpha * v[i];
      ${hasC ? "o += params.beta * c[row * params.c_stride_m + j * params.c_stride_n];" : ""}
      y[out + j] = o;
    }
  }
}`;
}

/**
 * The GPU program of a dense product (Gemm, MatMul): inputs 0 and 1 are A and B, input 2 is
 * C when `d.c` is set, output 0 is Y. `registers` selects the register kernel (CPU-like
 * adapters) with the vector loads of `denseForms`, else the workgroup kernel. Compiled
 * variants: tile, load forms (register kernel) or staging orders (workgroup kernel), and
 * whether there is a C.
 */
export function denseMatmulProgram(
  d: DenseMatmul,
  limits: GPUSupportedLimits,
  registers: boolean,
): GpuProgram {
  if (d.batch.length > MAX_BATCH_DIMS) {
    throw new Error(
      `Dense matmul has ${d.batch.length} non-mergeable batch dims; at most ${MAX_BATCH_DIMS}`,
    );
  }
  const forms: DenseForms = registers ? denseForms(d) : { a: "quad", b: "quad" };
  const tile = matmulTileFor(
    { rows: d.m, cols: d.n, batches: d.batches },
    registers,
    forms.a,
    forms.b === "k4" ? "k4" : "quad",
  );
  const aOrder = d.transA ? "quad" : "k";
  const bOrder = d.transB ? "k" : "quad";
  const hasC = d.c !== undefined;
  const { uniforms, workgroups } = matmulDispatch(
    tile,
    d.m,
    d.n,
    d.k,
    d.batches,
    limits.maxComputeWorkgroupsPerDimension,
  );
  const dims = [
    ...Array(MAX_BATCH_DIMS - d.batch.length).fill({ size: 1, strideA: 0, strideB: 0 }),
    ...d.batch,
  ];
  const batchValues: Record<string, number> = {};
  dims.forEach((dim: BatchDim, i) => {
    batchValues[`batch${i}`] = dim.size;
    batchValues[`batch${i}_a`] = dim.strideA;
    batchValues[`batch${i}_b`] = dim.strideB;
  });
  const bindings: GpuBindingSource[] = [
    { kind: "input", index: 0 },
    { kind: "input", index: 1 },
    ...(hasC ? [{ kind: "input", index: 2 } as const] : []),
    { kind: "output", index: 0 },
  ];
  const s = denseStrides(d);
  const variant = registers ? `a-${forms.a}_b-${forms.b}` : `a${aOrder}_b${bOrder}`;
  return {
    key: `dense_mm_f32_${tile.name}_${variant}_c${Number(hasC)}`,
    wgsl: () => tiledMatmulWgsl({ tile, aOrder, bOrder, decls: denseDecls(hasC, forms) }),
    bindings,
    uniforms: DENSE_UNIFORMS.pack({
      ...uniforms,
      a_stride_m: s.aM,
      a_stride_k: s.aK,
      b_stride_k: s.bK,
      b_stride_n: s.bN,
      c_stride_m: d.c?.strideM ?? 0,
      c_stride_n: d.c?.strideN ?? 0,
      alpha: d.alpha,
      beta: d.beta,
      ...batchValues,
    }),
    workgroups,
  };
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = gemmGeometry(ctx.node, ctx.inputs);
  return {
    programs: [
      denseMatmulProgram({ ...g, batch: [], batches: 1 }, ctx.limits, ctx.isFallbackAdapter),
    ],
  };
}

/** Gemm on f32 matrices. */
export const gemm: OpDef = { op: "Gemm", inferTypes, reference, cpu, gpu };
