/**
 * QGemmPacked: the int8 matrix product the GPU runs, made by lowerInt8 from QLinearMatMul and
 * QGemm (qgemm_pack.ts packs the weights): `A [M, K]` (u8/i8, row-major) times packed i8
 * weights `W [N, Kp]` (one row per output column, K padded to a multiple of 4 with the
 * weight zero point), zero points folded as in qlinear_conv_pack.ts.
 *
 * Inputs: `A`, `W` i8 [N, Kp], `B` i32 [N], `S` f32 [N], `Z` i32 [N] (optional, "" when all
 * weight zero points are 0). Attributes: `a_pad` (A's zero point, the value of the K padding),
 * and `y_zero_point` for a quantized output of A's dtype; without it the output is f32.
 *
 * Semantics, with x' = A as i8 (u8 bytes minus 128) padded to Kp with `a_pad`:
 *   acc[m, n] = B[n] + sum_k x'[m, k] W[n, k] - Z[n] sum_k x'[m, k]     (int32, wrapping)
 *   y[m, n]   = requantize(acc, S[n], y_zero_point)   or   f32(acc) * S[n]
 *
 * GPU: one invocation per output element (per four for 8-bit outputs), `dot4I8Packed` over
 * the K words. Compiled in: A dtype, output kind, aligned rows (K % 4 == 0), zero points,
 * workgroup size.
 *
 * @module
 */

import { type DType, makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
  storeFor,
  valueType,
} from "../shaders/elementwise.ts";
import { i8Offset } from "../shaders/int8_pack.ts";
import { I32_TO_F32_WGSL, REQUANTIZE_WGSL } from "../shaders/requantize.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { intAttr, nodeLabel, requireOutputs } from "./attributes.ts";
import type { GpuBindingSource, GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import type { NhwcConvGeometry } from "./qlinear_conv_nhwc.ts";
import { f32, int32ToF32, quantRange, requantize, wrapInt32 } from "./quant_math.ts";
import { sharedWasmQConv } from "../wasm/wasm_qconv.ts";

const A = 0, W = 1, B = 2, S = 3, Z = 4;

function vector(node: Node, t: TensorType | undefined, dtype: string, n: number, what: string) {
  if (!t || t.dtype !== dtype || t.shape.length !== 1 || t.shape[0] !== n) {
    throw new Error(`${nodeLabel(node)}: ${what} must be ${dtype} [${n}]`);
  }
}

function geometry(node: Node, inputs: readonly (TensorType | undefined)[]) {
  requireOutputs(node, 1);
  const label = nodeLabel(node);
  if (inputs.length < 4 || inputs.length > 5) throw new Error(`${label}: needs 4 or 5 inputs`);
  const a = inputs[A], w = inputs[W];
  if (!a || (a.dtype !== "u8" && a.dtype !== "i8") || a.shape.length !== 2) {
    throw new Error(`${label}: A must be a u8/i8 matrix`);
  }
  const [m, k] = a.shape;
  if (!w || w.dtype !== "i8" || w.shape.length !== 2 || w.shape[1] !== Math.ceil(k / 4) * 4) {
    throw new Error(`${label}: W must be i8 [N, ${Math.ceil(k / 4) * 4}]`);
  }
  const n = w.shape[0];
  vector(node, inputs[B], "i32", n, "B");
  vector(node, inputs[S], "f32", n, "S");
  if (inputs[Z]) vector(node, inputs[Z], "i32", n, "Z");
  const quantized = node.attrs.y_zero_point !== undefined;
  const [qmin, qmax] = quantRange(a.dtype);
  const yZero = quantized ? intAttr(node, "y_zero_point") : 0;
  if (yZero < qmin || yZero > qmax) {
    throw new Error(`${label}: y_zero_point ${yZero} is not a ${a.dtype}`);
  }
  const aPad = intAttr(node, "a_pad");
  if (aPad < qmin || aPad > qmax) throw new Error(`${label}: a_pad ${aPad} is not a ${a.dtype}`);
  const out: DType = quantized ? a.dtype : "f32";
  return {
    m,
    k,
    n,
    kp: w.shape[1],
    dtype: a.dtype,
    out,
    yZero,
    aPad,
    zeroPoints: Boolean(inputs[Z]),
  };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = geometry(node, inputs);
  return [{ dtype: g.out, shape: [g.m, g.n] }];
}

type Geometry = ReturnType<typeof geometry>;

/**
 * Writes the dot products of row i of x' (A as i8, padded with `a_pad`) with every weight row
 * into `dots` and returns the row's sum of x'.
 */
type RowProducts = (
  g: Geometry,
  inputs: (Tensor | undefined)[],
  i: number,
  dots: Int32Array,
) => number;

/** QGemmPacked's output from the row products `products` gives (the semantics above). */
function qgemmPackedOutput(
  node: Node,
  inputs: (Tensor | undefined)[],
  products: RowProducts,
): Tensor[] {
  const g = geometry(node, inputs);
  const bias = inputs[B]!.data, scale = inputs[S]!.data, zps = inputs[Z]?.data;
  const y = makeTensor(g.out, [g.m, g.n]);
  const [qmin, qmax] = g.out === "f32" ? [0, 0] : quantRange(g.out);
  const dots = new Int32Array(g.n);
  for (let i = 0; i < g.m; i++) {
    const sum = products(g, inputs, i, dots);
    for (let j = 0; j < g.n; j++) {
      const acc = wrapInt32(bias[j] + dots[j] - (zps ? zps[j] * sum : 0));
      y.data[i * g.n + j] = g.out === "f32"
        ? f32(int32ToF32(acc) * scale[j])
        : requantize(acc, scale[j], g.yZero, qmin, qmax);
    }
  }
  return [y];
}

/** x'[i, p]: A's value as i8, or the padding value past K. */
function xAt(g: Geometry, a: Tensor["data"], i: number, p: number): number {
  return (p < g.k ? a[i * g.k + p] : g.aPad) - (g.dtype === "u8" ? 128 : 0);
}

/** Plain loops over the definition. */
function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  return qgemmPackedOutput(node, inputs, (g, inputs, i, dots) => {
    const a = inputs[A]!.data, w = inputs[W]!.data;
    let sum = 0;
    for (let p = 0; p < g.kp; p++) sum += xAt(g, a, i, p);
    for (let j = 0; j < g.n; j++) {
      let dot = 0;
      for (let p = 0; p < g.kp; p++) dot += xAt(g, a, i, p) * w[j * g.kp + p];
      dots[j] = dot;
    }
    return sum;
  });
}

