/**
 * TflConv: TFLite's int8 CONV_2D and DEPTHWISE_CONV_2D (per-channel int8 weights, int32 bias)
 * on NHWC4 activations (nhwc4.ts), made by the TFLite importer (src/tflite/int8_rules.ts).
 *
 * Inputs:
 * - 0 `X` i8 NHWC4 [N, H, W, Cp];
 * - 1 `W` i8, dense [Mp, kh, kw, Cp] (OHWI, zero in padding channels) or depthwise
 *   [kh, kw, Cp] (one filter per channel, Mp = Cp);
 * - 2 `B` i32 [Mp]: the bias with the input zero point folded in (below);
 * - 3 `R`: the requantization of each output channel (tfl_requant.ts).
 * Attributes: `kernel_shape`, `strides`, `dilations`, `pads` [top, left, bottom, right]
 * (explicit), `x_pad` (the value taps outside the image read: the input zero point),
 * `y_zero_point`, `act_min`, `act_max`.
 *
 * Semantics, summing over every tap and (dense) every packed input channel:
 *   acc[m] = B[m] + sum x * W[m]        (int32; x = x_pad outside the image)
 *   y[m]   = requant(acc[m])            (tfl_requant.ts, clamped to [act_min, act_max])
 * TFLite computes `bias + sum (x - z_x) * W` over the in-image taps; the importer stores
 * `B = bias - z_x * sum W` (all taps), so that both agree exactly: out-of-image taps read z_x
 * and add nothing.
 *
 * CPU: `cpu` takes the int32 sums from the WebAssembly int8 conv (src/wasm/wasm_qconv.ts), then
 * requantizes; `cpuTypeScript` gathers each output pixel's window once and takes contiguous dot
 * products.
 * GPU: on CPU-like adapters, dense convs run as the register GEMM of int8_conv_gemm.ts; else
 * one invocation per output word (4 channels of one output pixel): dense convs take
 * `dot4I8Packed` of each input word with the 4 filters' words, depthwise convs multiply
 * unpacked lanes. Compiled in: kernel (and tile), dense/depthwise, requantization mode.
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { intAttr, nodeLabel, requireOutputs } from "./attributes.ts";
import { convWindowOf } from "./conv_window.ts";
import { INT8_CONV_GEMM_UNIFORMS, int8ConvGemm, type Int8WeightBinding } from "./int8_conv_gemm.ts";
import {
  checkNhwc4,
  NHWC4_CONV_UNIFORMS,
  type Nhwc4ConvShape,
  nhwc4ConvUniforms,
} from "./nhwc4.ts";
import type { GpuBindingSource, GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { poolWindow } from "./pool_window.ts";
import { wrapInt32 } from "./quant_math.ts";
import { sharedWasmQConv } from "../wasm/wasm_qconv.ts";
import { INT8_MAX, INT8_MIN } from "./tfl_math.ts";
import {
  type Requant,
  REQUANT_UNIFORMS,
  requantOf,
  requantUniforms,
  requantValue,
  requantWgsl,
} from "./tfl_requant.ts";

const X = 0, W = 1, B = 2, R = 3;

/** A TflConv node's validated geometry and epilogue. */
export interface TflConvGeometry extends Nhwc4ConvShape {
  depthwise: boolean;
  requant: Requant;
}

