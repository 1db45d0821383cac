/**
 * The two pass pipelines: what the convert tool runs before writing weights, and what the
 * executor runs when it loads a model.
 *
 * @module
 */

import type { Graph } from "../types.ts";
import { constantFold } from "./constant_fold.ts";
import { foldBatchNorm } from "./fold_batchnorm.ts";
import { fuseEpilogue } from "./fuse_epilogue.ts";
import { fusePreActivation } from "./fuse_preactivation.ts";
import { lowerInt8 } from "./lower_int8.ts";
import { qdqToQOperator } from "./qdq_to_qoperator.ts";
import { removeUnused } from "./remove_unused.ts";

/**
 * Conversion-time passes: QDQ groups rewritten into integer ops exactly where onnxruntime
 * fuses them (first, before constant folding would fold the weights' DequantizeLinear),
 * constant folding, BatchNorm folding into the preceding Conv, dead-code removal, and last
 * the int8 lowering (NHWC4 layout, packed weights). The result is what the weight format
 * stores.
 *
 * @example
 * ```ts
 * const stored = conversionPasses(importOnnx(bytes).graph);
 * ```
 */
export function conversionPasses(graph: Graph): Graph {
  return lowerInt8(removeUnused(foldBatchNorm(constantFold(qdqToQOperator(graph)))));
}

/**
 * Load-time passes: pre-activation BN(-ReLU) fusion into Conv inputs, Conv epilogue fusion
 * (residual Add, Relu/Clip), then dead-code removal.
 *
 * @example
 * ```ts
 * const runnable = fusionPasses(loadedGraph);
 * ```
 */
export function fusionPasses(graph: Graph): Graph {
  return removeUnused(fuseEpilogue(fusePreActivation(graph)));
}