/**
 * The product as a 1x1 QLinearConvNhwc over M one-pixel images (A's rows, K channels) on the
 * WebAssembly SIMD kernel (src/wasm/wasm_qconv.ts): same semantics when the output is
 * quantized and K and N are multiples of 4 (A's rows are then NHWC4 pixels, the output rows
 * NHWC4 too). Null where those do not hold or the engine has no SIMD.
 */
function viaQConv(g: Geometry, inputs: (Tensor | undefined)[]): Tensor | null {
  if (g.out === "f32" || g.k % 4 !== 0 || g.n % 4 !== 0) return null;
  const wasm = sharedWasmQConv();
  if (!wasm) return null;
  const conv: NhwcConvGeometry = {
    n: g.m,
    h: 1,
    w: 1,
    cp: g.k,
    oh: 1,
    ow: 1,
    mp: g.n,
    kh: 1,
    kw: 1,
    strideH: 1,
    strideW: 1,
    dilH: 1,
    dilW: 1,
    padT: 0,
    padL: 0,
    xPad: g.aPad,
    depthwise: false,
    dtype: g.dtype,
    yZero: g.yZero,
    zeroPoints: g.zeroPoints,
    residual: "none",
  };
  const y = makeTensor(g.out, [g.m, g.n]);
  wasm.conv(conv, {
    x: inputs[A]!.data as Uint8Array | Int8Array,
    w: inputs[W]!.data as Int8Array,
    bias: inputs[B]!.data as Int32Array,
    scale: inputs[S]!.data as Float32Array,
    zeroPoints: inputs[Z]?.data as Int32Array | undefined,
  }, y.data as Uint8Array | Int8Array);
  return y;
}

/**
 * Fast CPU kernel: `viaQConv` where it applies (ResNet-50 int8's classifier, 2048 -> 1000:
 * 7.3 -> 0.4 ms in `bench:profile --backend cpu`); else each row of A converted to x' once
 * (K padding included) with its
 * sum, then one contiguous dot product per output column over the packed weights.
 */
