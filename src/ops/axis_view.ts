/**
 * A tensor seen around one axis as [outer, axis, inner]: the layout Concat, Split and
 * Softmax work in.
 *
 * @module
 */

import { type Node, sizeOf } from "../graph/types.ts";
import { normalizeAxis } from "./attributes.ts";

/** A shape seen around `axis`: rows before it, the axis, elements per axis step after it. */
export interface AxisView {
  /** The axis, normalised to [0, rank). */
  axis: number;
  /** Product of the dims before the axis. */
  outer: number;
  /** Product of the dims after the axis. */
  inner: number;
}

/** Resolves `axis` (negative counts back) of `node` against `shape`. */
export function axisView(node: Node, shape: readonly number[], axis: number): AxisView {
  const a = normalizeAxis(node, "axis", axis, shape.length);
  return { axis: a, outer: sizeOf(shape.slice(0, a)), inner: sizeOf(shape.slice(a + 1)) };
}
