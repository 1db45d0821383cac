/**
 * Transpose: y = x with dims permuted by `perm` (default: reversed), on f32 or i32.
 *
 * GPU: one invocation per output element gathers its source element through the permuted
 * input strides (src/shaders/strided.ts); dims that stay adjacent and in order are collapsed
 * first, so an identity permutation is a flat copy. The kernel moves 32-bit words, so one
 * pipeline serves both dtypes. Compiled in: workgroup size only.
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
import { intsAttr, nodeLabel, requireInputs, requireOutputs } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

/** The validated permutation of `node` for an input of `rank` dims. */
function permutation(node: Node, rank: number): number[] {
  const perm = intsAttr(node, "perm", [...Array(rank).keys()].reverse());
  const sorted = [...perm].sort((a, b) => a - b);
  if (perm.length !== rank || sorted.some((p, i) => p !== i)) {
    throw new Error(
      `${nodeLabel(node)}: perm ${JSON.stringify(perm)} is not a permutation of 0..${rank - 1}`,
    );
  }
  return perm;
}

/** Output dims and, for each, the input stride it walks. */
function gather(node: Node, shape: readonly number[]): { dims: number[]; strides: number[] } {
  const perm = permutation(node, shape.length);
  const inStrides = contiguousStrides(shape);
  return { dims: perm.map((p) => shape[p]), strides: perm.map((p) => inStrides[p]) };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, ["f32", "i32"]);
  requireOutputs(node, 1);
  return [{ dtype: x.dtype, shape: gather(node, x.shape).dims }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const { dims, strides } = gather(node, x.shape);
  const y = makeTensor(x.dtype, dims);
  for (let i = 0; i < y.data.length; i++) y.data[i] = x.data[stridedOffset(i, dims, strides)];
  return [y];
}

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
struct Params {
  length: u32, rank: u32, _pad0: u32, _pad1: u32,
  dims: ${STRIDED_FIELD}, strides: ${STRIDED_FIELD},
}
@group(0) @binding(2) var<uniform> params: Params;
${stridedOffsetsFn("offsets", "params.rank", "params.dims", ["params.strides"])}

fn value_at(i: u32) -> u32 {
  return x[offsets(i)[0]];
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
      key: `transpose_b32_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: new Uint32Array([
        length,
        dims.length,
        0,
        0,
        ...stridedWords(dims, owner),
        ...stridedWords(strides[0], owner),
      ]),
      workgroups: elementwiseWorkgroups("u32", length, ctx.limits),
    }],
  };
}

/** Transpose on f32 and i32 tensors. */
export const transpose: OpDef = { op: "Transpose", inferTypes, reference, gpu };
