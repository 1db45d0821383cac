/**
 * ReduceMean (opset 13): the mean of an f32 tensor over `axes` (default: all; negative
 * counts back; no duplicates), keeping reduced dims as 1 when `keepdims` (default 1).
 * Reference and GPU kernel: mean_reduction.ts.
 *
 * @module
 */

import type { Node, Tensor, TensorType } from "../graph/types.ts";
import {
  intAttr,
  intsAttr,
  nodeLabel,
  normalizeAxis,
  requireInputs,
  requireOutputs,
} from "./attributes.ts";
import { meanReference, planMean, reducedShape } from "./mean_reduction.ts";
import type { GpuPlanContext, OpDef } from "./op.ts";

/** The validated, normalised reduction axes and keepdims flag of `node`. */
function reduction(node: Node, rank: number): { axes: number[]; keepdims: boolean } {
  const given = intsAttr(node, "axes", [...Array(rank).keys()]);
  const axes = given.map((a, i) => normalizeAxis(node, `axes[${i}]`, a, rank));
  if (new Set(axes).size !== axes.length) {
    throw new Error(`${nodeLabel(node)}: axes ${JSON.stringify(given)} repeat an axis`);
  }
  const keepdims = intAttr(node, "keepdims", 1);
  if (keepdims !== 0 && keepdims !== 1) {
    throw new Error(`${nodeLabel(node)}: keepdims must be 0 or 1, got ${keepdims}`);
  }
  return { axes, keepdims: keepdims === 1 };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, ["f32"]);
  requireOutputs(node, 1);
  const { axes, keepdims } = reduction(node, x.shape.length);
  return [{ dtype: "f32", shape: reducedShape(x.shape, axes, keepdims) }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const { axes, keepdims } = reduction(node, x.shape.length);
  return [meanReference(x, axes, keepdims)];
}

function gpu(ctx: GpuPlanContext) {
  return planMean(ctx, reduction(ctx.node, ctx.inputs[0]!.shape.length).axes);
}

/** ReduceMean on f32 tensors. */
export const reduceMean: OpDef = { op: "ReduceMean", inferTypes, reference, gpu };
