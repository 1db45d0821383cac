/**
 * Concat: joins 1..n f32 or i32 tensors along `axis` (required; negative counts back); all
 * other dims must match.
 *
 * GPU: one row-block copy per non-empty input into its slice of the output (row_copy.ts).
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import {
  intAttr,
  nodeLabel,
  requireInputs,
  requireOutputs,
  requireSameDtype,
} from "./attributes.ts";
import { type AxisView, axisView } from "./axis_view.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { rowCopyPrograms } from "./row_copy.ts";

/** The output shape and the axis view shared by every input. */
function layout(node: Node, inputs: readonly TensorType[]): { shape: number[]; view: AxisView } {
  const first = inputs[0].shape;
  const view = axisView(node, first, intAttr(node, "axis"));
  const shape = [...first];
  shape[view.axis] = 0;
  inputs.forEach((t, i) => {
    if (
      t.shape.length !== first.length || t.shape.some((d, k) => k !== view.axis && d !== first[k])
    ) {
      throw new Error(
        `${nodeLabel(node)}: input ${i} has shape [${t.shape}] but input 0 has [${first}]; ` +
          `only dim ${view.axis} may differ`,
      );
    }
    shape[view.axis] += t.shape[view.axis];
  });
  return { shape, view };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const types = requireInputs(node, inputs, [1, Infinity], ["f32", "i32"]);
  requireSameDtype(node, types);
  requireOutputs(node, 1);
  return [{ dtype: types[0].dtype, shape: layout(node, types).shape }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const xs = inputs as Tensor[];
  const { shape, view: { axis, outer, inner } } = layout(node, xs);
  const y = makeTensor(xs[0].dtype, shape);
  const outRow = shape[axis] * inner;
  let offset = 0;
  for (const x of xs) {
    const row = x.shape[axis] * inner;
    for (let o = 0; o < outer; o++) {
      y.data.set(x.data.subarray(o * row, (o + 1) * row), o * outRow + offset);
    }
    offset += row;
  }
  return [y];
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const xs = ctx.inputs as TensorType[];
  const { shape, view: { axis, outer, inner } } = layout(ctx.node, xs);
  let offset = 0;
  const copies = xs.map((x, index) => {
    const rowLength = x.shape[axis] * inner;
    const copy = {
      src: { kind: "input", index } as const,
      dst: { kind: "output", index: 0 } as const,
      rows: outer,
      rowLength,
      srcStride: rowLength,
      srcOffset: 0,
      dstStride: shape[axis] * inner,
      dstOffset: offset,
    };
    offset += rowLength;
    return copy;
  });
  return { programs: rowCopyPrograms(copies, ctx.limits) };
}

/** Concat of f32 or i32 tensors. */
export const concat: OpDef = { op: "Concat", inferTypes, reference, gpu };
