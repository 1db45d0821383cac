/**
 * Mul: y = a * b with multidirectional broadcasting, on f32. Kernel and reference: the
 * binary-op template (binary_op.ts).
 *
 * @module
 */

import { binaryOp } from "./binary_op.ts";

/** Mul on f32 tensors with numpy broadcasting. */
export const mul = binaryOp({
  op: "Mul",
  dtypes: ["f32"],
  wgslOperator: "*",
  apply: (a, b) => a * b,
});