function cpu(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const fast = viaQConv(geometry(node, inputs), inputs);
  if (fast) return [fast];
  let row: Int32Array | undefined;
  return qgemmPackedOutput(node, inputs, (g, inputs, i, dots) => {
    const a = inputs[A]!.data, w = inputs[W]!.data;
    row ??= new Int32Array(g.kp);
    let sum = 0;
    for (let p = 0; p < g.kp; p++) sum += row[p] = xAt(g, a, i, p);
    for (let j = 0; j < g.n; j++) {
      let dot = 0;
      for (let p = 0, q = j * g.kp; p < g.kp; p++, q++) dot += row[p] * w[q];
      dots[j] = dot;
    }
    return sum;
  });
}

const PARAMS = uniformLayout("Params", {
  length: "u32",
  n: "u32",
  k: "u32",
  kw: "u32",
  a_pad: "u32",
  y_zero: "i32",
});

interface Variant {
  dtype: "u8" | "i8";
  out: DType;
  aligned: boolean;
  zeroPoints: boolean;
}

function wgsl(v: Variant): string {
  const { mask } = i8Offset(v.dtype);
  const store = storeFor(v.out);
  const z = v.zeroPoints;
  const load = v.aligned ? "a[(row * params.k) / 4u + k4]" : "a_word(row, k4)";
  const finish = v.out === "f32"
    ? "return i32_to_f32(acc) * scale[col];"
    : `return requantize(acc, scale[col], params.y_zero, ${quantRange(v.dtype).join(", ")});`;
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> bias: array<i32>;
@group(0) @binding(3) var<storage, read> scale: array<f32>;
${z ? "@group(0) @binding(4) var<storage, read> zps: array<i32>;" : ""}
${PARAMS.struct}
@group(0) @binding(${z ? 6 : 5}) var<uniform> params: Params;
${I32_TO_F32_WGSL}
${REQUANTIZE_WGSL}

fn a_word(row: u32, k4: u32) -> u32 {
  var word = 0u;
  for (var j = 0u; j < 4u; j++) {
    let k = k4 * 4u + j;
    var byte = params.a_pad;
    if (k < params.k) {
      let i = row * params.k + k;
      byte = (a[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
    }
    word |= byte << (8u * j);
  }
  return word;
}

fn value_at(i: u32) -> ${valueType(store)} {
  let row = i / params.n;
  let col = i % params.n;
  var acc = bias[col];
  var sum = 0;
  for (var k4 = 0u; k4 < params.kw; k4++) {
    let x = ${load} ^ ${mask};
    acc += dot4I8Packed(x, w[col * params.kw + k4]);
    ${z ? "sum += dot4I8Packed(x, 0x01010101u);" : ""}
  }
  ${z ? "acc -= zps[col] * sum;" : ""}
  ${finish}
}
${elementwiseMain(store, z ? 5 : 4)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = geometry(ctx.node, ctx.inputs);
  const v: Variant = {
    dtype: g.dtype,
    out: g.out,
    aligned: g.k % 4 === 0,
    zeroPoints: g.zeroPoints,
  };
  const length = g.m * g.n;
  const bindings: GpuBindingSource[] = [A, W, B, S].map((index) => ({ kind: "input", index }));
  if (g.zeroPoints) bindings.push({ kind: "input", index: Z });
  bindings.push({ kind: "output", index: 0 });
  return {
    programs: [{
      key:
        `qgemm_packed_${v.dtype}_${v.out}_aligned${Number(v.aligned)}_zp${Number(v.zeroPoints)}` +
        `_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl: () => wgsl(v),
      bindings,
      uniforms: PARAMS.pack({
        length,
        n: g.n,
        k: g.k,
        kw: g.kp / 4,
        a_pad: g.aPad & 0xff,
        y_zero: g.yZero,
      }),
      workgroups: elementwiseWorkgroups(storeFor(g.out), length, ctx.limits),
    }],
  };
}

/** QGemmPacked: the lowered int8 matrix product (quantized or f32 output). */
export const qgemmPacked: OpDef = { op: "QGemmPacked", inferTypes, reference, cpu, gpu };