/** Validates a TflConv node against its input types; returns its geometry and epilogue. */
export function tflGeometry(
  node: Node,
  inputs: readonly (TensorType | undefined)[],
): TflConvGeometry {
  requireOutputs(node, 1);
  if (inputs.length !== 4) {
    throw new Error(`${nodeLabel(node)}: needs 4 inputs, got ${inputs.length}`);
  }
  const x = checkNhwc4(node, inputs[X], "X");
  if (x.dtype !== "i8") throw new Error(`${nodeLabel(node)}: X must be i8, got ${x.dtype}`);
  const w = inputs[W], b = inputs[B];
  const [wh, ww] = poolWindow(node, [x.h, x.w], { dilations: true });
  const depthwise = w?.shape.length === 3;
  const want = depthwise ? [wh.kernel, ww.kernel, x.cp] : [w?.shape[0], wh.kernel, ww.kernel, x.cp];
  const fits = w?.dtype === "i8" && w.shape.length === want.length &&
    w.shape.every((d, i) => d === want[i]) &&
    (depthwise || (w.shape[0] > 0 && w.shape[0] % 4 === 0));
  if (!fits) {
    throw new Error(
      `${nodeLabel(node)}: W must be i8 [Mp, ${wh.kernel}, ${ww.kernel}, ${x.cp}] (Mp a multiple ` +
        `of 4) or depthwise [${wh.kernel}, ${ww.kernel}, ${x.cp}], got ` +
        (w ? `${w.dtype} [${w.shape}]` : "nothing"),
    );
  }
  const mp = depthwise ? x.cp : w!.shape[0];
  if (b?.dtype !== "i32" || b.shape.length !== 1 || b.shape[0] !== mp) {
    throw new Error(
      `${nodeLabel(node)}: B must be i32 [${mp}], got ${b ? `${b.dtype} [${b.shape}]` : "nothing"}`,
    );
  }
  const xPad = intAttr(node, "x_pad");
  if (xPad < INT8_MIN || xPad > INT8_MAX) {
    throw new Error(`${nodeLabel(node)}: x_pad ${xPad} is not an int8`);
  }
  return {
    n: x.n,
    h: x.h,
    w: x.w,
    cp: x.cp,
    oh: wh.out,
    ow: ww.out,
    mp,
    ...convWindowOf([wh, ww]),
    depthwise,
    xPad,
    requant: requantOf(node, inputs[R], mp),
  };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = tflGeometry(node, inputs);
  return [{ dtype: "i8", shape: [g.n, g.oh, g.ow, g.mp] }];
}

/** Plain loops over output pixels, channels, taps and input channels. */
function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = tflGeometry(node, inputs);
  const x = inputs[X]!.data, w = inputs[W]!.data, bias = inputs[B]!.data, r = inputs[R]!.data;
  const y = makeTensor("i8", [g.n, g.oh, g.ow, g.mp]);
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        for (let m = 0; m < g.mp; m++) {
          let acc = bias[m];
          for (let ky = 0; ky < g.kh; ky++) {
            const iy = oy * g.strideH - g.padT + ky * g.dilH;
            for (let kx = 0; kx < g.kw; kx++) {
              const ix = ox * g.strideW - g.padL + kx * g.dilW;
              const inside = iy >= 0 && iy < g.h && ix >= 0 && ix < g.w;
              const tap = ky * g.kw + kx;
              for (let c = g.depthwise ? m : 0; c < (g.depthwise ? m + 1 : g.cp); c++) {
                const xv = inside ? x[((n * g.h + iy) * g.w + ix) * g.cp + c] : g.xPad;
                const wv = g.depthwise ? w[tap * g.cp + c] : w[(m * g.kh * g.kw + tap) * g.cp + c];
                acc = wrapInt32(acc + xv * wv);
              }
            }
          }
          y.data[((n * g.oh + oy) * g.ow + ox) * g.mp + m] = requantValue(g.requant, r, m, acc);
        }
      }
    }
  }
  return [y];
}

/**
 * Fast CPU kernel: the int32 sums from the WebAssembly SIMD int8 conv (src/wasm/wasm_qconv.ts:
 * the i16-pair product, integer Winograd or the depthwise kernel, all exact), then the bias and
 * TFLite's requantization per output; engines without SIMD take `cpuTypeScript`.
 */
function cpu(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = tflGeometry(node, inputs);
  const wasm = sharedWasmQConv();
  if (!wasm) return cpuTypeScript(g, inputs);
  const bias = inputs[B]!.data, r = inputs[R]!.data;
  const y = makeTensor("i8", [g.n, g.oh, g.ow, g.mp]);
  const sums = new Int32Array(y.data.length);
  wasm.sums(
    { ...g, dtype: "i8" },
    { x: inputs[X]!.data as Int8Array, w: inputs[W]!.data as Int8Array },
    sums,
  );
  for (let i = 0, m = 0; i < sums.length; i++) {
    y.data[i] = requantValue(g.requant, r, m, wrapInt32(sums[i] + bias[m]));
    if (++m === g.mp) m = 0;
  }
  return [y];
}

