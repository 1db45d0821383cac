/**
 * QLinearConvNhwc: the int8 convolution the GPU runs, made by lowerInt8 from QLinearConv
 * (src/graph/passes/lower_int8.ts); activations in the NHWC4 layout (nhwc4.ts), weights
 * repacked and zero points folded at conversion time, and optionally a QLinearAdd fused into
 * the epilogue as a residual lookup table.
 *
 * Inputs (absent optional ones are `""`):
 * - 0 `X` u8/i8 NHWC4 [N, H, W, Cp];
 * - 1 `W` i8: dense [Mp, kh, kw, Cp] (OHWI, grouped convs expanded block-diagonally), or
 *   depthwise [kh, kw, Cp] (one filter per channel);
 * - 2 `B` i32 [Mp], 3 `S` f32 [Mp]: per output channel constant and requantization multiplier;
 * - 4 `Z` i32 [Mp] (optional): weight zero points, when any is nonzero;
 * - 5 `R` NHWC4 [N, OH, OW, Mp] and 6 `T` u8 [65536] (optional, together): residual and table.
 * Attributes: `kernel_shape`, `strides`, `dilations`, `pads` [top, left, bottom, right]
 * (explicit), `x_pad` (the input zero point, read by taps outside the image), `y_zero_point`,
 * and with R `residual` ("first": `T[(r << 8) | y]`, "second": `T[(y << 8) | r]`, bytes).
 *
 * Semantics, with x' the input as i8 (u8 bytes minus 128, i8 bytes as they are) and the sums
 * over every tap and (dense) every packed input channel:
 *   acc[m] = B[m] + sum x' * W[m] - Z[m] * sum x'        (int32, wrapping)
 *   y[m]   = requantize(acc[m], S[m], y_zero_point)       (quant_math.ts)
 * lowerInt8 chooses B so that acc equals QLinearConv's exact accumulator (see there).
 *
 * CPU: `reference` (plain loops over the definition) and `cpu` (WebAssembly SIMD,
 * src/wasm/wasm_qconv.ts: dense convs as an int16-pair matrix product, depthwise ones as
 * 8-channel extended multiplies per tap; depthwise convs with weight zero points, and engines
 * without SIMD, in TypeScript with the input converted to i8 once).
 *
 * GPU: qlinear_conv_nhwc_gpu.ts (a register GEMM on CPU-like adapters, a direct kernel
 * elsewhere).
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { intAttr, intsAttr, nodeLabel, requireOutputs, stringAttr } from "./attributes.ts";
import { checkNhwc4, type Nhwc4ConvShape } from "./nhwc4.ts";
import type { OpDef } from "./op.ts";
import { qconvNhwcGpuPlan } from "./qlinear_conv_nhwc_gpu.ts";
import { quantRange, requantize, wrapInt32 } from "./quant_math.ts";
import { type QConvTensors, sharedWasmQConv } from "../wasm/wasm_qconv.ts";

const X = 0, W = 1, B = 2, S = 3, Z = 4, R = 5, T = 6;

/** Residual roles: none, or which byte of the table index the residual is. */
export type ResidualRole = "none" | "first" | "second";

/** A QLinearConvNhwc node's validated geometry. */
export interface NhwcConvGeometry extends Nhwc4ConvShape {
  depthwise: boolean;
  dtype: "u8" | "i8";
  yZero: number;
  zeroPoints: boolean;
  residual: ResidualRole;
}

function pair(node: Node, name: string, fallback: number[], min: number): [number, number] {
  const v = intsAttr(node, name, fallback);
  if (v.length !== 2 || v.some((e) => e < min)) {
    throw new Error(`${nodeLabel(node)}: ${name} must be 2 integers >= ${min}, got [${v}]`);
  }
  return [v[0], v[1]];
}

function checkVector(
  node: Node,
  t: TensorType | undefined,
  dtype: string,
  n: number,
  what: string,
) {
  if (!t || t.dtype !== dtype || t.shape.length !== 1 || t.shape[0] !== n) {
    throw new Error(
      `${nodeLabel(node)}: ${what} must be ${dtype} [${n}], got ${
        t ? `${t.dtype} [${t.shape}]` : "nothing"
      }`,
    );
  }
}

