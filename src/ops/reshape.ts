/**
 * Reshape with the target as the `shape` attribute: a 0 copies the input dim at the same
 * index (or, with opset-14 `allowzero` 1, is a literal 0), one -1 takes whatever size the
 * element count leaves. A view (no GPU work); see view.ts.
 *
 * @module
 */

import { sizeOf } from "../graph/types.ts";
import { intAttr, intsAttr, nodeLabel } from "./attributes.ts";
import { viewOp } from "./view.ts";

/** Reshape of a tensor of any dtype. */
export const reshape = viewOp("Reshape", (node, input) => {
  const target = intsAttr(node, "shape");
  const allowZero = intAttr(node, "allowzero", 0);
  if (allowZero !== 0 && allowZero !== 1) {
    throw new Error(`${nodeLabel(node)}: allowzero must be 0 or 1, got ${allowZero}`);
  }
  const fail = (why: string): never => {
    throw new Error(
      `${nodeLabel(node)}: shape ${JSON.stringify(target)} ${why} (input shape [${input}])`,
    );
  };
  const shape = target.map((d, i) => {
    if (d < -1) fail(`has the invalid dim ${d}`);
    if (d !== 0 || allowZero) return d;
    if (i >= input.length) fail(`copies dim ${i} (0), which the input lacks`);
    return input[i];
  });
  const unknown = shape.indexOf(-1);
  if (unknown >= 0) {
    if (shape.lastIndexOf(-1) !== unknown) fail("has more than one -1");
    const known = sizeOf(shape.filter((_, i) => i !== unknown));
    if (known === 0 || sizeOf(input) % known !== 0) {
      fail(`leaves no whole size for the -1 from ${sizeOf(input)} elements`);
    }
    shape[unknown] = sizeOf(input) / known;
  }
  return shape;
});
