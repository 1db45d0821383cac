/**
 * Squeeze: removes the size-1 dims listed in `axes` (negative counts back), or every size-1
 * dim when `axes` is absent. A view (no GPU work); see view.ts.
 *
 * @module
 */

import { intsAttr, nodeLabel, normalizeAxis } from "./attributes.ts";
import { viewOp } from "./view.ts";

/** Squeeze of a tensor of any dtype. */
export const squeeze = viewOp("Squeeze", (node, shape) => {
  if (node.attrs.axes === undefined) return shape.filter((d) => d !== 1);
  const axes = intsAttr(node, "axes").map((a, i) =>
    normalizeAxis(node, `axes[${i}]`, a, shape.length)
  );
  for (const a of axes) {
    if (shape[a] !== 1) {
      throw new Error(
        `${nodeLabel(node)}: axis ${a} has size ${shape[a]}, not 1 (input shape [${shape}])`,
      );
    }
  }
  return shape.filter((_, i) => !axes.includes(i));
});