/** Validates a QLinearConvNhwc node against its input types. */
export function nhwcConvGeometry(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
): NhwcConvGeometry {
  requireOutputs(node, 1);
  const label = nodeLabel(node);
  if (inputs.length < 4 || inputs.length > 7) {
    throw new Error(`${label}: needs 4 to 7 inputs, got ${inputs.length}`);
  }
  const { n, h, w, cp, dtype } = checkNhwc4(node, inputs[X], "X");
  const wt = inputs[W];
  const depthwise = wt?.shape.length === 3;
  if (!wt || wt.dtype !== "i8" || (wt.shape.length !== 4 && !depthwise) || wt.shape.at(-1) !== cp) {
    throw new Error(
      `${label}: W must be i8 [Mp, kh, kw, ${cp}] or [kh, kw, ${cp}], got ` +
        (wt ? `${wt.dtype} [${wt.shape}]` : "nothing"),
    );
  }
  const [kh, kw] = depthwise ? wt.shape : wt.shape.slice(1);
  const mp = depthwise ? cp : wt.shape[0];
  if (mp % 4 !== 0) throw new Error(`${label}: W has ${mp} output channels, not a multiple of 4`);
  const kernel = pair(node, "kernel_shape", [kh, kw], 1);
  if (kernel[0] !== kh || kernel[1] !== kw) {
    throw new Error(`${label}: kernel_shape [${kernel}] does not match W [${wt.shape}]`);
  }
  const [strideH, strideW] = pair(node, "strides", [1, 1], 1);
  const [dilH, dilW] = pair(node, "dilations", [1, 1], 1);
  const pads = intsAttr(node, "pads", [0, 0, 0, 0]);
  if (pads.length !== 4 || pads.some((p) => p < 0)) {
    throw new Error(`${label}: pads must be 4 integers >= 0, got [${pads}]`);
  }
  const oh = Math.floor((h + pads[0] + pads[2] - ((kh - 1) * dilH + 1)) / strideH) + 1;
  const ow = Math.floor((w + pads[1] + pads[3] - ((kw - 1) * dilW + 1)) / strideW) + 1;
  if (oh < 1 || ow < 1) throw new Error(`${label}: the kernel exceeds the padded ${h}x${w} input`);
  checkVector(node, inputs[B], "i32", mp, "B");
  checkVector(node, inputs[S], "f32", mp, "S");
  if (inputs[Z]) checkVector(node, inputs[Z], "i32", mp, "Z");
  const [qmin, qmax] = quantRange(dtype);
  const xPad = intAttr(node, "x_pad");
  const yZero = intAttr(node, "y_zero_point");
  for (const [v, what] of [[xPad, "x_pad"], [yZero, "y_zero_point"]] as const) {
    if (v < qmin || v > qmax) throw new Error(`${label}: ${what} ${v} is not a ${dtype}`);
  }
  let residual: ResidualRole = "none";
  if (inputs[R] || inputs[T]) {
    residual = stringAttr(node, "residual", ["first", "second"] as const);
    const r = checkNhwc4(node, inputs[R], "R");
    if (r.n !== n || r.h !== oh || r.w !== ow || r.cp !== mp || r.dtype !== dtype) {
      throw new Error(`${label}: R must be ${dtype} [${n}, ${oh}, ${ow}, ${mp}]`);
    }
    checkVector(node, inputs[T], "u8", 65536, "T");
  }
  return {
    n,
    h,
    w,
    cp,
    oh,
    ow,
    mp,
    kh,
    kw,
    strideH,
    strideW,
    dilH,
    dilW,
    padT: pads[0],
    padL: pads[1],
    depthwise,
    dtype,
    xPad,
    yZero,
    zeroPoints: Boolean(inputs[Z]),
    residual,
  };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = nhwcConvGeometry(node, inputs);
  return [{ dtype: g.dtype, shape: [g.n, g.oh, g.ow, g.mp] }];
}

/** The i8 view x' of a raw activation value. */
function asI8(v: number, dtype: "u8" | "i8"): number {
  return dtype === "u8" ? v - 128 : v;
}

/** The output byte for residual value `r` and conv value `y` through table `t`. */
export function residualLookup(t: Tensor, role: ResidualRole, y: number, r: number): number {
  const index = role === "first" ? ((r & 0xff) << 8) | (y & 0xff) : ((y & 0xff) << 8) | (r & 0xff);
  return t.data[index];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = nhwcConvGeometry(node, inputs);
  const x = inputs[X]!.data, w = inputs[W]!.data;
  const bias = inputs[B]!.data, scale = inputs[S]!.data, zps = inputs[Z]?.data;
  const [qmin, qmax] = quantRange(g.dtype);
  const y = makeTensor(g.dtype, [g.n, g.oh, g.ow, g.mp]);
  const pad = asI8(g.xPad, g.dtype);
  const channels = g.depthwise ? 1 : g.cp;
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        const pixel = (n * g.oh + oy) * g.ow + ox;
        for (let m = 0; m < g.mp; m++) {
          let dot = 0, sum = 0;
          for (let ky = 0; ky < g.kh; ky++) {
            const iy = oy * g.strideH - g.padT + ky * g.dilH;
            for (let kx = 0; kx < g.kw; kx++) {
              const ix = ox * g.strideW - g.padL + kx * g.dilW;
              const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              for (let k = 0; k < channels; k++) {
                const c = g.depthwise ? m : k;
                const xv = inside ? asI8(x[((n * g.h + iy) * g.w + ix) * g.cp + c], g.dtype) : pad;
                const wv = g.depthwise
                  ? w[(ky * g.kw + kx) * g.cp + c]
                  : w[((m * g.kh + ky) * g.kw + kx) * g.cp + c];
                dot += xv * wv;
                sum += xv;
              }
            }
          }
          const acc = wrapInt32(bias[m] + dot - (zps ? zps[m] * sum : 0));
          const q = requantize(acc, scale[m], g.yZero, qmin, qmax);
          y.data[pixel * g.mp + m] = g.residual === "none"
            ? q
            : residualLookup(inputs[T]!, g.residual, q, inputs[R]!.data[pixel * g.mp + m]);
        }
      }
    }
  }
  return [y];
}

