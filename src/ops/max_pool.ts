/**
 * MaxPool: 2-D max pooling on NCHW f32, u8 or i8 tensors (ONNX opset 13, `Indices` output
 * unsupported). Kernel and reference: the pooling template (pool.ts).
 *
 * @module
 */

import { poolOp } from "./pool.ts";

/** MaxPool on f32 and packed u8/i8 tensors. */
export const maxPool = poolOp("max");
