/**
 * Slice (opset-13 semantics): along each of `axes` (default 0, 1, ...; negative counts back;
 * each at most once) keep the elements `starts[k]`, `starts[k] + steps[k]`, ... up to but
 * excluding `ends[k]`, on f32 or i32. Negative starts and ends count from the end of the
 * dim; then, for a positive step, both are clamped to [0, dim], for a negative step the start
 * to [0, dim - 1] and the end to [-1, dim - 1] (so INT_MAX / INT_MIN ends mean "to the end").
 * `steps` default to 1 and must not be 0.
 *
 * The whole slice is one strided gather: output element i reads input element
 * `base + sum(coord_d * stride_d)`, with `base` the offset of the first element taken and
 * `stride_d = step_d * input stride_d` (negative for negative steps).
 *
 * The kernel and reference are strided_gather.ts's.
 *
 * @module
 */

import type { Node } from "../graph/types.ts";
import { contiguousStrides } from "../shaders/strided.ts";
import { intsAttr, nodeLabel, normalizeAxis } from "./attributes.ts";
import type { OpDef } from "./op.ts";
import { type StridedGather, stridedGatherOp } from "./strided_gather.ts";

/** One sliced axis: the first index taken and how many elements are taken. */
export interface SliceRange {
  /** Index of the first element taken (meaningless when `count` is 0). */
  start: number;
  /** Number of elements taken. */
  count: number;
}

/**
 * The elements `start:end:step` of a dim of length `dim`, with ONNX opset-13 clamping
 * (see the module doc). `step` must not be 0.
 */
export function sliceRange(dim: number, start: number, end: number, step: number): SliceRange {
  const s = start < 0 ? start + dim : start;
  const e = end < 0 ? end + dim : end;
  const [first, last] = step > 0
    ? [clamp(s, 0, dim), clamp(e, 0, dim)]
    : [clamp(s, 0, dim - 1), clamp(e, -1, dim - 1)];
  return { start: first, count: Math.max(0, Math.ceil((last - first) / step)) };
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(Math.max(v, lo), hi);
}

/** The slice of an input of `shape` as a strided gather: output dims, strides and base. */
function gather(node: Node, shape: readonly number[]): StridedGather {
  const starts = intsAttr(node, "starts");
  const ends = intsAttr(node, "ends");
  const axes = intsAttr(node, "axes", [...starts.keys()]);
  const steps = intsAttr(node, "steps", new Array<number>(starts.length).fill(1));
  if (ends.length !== starts.length || axes.length !== starts.length) {
    throw new Error(
      `${nodeLabel(node)}: starts ${JSON.stringify(starts)}, ends ${JSON.stringify(ends)} ` +
        `and axes ${JSON.stringify(axes)} must have the same length`,
    );
  }
  if (steps.length !== starts.length || steps.includes(0)) {
    throw new Error(
      `${nodeLabel(node)}: steps ${JSON.stringify(steps)} must be ${starts.length} non-zero ` +
        `integers, one per axis`,
    );
  }
  const inStrides = contiguousStrides(shape);
  const dims = [...shape];
  const strides = [...inStrides];
  const seen = new Set<number>();
  let base = 0;
  axes.forEach((a, k) => {
    const axis = normalizeAxis(node, `axes[${k}]`, a, shape.length);
    if (seen.has(axis)) {
      throw new Error(
        `${nodeLabel(node)}: axes ${JSON.stringify(axes)} name dim ${axis} more than once`,
      );
    }
    seen.add(axis);
    const { start, count } = sliceRange(shape[axis], starts[k], ends[k], steps[k]);
    dims[axis] = count;
    strides[axis] = steps[k] * inStrides[axis];
    if (count > 0) base += start * inStrides[axis];
  });
  return { dims, strides, base };
}

/** Slice of f32 and i32 tensors. */
export const slice: OpDef = stridedGatherOp("Slice", gather);