/**
 * The typed arrays of a QLinearConvNhwc node's inputs, by role, for src/wasm/wasm_qconv.ts.
 *
 * @example
 * ```ts
 * sharedWasmQConv()?.conv(nhwcConvGeometry(node, inputs), qconvTensors(inputs), y);
 * ```
 */
export function qconvTensors(inputs: readonly (Tensor | undefined)[]): QConvTensors {
  return {
    x: inputs[X]!.data as Uint8Array | Int8Array,
    w: inputs[W]!.data as Int8Array,
    bias: inputs[B]!.data as Int32Array,
    scale: inputs[S]!.data as Float32Array,
    zeroPoints: inputs[Z]?.data as Int32Array | undefined,
    residual: inputs[R] && {
      r: inputs[R].data as Uint8Array | Int8Array,
      table: inputs[T]!.data as Uint8Array,
    },
  };
}

/**
 * Fast CPU kernel: the WebAssembly SIMD kernels (wasm_qconv.ts) where the engine has them and
 * the conv is dense or depthwise without weight zero points, else `qconvNhwcTypeScript`.
 */
function cpu(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = nhwcConvGeometry(node, inputs);
  const wasm = g.depthwise && g.zeroPoints ? null : sharedWasmQConv();
  if (wasm) {
    const y = makeTensor(g.dtype, [g.n, g.oh, g.ow, g.mp]);
    wasm.conv(g, qconvTensors(inputs), y.data as Uint8Array | Int8Array);
    return [y];
  }
  return qconvNhwcTypeScript(g, inputs);
}

/**
 * The CPU kernel in TypeScript (depthwise convs, and engines without WebAssembly SIMD): the
 * input converted to i8 once (padding taps read the pad value from a zero-point row), then
 * per output pixel and tap one contiguous dot product over the packed channels for every
 * output channel (dense) or one multiply per channel (depthwise).
 *
 * @example
 * ```ts
 * const [y] = qconvNhwcTypeScript(nhwcConvGeometry(node, inputs), inputs);
 * ```
 */
export function qconvNhwcTypeScript(
  g: NhwcConvGeometry,
  inputs: (Tensor | undefined)[],
): Tensor[] {
  const raw = inputs[X]!.data;
  const x = new Int8Array(raw.length);
  const offset = g.dtype === "u8" ? 128 : 0;
  for (let i = 0; i < raw.length; i++) x[i] = raw[i] - offset;
  const padRow = new Int8Array(g.cp).fill(asI8(g.xPad, g.dtype));
  const w = inputs[W]!.data as Int8Array;
  const bias = inputs[B]!.data, scale = inputs[S]!.data, zps = inputs[Z]?.data;
  const [qmin, qmax] = quantRange(g.dtype);
  const y = makeTensor(g.dtype, [g.n, g.oh, g.ow, g.mp]);
  const dot = new Int32Array(g.mp);
  const sum = new Int32Array(g.depthwise ? g.mp : 1);
  const taps = g.kh * g.kw;
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        dot.fill(0);
        sum.fill(0);
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.strideH - g.padT + ky * g.dilH;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.strideW - g.padL + kx * g.dilW;
            const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
            const src = inside ? x : padRow;
            const base = inside ? ((n * g.h + iy) * g.w + ix) * g.cp : 0;
            const tap = ky * g.kw + kx;
            if (g.depthwise) {
              for (let c = 0; c < g.cp; c++) {
                const xv = src[base + c];
                dot[c] += xv * w[tap * g.cp + c];
                sum[c] += xv;
              }
              continue;
            }
            let rowSum = 0;
            for (let c = 0; c < g.cp; c++) rowSum += src[base + c];
            sum[0] += rowSum;
            for (let m = 0; m < g.mp; m++) {
              const wBase = (m * taps + tap) * g.cp;
              let acc = 0;
              for (let c = 0; c < g.cp; c++) acc += src[base + c] * w[wBase + c];
              dot[m] += acc;
            }
          }
        }
        const pixel = (n * g.oh + oy) * g.ow + ox;
        for (let m = 0; m < g.mp; m++) {
          const xsum = sum[g.depthwise ? m : 0];
          const acc = wrapInt32(bias[m] + dot[m] - (zps ? zps[m] * xsum : 0));
          const q = requantize(acc, scale[m], g.yZero, qmin, qmax);
          y.data[pixel * g.mp + m] = g.residual === "none"
            ? q
            : residualLookup(inputs[T]!, g.residual, q, inputs[R]!.data[pixel * g.mp + m]);
        }
      }
    }
  }
  return [y];
}

/** QLinearConvNhwc: the lowered int8 convolution on NHWC4 tensors. */
export const qlinearConvNhwc: OpDef = {
  op: "QLinearConvNhwc",
  inferTypes,
  reference,
  cpu,
  gpu: (ctx) => qconvNhwcGpuPlan(nhwcConvGeometry(ctx.node, ctx.inputs), ctx),
};
