/**
 * DequantizeLinear (ONNX opset 13): u8/i8/i32 to f32, per tensor or per axis,
 * `y = f32(x - zero_point) * scale`, one f32 multiply as onnxruntime computes it (i32 values
 * round to f32 on conversion). Parameters as inputs (ONNX form) or attributes (constant form;
 * see quant_params.ts).
 *
 * GPU (constant form, per-tensor): one invocation per output element. Compiled in: input
 * dtype, workgroup size.
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
import { I32_TO_F32_WGSL } from "../shaders/requantize.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { nodeLabel, requireOutputs } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { dequantize } from "./quant_math.ts";
import { affineValues, channelOf, checkAffineTypes, hasConstantParams } from "./quant_params.ts";

const INPUT_DTYPES = ["u8", "i8", "i32"] as const;
type InputDtype = typeof INPUT_DTYPES[number];

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  requireOutputs(node, 1);
  const x = inputs[0];
  if (!x || !(INPUT_DTYPES as readonly string[]).includes(x.dtype)) {
    throw new Error(`${nodeLabel(node)}: input x must be u8, i8 or i32, got ${x?.dtype}`);
  }
  const { zeroPointType } = checkAffineTypes(node, x, inputs);
  if (zeroPointType && zeroPointType !== x.dtype) {
    throw new Error(
      `${nodeLabel(node)}: zero_point is ${zeroPointType} but x is ${x.dtype}; they must match`,
    );
  }
  return [{ dtype: "f32", shape: [...x.shape] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  inferTypes(node, inputs);
  const x = inputs[0]!;
  const { scale, zeroPoint, axis } = affineValues(node, inputs);
  const channel = channelOf(x.shape, axis);
  const y = makeTensor("f32", x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const c = channel(i);
    y.data[i] = dequantize(x.data[i], scale[c], zeroPoint[c]);
  }
  return [y];
}

/**
 * Fast CPU kernel: for 8-bit inputs per tensor, the 256 possible results computed once with
 * the reference's arithmetic and looked up per element (ShuffleNetV2 QDQ's 63 float islands:
 * 8.8 -> 1.7 ms); i32 inputs and per-axis parameters take the reference.
 */
function cpu(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  inferTypes(node, inputs);
  const x = inputs[0]!;
  const { scale, zeroPoint } = affineValues(node, inputs);
  if (x.dtype === "i32" || scale.length !== 1) return reference(node, inputs);
  const table = new Float32Array(256);
  for (let b = 0; b < 256; b++) {
    table[b] = dequantize(x.dtype === "i8" ? (b << 24) >> 24 : b, scale[0], zeroPoint[0]);
  }
  const y = makeTensor("f32", x.shape);
  const out = y.data, data = x.data;
  for (let i = 0; i < data.length; i++) out[i] = table[data[i] & 0xff];
  return [y];
}

const PARAMS = uniformLayout("Params", { length: "u32", zero_point: "i32", scale: "f32" });

function wgsl(dtype: InputDtype): string {
  const packed = dtype !== "i32";
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<${packed ? "u32" : "i32"}>;
${PARAMS.struct}
@group(0) @binding(2) var<uniform> params: Params;
${packed ? packed8Load("x", dtype) : "fn load_x(i: u32) -> i32 { return x[i]; }"}
${I32_TO_F32_WGSL}

fn value_at(i: u32) -> f32 {
  return i32_to_f32(load_x(i) - params.zero_point) * params.scale;
}
${elementwiseMain("f32", 1)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const { node } = ctx;
  const scale = node.attrs.scale;
  const zp = node.attrs.zero_point;
  if (!hasConstantParams(node) || typeof scale !== "number" || typeof zp !== "number") {
    throw new Error(
      `${nodeLabel(node)}: the GPU kernel needs per-tensor parameters as attributes; run the ` +
        `lowerInt8 pass first`,
    );
  }
  const dtype = ctx.inputs[0]!.dtype as InputDtype;
  const length = sizeOf(ctx.outputs[0].shape);
  return {
    programs: [{
      key: `dequantize_linear_${dtype}_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl: () => wgsl(dtype),
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: PARAMS.pack({ length, zero_point: zp, scale }),
      workgroups: elementwiseWorkgroups("f32", length, ctx.limits),
    }],
  };
}

/** DequantizeLinear: u8/i8/i32 to f32 with onnxruntime's arithmetic. */
export const dequantizeLinear: OpDef = { op: "DequantizeLinear", inferTypes, reference, cpu, gpu };