/**
 * The CPU kernel in TypeScript: per output pixel the window's input values are gathered once
 * (taps outside the image read `x_pad`), then every output channel is one contiguous int8 dot
 * product with its filter row (dense) or one multiply per tap (depthwise). Each sum is an
 * exact JavaScript integer (products are at most 2^14, far from 2^53 in total), wrapped to
 * int32 once at the end: the same value as the reference's wrap per step.
 */
export function cpuTypeScript(g: TflConvGeometry, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[X]!.data, w = inputs[W]!.data, bias = inputs[B]!.data, r = inputs[R]!.data;
  const taps = g.kh * g.kw;
  const window = new Int32Array(taps * g.cp);
  const y = makeTensor("i8", [g.n, g.oh, g.ow, g.mp]);
  let out = 0;
  for (let n = 0; n < g.n; n++) {
    for (let oy = 0; oy < g.oh; oy++) {
      for (let ox = 0; ox < g.ow; ox++) {
        for (let ky = 0; ky < g.kh; ky++) {
          const iy = oy * g.strideH - g.padT + ky * g.dilH;
          for (let kx = 0; kx < g.kw; kx++) {
            const ix = ox * g.strideW - g.padL + kx * g.dilW;
            const at = (ky * g.kw + kx) * g.cp;
            if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) {
              window.fill(g.xPad, at, at + g.cp);
            } else {
              window.set(
                x.subarray(
                  ((n * g.h + iy) * g.w + ix) * g.cp,
                  ((n * g.h + iy) * g.w + ix + 1) * g.cp,
                ),
                at,
              );
            }
          }
        }
        for (let m = 0; m < g.mp; m++) {
          let acc = bias[m];
          if (g.depthwise) {
            for (let t = 0; t < taps; t++) acc += window[t * g.cp + m] * w[t * g.cp + m];
          } else {
            const row = m * taps * g.cp;
            for (let i = 0; i < taps * g.cp; i++) acc += window[i] * w[row + i];
          }
          y.data[out++] = requantValue(g.requant, r, m, wrapInt32(acc));
        }
      }
    }
  }
  return [y];
}

const WORKGROUP_SIZE = 64;

const PARAMS = uniformLayout("Params", {
  words: "u32",
  ...NHWC4_CONV_UNIFORMS,
  ...REQUANT_UNIFORMS,
});

const GEMM_PARAMS = uniformLayout("Params", { ...INT8_CONV_GEMM_UNIFORMS, ...REQUANT_UNIFORMS });

/**
 * Storage bindings of both kernels: x, w (or, given `weights`, the GEMM's weight binding), b
 * at 0-2, the requantization at 3, y at 4.
 */
const bindingsWgsl = (weights?: Int8WeightBinding) => /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
${weights?.decl(1) ?? "@group(0) @binding(1) var<storage, read> w: array<u32>;"}
@group(0) @binding(2) var<storage, read> b: array<i32>;
@group(0) @binding(4) var<storage, read_write> y: array<u32>;`;

/**
 * `struct ConvColumn` (bias and requantization of output word m4's 4 channels),
 * `fn conv_column(m4: u32) -> ConvColumn` and `fn conv_store(pixel: u32, m4: u32,
 * acc: vec4<i32>, c: ConvColumn)`: adds the bias, requantizes and stores output word m4 of
 * `pixel` (4 channels).
 */
function storeWgsl(mode: Requant["mode"]): string {
  return /* wgsl */ `${requantWgsl(mode, 3)}
struct ConvColumn { bias: vec4<i32>, requant: RequantQuad }
fn conv_column(m4: u32) -> ConvColumn {
  let m = 4u * m4;
  return ConvColumn(vec4<i32>(b[m], b[m + 1u], b[m + 2u], b[m + 3u]), requant_quad(m));
}
fn conv_store(pixel: u32, m4: u32, acc: vec4<i32>, c: ConvColumn) {
  var out = 0u;
  for (var j = 0u; j < 4u; j++) {
    let q = requant(acc[j] + c.bias[j], requant_lane(c.requant, j));
    out |= (bitcast<u32>(q) & 0xffu) << (8u * j);
  }
  y[pixel * params.mw + m4] = out;
}`;
}

/** The direct kernel: one invocation per output word. */
function directWgsl(depthwise: boolean, mode: Requant["mode"]): string {
  const accumulate = depthwise
    ? `acc += unpack4xI8(xv) * unpack4xI8(w[tap * params.cw + m4]);`
    : `let f = (m4 * 4u * taps + tap) * params.cw + c4;
        let stride = taps * params.cw;
        acc += vec4<i32>(dot4I8Packed(xv, w[f]), dot4I8Packed(xv, w[f + stride]),
                         dot4I8Packed(xv, w[f + 2u * stride]), dot4I8Packed(xv, w[f + 3u * stride]));`;
  return /* wgsl */ `${bindingsWgsl()}
