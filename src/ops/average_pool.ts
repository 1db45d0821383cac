/**
 * AveragePool: 2-D average pooling on NCHW f32 tensors (ONNX opset 13, so no dilations),
 * honouring `count_include_pad`. Kernel and reference: the pooling template (pool.ts).
 *
 * @module
 */

import { poolOp } from "./pool.ts";

/** AveragePool on f32 tensors. */
export const averagePool = poolOp("avg");
