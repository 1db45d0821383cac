/**
 * Transpose: y = x with dims permuted by `perm` (default: reversed), on f32 or i32: a strided
 * gather (strided_gather.ts) through the permuted input strides; dims that stay adjacent and in
 * order are collapsed, so an identity permutation is a flat copy.
 *
 * @module
 */

import type { Node } from "../graph/types.ts";
import { contiguousStrides } from "../shaders/strided.ts";
import { intsAttr, nodeLabel } from "./attributes.ts";
import type { OpDef } from "./op.ts";
import { type StridedGather, stridedGatherOp } from "./strided_gather.ts";

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
function gather(node: Node, shape: readonly number[]): StridedGather {
  const perm = permutation(node, shape.length);
  const inStrides = contiguousStrides(shape);
  return { dims: perm.map((p) => shape[p]), strides: perm.map((p) => inStrides[p]), base: 0 };
}

/** Transpose on f32 and i32 tensors. */
export const transpose: OpDef = stridedGatherOp("Transpose", gather);
