/**
 * Clip: y = min(max(x, min), max) on f32, with `min`/`max` attributes that default, as in
 * ONNX, to the lowest and largest finite f32 (so infinities clip to them). Like ONNX, a `min`
 * above `max` yields `max` everywhere.
 *
 * GPU: one invocation per element, bounds as f32 uniforms. Compiled
 * in: workgroup size only.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { f32Bits } from "../shaders/uniforms.ts";
import { floatAttr, requireInputs, requireOutputs } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

/** The largest finite f32, ONNX's default `max` (and its negation the default `min`). */
const F32_MAX = 3.4028234663852886e38;

/** The bounds as f32 values (what the kernel compares with). */
function bounds(node: Node): [number, number] {
  return [
    Math.fround(floatAttr(node, "min", -F32_MAX)),
    Math.fround(floatAttr(node, "max", F32_MAX)),
  ];
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, ["f32"]);
  requireOutputs(node, 1);
  bounds(node);
  return [{ dtype: "f32", shape: [...x.shape] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const [lo, hi] = bounds(node);
  const y = makeTensor("f32", x.shape);
  for (let i = 0; i < x.data.length; i++) y.data[i] = Math.min(Math.max(x.data[i], lo), hi);
  return [y];
}

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
struct Params { length: u32, lo: f32, hi: f32 }
@group(0) @binding(2) var<uniform> params: Params;

fn value_at(i: u32) -> f32 {
  return min(max(x[i], params.lo), params.hi);
}
${elementwiseMain("f32", 1)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const length = sizeOf(ctx.outputs[0].shape);
  const [lo, hi] = bounds(ctx.node);
  return {
    programs: [{
      key: `clip_f32_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: new Uint32Array([length, f32Bits(lo), f32Bits(hi)]),
      workgroups: elementwiseWorkgroups("f32", length, ctx.limits),
    }],
  };
}

/** Clip on f32 tensors with attribute bounds. */
export const clip: OpDef = { op: "Clip", inferTypes, reference, gpu };
