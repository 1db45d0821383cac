/**
 * The single map from op type to its definition. An op file adds itself to `OP_DEFS`.
 *
 * @module
 */

import type { Node } from "../graph/types.ts";
import type { OpDef } from "./op.ts";
import { add } from "./add.ts";
import { averagePool } from "./average_pool.ts";
import { batchNormalization } from "./batch_normalization.ts";
import { cast } from "./cast.ts";
import { clip } from "./clip.ts";
import { concat } from "./concat.ts";
import { conv } from "./conv.ts";
import { dequantizeLinear } from "./dequantize_linear.ts";
import { flatten } from "./flatten.ts";
import { gemm } from "./gemm.ts";
import { globalAveragePool } from "./global_average_pool.ts";
import { identity } from "./identity.ts";
import { matmul } from "./matmul.ts";
import { maxPool } from "./max_pool.ts";
import { maxPoolNhwc } from "./max_pool_nhwc.ts";
import { mul } from "./mul.ts";
import { packNhwc } from "./pack_nhwc.ts";
import { padChannelsOp } from "./pad_channels.ts";
import { pad } from "./pad.ts";
import { qgemm } from "./qgemm.ts";
import { qgemmPacked } from "./qgemm_packed.ts";
import { qlinearAdd } from "./qlinear_add.ts";
import { qlinearAddLut } from "./qlinear_add_lut.ts";
import { qlinearAveragePool } from "./qlinear_average_pool.ts";
import { qlinearConv } from "./qlinear_conv.ts";
import { qlinearConvNhwc } from "./qlinear_conv_nhwc.ts";
import { qlinearGlobalAveragePool } from "./qlinear_global_average_pool.ts";
import { qlinearLookup } from "./qlinear_lookup.ts";
import { qlinearMatMul } from "./qlinear_matmul.ts";
import { quantizeLinear } from "./quantize_linear.ts";
import { reduceMean } from "./reduce_mean.ts";
import { relu } from "./relu.ts";
import { reshape } from "./reshape.ts";
import { slice } from "./slice.ts";
import { softmax } from "./softmax.ts";
import { split } from "./split.ts";
import { tflAdd } from "./tfl_add.ts";
import { tflAveragePool } from "./tfl_average_pool.ts";
import { tflConv } from "./tfl_conv.ts";
import { tflFullyConnected } from "./tfl_fully_connected.ts";
import { tflQuantize } from "./tfl_quantize.ts";
import { tflSoftmax } from "./tfl_softmax.ts";
import { squeeze } from "./squeeze.ts";
import { transpose } from "./transpose.ts";
import { unpackNhwc } from "./unpack_nhwc.ts";
import { unpadChannelsOp } from "./unpad_channels.ts";
import { unsqueeze } from "./unsqueeze.ts";

/** Every op definition resin has, one entry per op file (keep sorted by op name). */
const OP_DEFS: readonly OpDef[] = [
  add,
  averagePool,
  batchNormalization,
  cast,
  clip,
  concat,
  conv,
  dequantizeLinear,
  flatten,
  gemm,
  globalAveragePool,
  identity,
  matmul,
  maxPool,
  maxPoolNhwc,
  mul,
  packNhwc,
  pad,
  padChannelsOp,
  qgemm,
  qgemmPacked,
  qlinearAdd,
  qlinearAddLut,
  qlinearAveragePool,
  qlinearConv,
  qlinearConvNhwc,
  qlinearGlobalAveragePool,
  qlinearLookup,
  qlinearMatMul,
  quantizeLinear,
  reduceMean,
  relu,
  reshape,
  slice,
  softmax,
  split,
  squeeze,
  tflAdd,
  tflAveragePool,
  tflConv,
  tflFullyConnected,
  tflQuantize,
  tflSoftmax,
  transpose,
  unpackNhwc,
  unpadChannelsOp,
  unsqueeze,
];

const BY_OP = new Map<string, OpDef>(OP_DEFS.map((def) => [def.op, def]));

/** True when resin has a definition for `op`. */
export function hasOp(op: string): boolean {
  return BY_OP.has(op);
}

/** Op types resin supports, sorted. */
export function supportedOps(): string[] {
  return [...BY_OP.keys()].sort();
}

/** Returns the definition for `node`'s op, or throws an error naming the node and op. */
export function opFor(node: Node): OpDef {
  const def = BY_OP.get(node.op);
  if (!def) {
    throw new Error(
      `Unsupported op "${node.op}" in node "${node.name}"; supported ops: ${
        supportedOps().join(", ")
      }`,
    );
  }
  return def;
}