${PARAMS.struct}
@group(0) @binding(5) var<uniform> params: Params;
${storeWgsl(mode)}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let word = ${FLAT_WORKGROUP_INDEX} * ${WORKGROUP_SIZE}u + lid;
  if (word >= params.words) { return; }
  let m4 = word % params.mw;
  let pixel = word / params.mw;
  let ox = pixel % params.ow;
  let oy = (pixel / params.ow) % params.oh;
  let n = pixel / (params.ow * params.oh);
  let taps = params.kh * params.kw;
  var acc = vec4<i32>();
  for (var ky = 0u; ky < params.kh; ky++) {
    let iy = i32(oy * params.stride_h + ky * params.dil_h) - params.pad_t;
    for (var kx = 0u; kx < params.kw; kx++) {
      let ix = i32(ox * params.stride_w + kx * params.dil_w) - params.pad_l;
      let inside = iy >= 0 && iy < i32(params.h) && ix >= 0 && ix < i32(params.w);
      let base = ((n * params.h + u32(max(iy, 0))) * params.w + u32(max(ix, 0))) * params.cw;
      let tap = ky * params.kw + kx;
      for (var c4 = ${depthwise ? "m4" : "0u"}; c4 < ${depthwise ? "m4 + 1u" : "params.cw"}; c4++) {
        var xv = params.x_pad;
        if (inside) { xv = x[base + c4]; }
        ${accumulate}
      }
    }
  }
  conv_store(pixel, m4, acc, conv_column(m4));
}`;
}

/**
 * The GPU plan: on CPU-like adapters dense convs run as the register GEMM of
 * int8_conv_gemm.ts, the rest on the direct kernel; both end in `conv_store`.
 */
function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = tflGeometry(ctx.node, ctx.inputs);
  const input = (index: number): GpuBindingSource => ({ kind: "input", index });
  const bindings = (w: GpuBindingSource): GpuBindingSource[] => [
    input(X),
    w,
    input(B),
    input(R),
    { kind: "output", index: 0 },
  ];
  const maxPerDimension = ctx.limits.maxComputeWorkgroupsPerDimension;
  if (ctx.isFallbackAdapter && !g.depthwise) {
    const gemm = int8ConvGemm({ ...g, dtype: "i8" }, ctx.limits, input(W));
    const weights = gemm.weights!;
    return {
      programs: [{
        key: `tfl_conv_${gemm.key}_${g.requant.mode}`,
        wgsl: () =>
          gemm.wgsl(`${bindingsWgsl(weights)}
${GEMM_PARAMS.struct}
@group(0) @binding(5) var<uniform> params: Params;
${storeWgsl(g.requant.mode)}`),
        bindings: bindings(weights.source),
        uniforms: GEMM_PARAMS.pack({ ...gemm.uniforms, ...requantUniforms(g.requant) }),
        workgroups: gemm.workgroups,
      }],
      derived: weights.derived && [weights.derived],
    };
  }
  const words = g.n * g.oh * g.ow * (g.mp / 4);
  const key = `tfl_conv_${g.depthwise ? "dw" : "dense"}_${g.requant.mode}_wg${WORKGROUP_SIZE}`;
  return {
    programs: [{
      key,
      wgsl: () => directWgsl(g.depthwise, g.requant.mode),
      bindings: bindings(input(W)),
      uniforms: PARAMS.pack({
        words,
        ...nhwc4ConvUniforms(g),
        ...requantUniforms(g.requant),
      }),
      workgroups: workgroupGrid(Math.ceil(words / WORKGROUP_SIZE), maxPerDimension),
    }],
  };
}

/** TflConv: TFLite int8 CONV_2D / DEPTHWISE_CONV_2D on NHWC4. */
export const tflConv: OpDef = { op: "TflConv", inferTypes, reference, cpu, gpu };
