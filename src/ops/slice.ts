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
 * GPU: one invocation per output element (src/shaders/elementwise.ts) decomposes its index
 * over the output dims (src/shaders/strided.ts, after collapsing dims contiguous in the
 * input). Negative strides sit in the u32 uniforms as two's complement and the u32 sums wrap
 * modulo 2^32 to the right non-negative offset. The kernel moves 32-bit words, so one
 * pipeline serves f32 and i32. Compiled in: workgroup size only.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import {
  collapseDims,
  contiguousStrides,
  STRIDED_FIELD,
  stridedOffset,
  stridedOffsetsFn,
  stridedWords,
} from "../shaders/strided.ts";
import { intsAttr, nodeLabel, normalizeAxis, requireInputs, requireOutputs } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

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
function gather(
  node: Node,
  shape: readonly number[],
): { dims: number[]; strides: number[]; base: number } {
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

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, ["f32", "i32"]);
  requireOutputs(node, 1);
  return [{ dtype: x.dtype, shape: gather(node, x.shape).dims }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const { dims, strides, base } = gather(node, x.shape);
  const y = makeTensor(x.dtype, dims);
  for (let i = 0; i < y.data.length; i++) {
    y.data[i] = x.data[base + stridedOffset(i, dims, strides)];
  }
  return [y];
}

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
struct Params {
  length: u32, rank: u32, base: u32, _pad0: u32,
  dims: ${STRIDED_FIELD}, strides: ${STRIDED_FIELD},
}
@group(0) @binding(2) var<uniform> params: Params;
${stridedOffsetsFn("offsets", "params.rank", "params.dims", ["params.strides"])}

fn value_at(i: u32) -> u32 {
  return x[params.base + offsets(i)[0]];
}
${elementwiseMain("u32", 1)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = gather(ctx.node, ctx.inputs[0]!.shape);
  const { dims, strides } = collapseDims(g.dims, [g.strides]);
  const length = sizeOf(g.dims);
  const owner = nodeLabel(ctx.node);
  return {
    programs: [{
      key: `slice_b32_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: new Uint32Array([
        length,
        dims.length,
        g.base,
        0,
        ...stridedWords(dims, owner),
        ...stridedWords(strides[0], owner),
      ]),
      workgroups: elementwiseWorkgroups("u32", length, ctx.limits),
    }],
  };
}

/** Slice of f32 and i32 tensors. */
export const slice: OpDef = { op: "Slice", inferTypes, reference, gpu };
