/**
 * Split: cuts an f32 or i32 tensor along `axis` (default 0) into one piece per output, of
 * the sizes in `split`, or equal sizes when `split` is absent (the dim must then divide).
 *
 * GPU: one row-block copy per non-empty output from its slice of the input (row_copy.ts).
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { intAttr, intsAttr, nodeLabel, requireInputs } from "./attributes.ts";
import { type AxisView, axisView } from "./axis_view.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { rowCopyPrograms } from "./row_copy.ts";

/** The validated piece sizes along the axis, and the axis view of the input. */
function pieces(node: Node, shape: readonly number[]): { sizes: number[]; view: AxisView } {
  const view = axisView(node, shape, intAttr(node, "axis", 0));
  const dim = shape[view.axis];
  const n = node.outputs.length;
  if (n < 1) throw new Error(`${nodeLabel(node)}: needs at least 1 output`);
  if (node.attrs.split === undefined) {
    if (dim % n !== 0) {
      throw new Error(
        `${nodeLabel(node)}: dim ${view.axis} (${dim}) does not split into ${n} equal parts; ` +
          `give the split attribute`,
      );
    }
    return { sizes: new Array<number>(n).fill(dim / n), view };
  }
  const sizes = intsAttr(node, "split");
  const total = sizes.reduce((a, b) => a + b, 0);
  if (sizes.length !== n || sizes.some((s) => s < 0) || total !== dim) {
    throw new Error(
      `${nodeLabel(node)}: split ${JSON.stringify(sizes)} must be ${n} sizes >= 0 summing to ` +
        `dim ${view.axis} (${dim})`,
    );
  }
  return { sizes, view };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, ["f32", "i32"]);
  const { sizes, view } = pieces(node, x.shape);
  return sizes.map((size) => {
    const shape = [...x.shape];
    shape[view.axis] = size;
    return { dtype: x.dtype, shape };
  });
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const { sizes, view: { axis, outer, inner } } = pieces(node, x.shape);
  const inRow = x.shape[axis] * inner;
  let offset = 0;
  return sizes.map((size) => {
    const shape = [...x.shape];
    shape[axis] = size;
    const y = makeTensor(x.dtype, shape);
    const row = size * inner;
    for (let o = 0; o < outer; o++) {
      y.data.set(x.data.subarray(o * inRow + offset, o * inRow + offset + row), o * row);
    }
    offset += row;
    return y;
  });
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const { sizes, view: { axis, outer, inner } } = pieces(ctx.node, x.shape);
  let offset = 0;
  const copies = sizes.map((size, index) => {
    const rowLength = size * inner;
    const copy = {
      src: { kind: "input", index: 0 } as const,
      dst: { kind: "output", index } as const,
      rows: outer,
      rowLength,
      srcStride: x.shape[axis] * inner,
      srcOffset: offset,
      dstStride: rowLength,
      dstOffset: 0,
    };
    offset += rowLength;
    return copy;
  });
  return { programs: rowCopyPrograms(copies, ctx.limits) };
}

/** Split of an f32 or i32 tensor into several outputs. */
export const split: OpDef = { op: "Split", inferTypes, reference, gpu };
