/**
 * Multidirectional (numpy) broadcasting: shapes are right-aligned, and each dim pair must be
 * equal or contain a 1.
 *
 * @module
 */

import type { Node } from "../graph/types.ts";
import { contiguousStrides } from "../shaders/strided.ts";
import { nodeLabel } from "./attributes.ts";

/** The broadcast result shape of `a` and `b`; throws naming the node when incompatible. */
export function broadcastShape(node: Node, a: readonly number[], b: readonly number[]): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let d = 0; d < rank; d++) {
    const da = a[a.length - rank + d] ?? 1;
    const db = b[b.length - rank + d] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new Error(
        `${nodeLabel(node)}: shapes [${a}] and [${b}] do not broadcast (dim ${d}: ${da} vs ${db})`,
      );
    }
    out[d] = da === 1 ? db : da;
  }
  return out;
}

/**
 * Element strides of a tensor of `shape` read as if broadcast to `outShape` (which it must
 * broadcast to): one per output dim, 0 where the tensor is broadcast or lacks the dim.
 */
export function broadcastStrides(shape: readonly number[], outShape: readonly number[]): number[] {
  const own = contiguousStrides(shape);
  const offset = outShape.length - shape.length;
  return outShape.map((_, d) => {
    const k = d - offset;
    return k < 0 || shape[k] === 1 ? 0 : own[k];
  });
}
