/**
 * Flatten: [d0, ..., dn-1] to [d0 * ... * d(axis-1), d(axis) * ... * dn-1], `axis` in
 * [-rank, rank] (default 1). A view (no GPU work); see view.ts.
 *
 * @module
 */

import { sizeOf } from "../graph/types.ts";
import { intAttr, nodeLabel } from "./attributes.ts";
import { viewOp } from "./view.ts";

/** Flatten of a tensor of any dtype to 2-D. */
export const flatten = viewOp("Flatten", (node, shape) => {
  const rank = shape.length;
  const given = intAttr(node, "axis", 1);
  if (given < -rank || given > rank) {
    throw new Error(
      `${nodeLabel(node)}: axis ${given} is out of range for rank ${rank} (valid: ${-rank} ` +
        `to ${rank})`,
    );
  }
  const axis = given < 0 ? given + rank : given;
  return [sizeOf(shape.slice(0, axis)), sizeOf(shape.slice(axis))];
});
