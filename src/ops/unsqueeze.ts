/**
 * Unsqueeze: inserts size-1 dims at `axes` (required; positions in the output, negative
 * counts back from the output's rank; no duplicates). A view (no GPU work); see view.ts.
 *
 * @module
 */

import { intsAttr, nodeLabel, normalizeAxis } from "./attributes.ts";
import { viewOp } from "./view.ts";

/** Unsqueeze of a tensor of any dtype. */
export const unsqueeze = viewOp("Unsqueeze", (node, shape) => {
  const given = intsAttr(node, "axes");
  const rank = shape.length + given.length;
  const axes = given.map((a, i) => normalizeAxis(node, `axes[${i}]`, a, rank));
  if (new Set(axes).size !== axes.length) {
    throw new Error(`${nodeLabel(node)}: axes ${JSON.stringify(given)} repeat an axis`);
  }
  const rest = [...shape];
  return Array.from({ length: rank }, (_, i) => (axes.includes(i) ? 1 : rest.shift()!));
});
