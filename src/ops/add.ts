/**
 * Add: y = a + b with multidirectional broadcasting, on f32 or i32 (i32 wraps on overflow, as
 * WGSL integer addition does). Kernel and reference: the binary-op template (binary_op.ts).
 *
 * @module
 */

import { binaryOp } from "./binary_op.ts";

/** Add on f32 or i32 tensors with numpy broadcasting. */
export const add = binaryOp({
  op: "Add",
  dtypes: ["f32", "i32"],
  wgslOperator: "+",
  apply: (a, b) => a + b,
});
