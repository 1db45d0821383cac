/**
 * QLinearGlobalAveragePool (com.microsoft opset 1): the quantized mean of each channel over
 * the spatial dims of u8/i8 data, NCHW or (attribute `channels_last`) NHWC, computed as
 * onnxruntime does (MLAS `MlasQLinearGlobalAveragePoolNchw/Nhwc`): the exact int32 sum minus
 * `x_zp * image_size`, requantized with the multiplier `x_scale / (y_scale * image_size)`
 * (f32, in that order) by `MlasRequantizeOutput`. onnxruntime rejects images of 2^24 or more
 * pixels and multipliers outside [2^-32, 256); so does this op.
 *
 * Inputs `X, x_scale, x_zero_point, y_scale, y_zero_point` (ONNX form), or `X` alone with the
 * four as attributes of the same names (constant form, made by lowerInt8; needed by the GPU).
 *
 * GPU: one invocation per four output channels (one packed word), each summing its channels'
 * pixels; layout is a pair of strides in the uniforms. Compiled in: dtype, workgroup size.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { packed8Load } from "../shaders/packed8.ts";
import { I32_TO_F32_WGSL, REQUANTIZE_WGSL } from "../shaders/requantize.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { intAttr, nodeLabel, requireOutputs } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { f32, quantRange, requantize } from "./quant_math.ts";
import { hasConstantParams, scalarParam } from "./quant_params.ts";
import { check8Bit, checkScale, checkZeroPoint } from "./qlinear_operands.ts";

const X = 0, XS = 1, XZ = 2, YS = 3, YZ = 4;

/** Batch, channels, pixels and the element strides of a channel and of a pixel. */
interface PoolGeometry {
  n: number;
  c: number;
  pixels: number;
  channelStride: number;
  pixelStride: number;
  outShape: number[];
}

function geometry(node: Node, x: TensorType): PoolGeometry {
  if (x.shape.length < 3) {
    throw new Error(`${nodeLabel(node)}: X must have rank >= 3, got [${x.shape}]`);
  }
  const last = intAttr(node, "channels_last", 0) !== 0;
  const rank = x.shape.length;
  const n = x.shape[0];
  const c = last ? x.shape[rank - 1] : x.shape[1];
  const spatial = last ? x.shape.slice(1, rank - 1) : x.shape.slice(2);
  const pixels = sizeOf(spatial);
  if (pixels >= 2 ** 24) {
    throw new Error(
      `${nodeLabel(node)}: ${pixels} pixels per image; at most 2^24 - 1 are supported`,
    );
  }
  const ones = spatial.map(() => 1);
  return {
    n,
    c,
    pixels,
    channelStride: last ? 1 : pixels,
    pixelStride: last ? c : 1,
    outShape: last ? [n, ...ones, c] : [n, c, ...ones],
  };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  requireOutputs(node, 1);
  const dtype = check8Bit(node, inputs, X, "X");
  if (!hasConstantParams(node)) {
    if (inputs.length !== 5) {
      throw new Error(`${nodeLabel(node)}: needs 5 inputs, got ${inputs.length}`);
    }
    checkScale(node, inputs, XS, "x_scale");
    checkScale(node, inputs, YS, "y_scale");
    checkZeroPoint(node, inputs, XZ, "x_zero_point", dtype);
    checkZeroPoint(node, inputs, YZ, "y_zero_point", dtype);
  }
  return [{ dtype, shape: geometry(node, inputs[X]!).outShape }];
}

/** onnxruntime's multiplier `x_scale / (y_scale * pixels)`, range-checked like MLAS. */
function multiplier(node: Node, xScale: number, yScale: number, pixels: number): number {
  const scale = f32(xScale / f32(yScale * f32(pixels)));
  if (!(scale >= 2 ** -32 && scale < 256)) {
    throw new Error(
      `${nodeLabel(node)}: multiplier ${scale} = x_scale / (y_scale * ${pixels}) is outside ` +
        `[2^-32, 256), which onnxruntime rejects`,
    );
  }
  return scale;
}

/** The node's scalar parameters, from operands or attributes. */
function params(node: Node, inputs: readonly (Tensor | undefined)[]) {
  return {
    xScale: scalarParam(node, inputs, XS, "x_scale"),
    xZero: scalarParam(node, inputs, XZ, "x_zero_point"),
    yScale: scalarParam(node, inputs, YS, "y_scale"),
    yZero: scalarParam(node, inputs, YZ, "y_zero_point"),
  };
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [type] = inferTypes(node, inputs);
  const x = inputs[X]!;
  const g = geometry(node, x);
  const p = params(node, inputs);
  const scale = multiplier(node, p.xScale, p.yScale, g.pixels);
  const [qmin, qmax] = quantRange(type.dtype);
  const y = makeTensor(type.dtype, type.shape);
  for (let n = 0; n < g.n; n++) {
    for (let c = 0; c < g.c; c++) {
      const base = n * g.c * g.pixels + c * g.channelStride;
      let sum = -p.xZero * g.pixels;
      for (let i = 0; i < g.pixels; i++) sum += x.data[base + i * g.pixelStride];
      y.data[n * g.c + c] = requantize(sum, scale, p.yZero, qmin, qmax);
    }
  }
  return [y];
}

const PARAMS = uniformLayout("Params", {
  length: "u32",
  channels: "u32",
  pixels: "u32",
  channel_stride: "u32",
  pixel_stride: "u32",
  bias: "i32",
  scale: "f32",
  y_zero: "i32",
});

function wgsl(dtype: "u8" | "i8"): string {
  const [qmin, qmax] = quantRange(dtype);
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
${PARAMS.struct}
@group(0) @binding(2) var<uniform> params: Params;
${packed8Load("x", dtype)}
${I32_TO_F32_WGSL}
${REQUANTIZE_WGSL}

fn value_at(i: u32) -> i32 {
  let n = i / params.channels;
  let c = i % params.channels;
  let base = n * params.channels * params.pixels + c * params.channel_stride;
  var sum = params.bias;
  for (var p = 0u; p < params.pixels; p++) {
    sum += load_x(base + p * params.pixel_stride);
  }
  return requantize(sum, params.scale, params.y_zero, ${qmin}, ${qmax});
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
  const x = ctx.inputs[X]!;
  const dtype = x.dtype as "u8" | "i8";
  const g = geometry(node, x);
  const p = params(node, []);
  const length = g.n * g.c;
  return {
    programs: [{
      key: `qlinear_global_average_pool_${dtype}_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl: () => wgsl(dtype),
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: PARAMS.pack({
        length,
        channels: g.c,
        pixels: g.pixels,
        channel_stride: g.channelStride,
        pixel_stride: g.pixelStride,
        bias: -p.xZero * g.pixels,
        scale: multiplier(node, p.xScale, p.yScale, g.pixels),
        y_zero: p.yZero,
      }),
      workgroups: elementwiseWorkgroups("packed8", length, ctx.limits),
    }],
  };
}

/** QLinearGlobalAveragePool on u8/i8 tensors, NCHW or NHWC. */
export const qlinearGlobalAveragePool: OpDef = {
  op: "QLinearGlobalAveragePool",
  inferTypes,
  reference,
  gpu,
};
