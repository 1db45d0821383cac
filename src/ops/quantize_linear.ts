/**
 * QuantizeLinear (ONNX opset 13): f32 to u8/i8, per tensor or per axis,
 * `y = saturate(round_half_even(x / scale) + zero_point)` with onnxruntime's arithmetic
 * (MLAS `MlasQuantizeLinear`: f32 division, clamp, round half to even; NaN gives the
 * minimum). Takes its parameters as inputs (ONNX form) or attributes (constant form, with
 * attribute `to` naming the output dtype; see quant_params.ts).
 *
 * GPU (constant form, per-tensor, positive scale): one invocation per four outputs; each
 * output counts the quantization steps at or below x by an 8-step binary search over 256
 * step keys held in the uniforms (quantize_thresholds.ts), so no division happens on the GPU.
 * Compiled in: output dtype, workgroup size.
 *
 * @module
 */

import {
  type DType,
  makeTensor,
  type Node,
  sizeOf,
  type Tensor,
  type TensorType,
} from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { nodeLabel, requireOutputs, stringAttr } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { quantize, quantRange } from "./quant_math.ts";
import { affineValues, channelOf, checkAffineTypes, hasConstantParams } from "./quant_params.ts";
import { quantizeThresholds } from "./quantize_thresholds.ts";
import { sharedWasmQuantize } from "../wasm/wasm_quantize.ts";

/** The output dtype: the zero point's (ONNX form, default u8) or attribute `to`. */
function outputDtype(node: Node, zeroPointType: DType | undefined): "u8" | "i8" {
  if (hasConstantParams(node)) return stringAttr(node, "to", ["u8", "i8"] as const);
  const dtype = zeroPointType ?? "u8";
  if (dtype !== "u8" && dtype !== "i8") {
    throw new Error(`${nodeLabel(node)}: zero_point must be u8 or i8, got ${dtype}`);
  }
  return dtype;
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  requireOutputs(node, 1);
  const x = inputs[0];
  if (!x || x.dtype !== "f32") throw new Error(`${nodeLabel(node)}: input x must be f32`);
  const { zeroPointType } = checkAffineTypes(node, x, inputs);
  return [{ dtype: outputDtype(node, zeroPointType), shape: [...x.shape] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [type] = inferTypes(node, inputs);
  const x = inputs[0]!;
  const { scale, zeroPoint, axis } = affineValues(node, inputs);
  const [qmin, qmax] = quantRange(type.dtype);
  const channel = channelOf(x.shape, axis);
  const y = makeTensor(type.dtype, x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const c = channel(i);
    y.data[i] = quantize(x.data[i], scale[c], zeroPoint[c], qmin, qmax);
  }
  return [y];
}

/** 1.5 * 2^52: x + ROUNDING - ROUNDING is x rounded half to even for |x| < 2^51. */
const ROUNDING = 6755399441055744;

/**
 * CPU kernel: per tensor, the WebAssembly SIMD kernel (src/wasm/wasm_quantize.ts: 2.7 -> 0.8 ns
 * a value) where the engine has one; otherwise, and per axis, `quantizeTypeScript`.
 */
function cpu(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { scale, zeroPoint } = affineValues(node, inputs);
  const wasm = scale.length === 1 ? sharedWasmQuantize() : null;
  if (!wasm) return quantizeTypeScript(node, inputs);
  const [type] = inferTypes(node, inputs);
  const y = makeTensor(type.dtype, type.shape);
  wasm.quantize(
    inputs[0]!.data as Float32Array,
    scale[0],
    zeroPoint[0],
    quantRange(type.dtype),
    type.dtype as "u8" | "i8",
    y.data as Uint8Array | Int8Array,
  );
  return [y];
}

/**
 * QuantizeLinear in TypeScript: per tensor, the reference's arithmetic in one loop with the
 * parameters and clamp bounds hoisted and rounding by `ROUNDING` (the int8 ResNets' input,
 * 3x224x224 values, after warm-up: 0.7 ms, the reference 1.6-3.0 ms); per axis, the reference.
 * The path for engines without WebAssembly SIMD.
 *
 * @example
 * ```ts
 * const [y] = quantizeTypeScript(node, [x, scale, zeroPoint]);
 * ```
 */
export function quantizeTypeScript(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const { scale, zeroPoint } = affineValues(node, inputs);
  if (scale.length !== 1) return reference(node, inputs);
  const [type] = inferTypes(node, inputs);
  const x = inputs[0]!.data;
  const y = makeTensor(type.dtype, type.shape);
  const [qmin, qmax] = quantRange(type.dtype);
  const s = scale[0], zp = zeroPoint[0];
  const lo = qmin - zp, hi = qmax - zp;
  const out = y.data;
  for (let i = 0; i < x.length; i++) {
    const q = Math.fround(x[i] / s);
    // Adding and subtracting 1.5 * 2^52 rounds half to even (float64 addition rounds to
    // nearest even) for |q| < 2^51; the clamp keeps q within +-255.
    const clamped = q < lo ? lo : q > hi ? hi : q;
    out[i] = q === q ? clamped + ROUNDING - ROUNDING + zp : qmin;
  }
  return [y];
}

function wgsl(dtype: "u8" | "i8"): string {
  const [qmin] = quantRange(dtype);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
struct Params { length: u32, pad0: u32, pad1: u32, pad2: u32, steps: array<vec4<u32>, 64> }
@group(0) @binding(2) var<uniform> params: Params;

fn step_key(k: u32) -> u32 {
  return params.steps[k >> 2u][k & 3u];
}

fn value_at(i: u32) -> i32 {
  let b = x[i];
  if ((b & 0x7fffffffu) > 0x7f800000u) { return ${qmin}; }
  let key = select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
  var k = 0u;
  for (var step = 128u; step > 0u; step = step >> 1u) {
    if (key >= step_key(k + step)) { k = k + step; }
  }
  return ${qmin} + i32(k);
}
${elementwiseMain("packed8", 1)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const { node } = ctx;
  if (!hasConstantParams(node)) {
    throw new Error(
      `${nodeLabel(node)}: the GPU kernel needs constant parameters as attributes; run the ` +
        `lowerInt8 pass first`,
    );
  }
  const dtype = ctx.outputs[0].dtype as "u8" | "i8";
  const scale = node.attrs.scale;
  const zp = node.attrs.zero_point;
  if (typeof scale !== "number" || typeof zp !== "number") {
    throw new Error(`${nodeLabel(node)}: per-axis QuantizeLinear has no GPU kernel`);
  }
  const [qmin, qmax] = quantRange(dtype);
  const length = sizeOf(ctx.outputs[0].shape);
  const uniforms = new Uint32Array(4 + 256);
  uniforms[0] = length;
  uniforms.set(quantizeThresholds(Math.fround(scale), zp, qmin, qmax), 4);
  return {
    programs: [{
      key: `quantize_linear_${dtype}_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl: () => wgsl(dtype),
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms,
      workgroups: elementwiseWorkgroups("packed8", length, ctx.limits),
    }],
  };
}

/** QuantizeLinear: f32 to u8/i8 with onnxruntime's rounding. */
export const quantizeLinear: OpDef = { op: "QuantizeLinear", inferTypes, reference, cpu, gpu };
