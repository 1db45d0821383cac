/**
 * TflAdd: TFLite's int8 ADD of two tensors of one shape (any layout: elementwise over the flat
 * data), made by the TFLite importer. Attributes: the operands' and output's quantization
 * `a_scale`, `a_zero_point`, `b_scale`, `b_zero_point`, `y_scale`, `y_zero_point`, and the
 * fused activation's range `act_min`, `act_max`.
 *
 * Semantics (TFLite `AddElementwise`, constants from tfl_math.ts `addParams`): both operands
 * minus their zero points, shifted left by 20, rescaled by their fixed-point multipliers to
 * `2 max(s_a, s_b)`, summed, rescaled to the output, plus its zero point, clamped.
 *
 * GPU: one invocation per output word (four elements), the fixed-point arithmetic of
 * src/shaders/tfl_requantize.ts. Compiled in: workgroup size only.
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
import { TFL_FIXED_POINT_WGSL } from "../shaders/tfl_requantize.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { floatAttr, intAttr, nodeLabel, requireInputs, requireOutputs } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { addParams, addValue, type TflAddParams } from "./tfl_math.ts";
import { activationBounds } from "./tfl_requant.ts";

/** The node's ADD constants and activation range. */
function params(node: Node): TflAddParams & { lo: number; hi: number } {
  const scale = (name: string) => {
    const v = floatAttr(node, name, NaN);
    if (!(v > 0) || !Number.isFinite(v)) {
      throw new Error(`${nodeLabel(node)}: ${name} must be a positive number, got ${v}`);
    }
    return v;
  };
  const [lo, hi] = activationBounds(node);
  return {
    ...addParams(
      scale("a_scale"),
      intAttr(node, "a_zero_point"),
      scale("b_scale"),
      intAttr(node, "b_zero_point"),
      scale("y_scale"),
      intAttr(node, "y_zero_point"),
    ),
    lo,
    hi,
  };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [a, b] = requireInputs(node, inputs, 2, ["i8"]);
  requireOutputs(node, 1);
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new Error(`${nodeLabel(node)}: operands [${a.shape}] and [${b.shape}] differ in shape`);
  }
  params(node);
  return [{ dtype: "i8", shape: [...a.shape] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [type] = inferTypes(node, inputs);
  const p = params(node);
  const a = inputs[0]!.data, b = inputs[1]!.data;
  const y = makeTensor("i8", type.shape);
  for (let i = 0; i < y.data.length; i++) y.data[i] = addValue(a[i], b[i], p, p.lo, p.hi);
  return [y];
}

const PARAMS = uniformLayout("Params", {
  length: "u32",
  a_offset: "i32",
  b_offset: "i32",
  y_offset: "i32",
  left_shift: "u32",
  a_multiplier: "i32",
  a_shift: "i32",
  b_multiplier: "i32",
  b_shift: "i32",
  y_multiplier: "i32",
  y_shift: "i32",
  act_min: "i32",
  act_max: "i32",
});

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> b: array<u32>;
${PARAMS.struct}
@group(0) @binding(3) var<uniform> params: Params;
${packed8Load("a", "i8")}
${packed8Load("b", "i8")}
${TFL_FIXED_POINT_WGSL}

fn value_at(i: u32) -> i32 {
  let sa = tfl_multiply((load_a(i) + params.a_offset) << params.left_shift, params.a_multiplier,
                        params.a_shift);
  let sb = tfl_multiply((load_b(i) + params.b_offset) << params.left_shift, params.b_multiplier,
                        params.b_shift);
  let raw = tfl_multiply(sa + sb, params.y_multiplier, params.y_shift) + params.y_offset;
  return clamp(raw, params.act_min, params.act_max);
}
${elementwiseMain("packed8", 2)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const p = params(ctx.node);
  const length = sizeOf(ctx.outputs[0].shape);
  return {
    programs: [{
      key: `tfl_add_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "input", index: 1 }, {
        kind: "output",
        index: 0,
      }],
      uniforms: PARAMS.pack({
        length,
        a_offset: p.input1Offset,
        b_offset: p.input2Offset,
        y_offset: p.outputOffset,
        left_shift: p.leftShift,
        a_multiplier: p.input1.multiplier,
        a_shift: p.input1.shift,
        b_multiplier: p.input2.multiplier,
        b_shift: p.input2.shift,
        y_multiplier: p.output.multiplier,
        y_shift: p.output.shift,
        act_min: p.lo,
        act_max: p.hi,
      }),
      workgroups: elementwiseWorkgroups("packed8", length, ctx.limits),
    }],
  };
}

/** TflAdd: TFLite int8 ADD of same-shape tensors. */
export const tflAdd: OpDef = { op: "TflAdd", inferTypes, reference, gpu };
