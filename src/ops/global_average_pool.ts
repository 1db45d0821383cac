/**
 * GlobalAveragePool: the mean of each channel over all spatial dims of an [N, C, ...] f32
 * tensor, giving [N, C, 1, ...]. Reference and GPU kernel: mean_reduction.ts (a ReduceMean
 * over axes 2.. with keepdims); fast CPU kernel: pool_cpu.ts.
 *
 * @module
 */

import type { Node, Tensor, TensorType } from "../graph/types.ts";
import { nodeLabel, requireInputs, requireOutputs } from "./attributes.ts";
import { meanReference, planMean, reducedShape } from "./mean_reduction.ts";
import type { GpuPlanContext, OpDef } from "./op.ts";
import { globalAveragePoolCpu } from "./pool_cpu.ts";

/** The spatial axes 2..rank-1. */
function spatialAxes(rank: number): number[] {
  return [...Array(rank).keys()].slice(2);
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, ["f32"]);
  requireOutputs(node, 1);
  if (x.shape.length < 3) {
    throw new Error(
      `${nodeLabel(node)}: input must be [N, C, spatial...] (rank >= 3), got [${x.shape}]`,
    );
  }
  return [{ dtype: "f32", shape: reducedShape(x.shape, spatialAxes(x.shape.length), true) }];
}

function reference(_node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  return [meanReference(x, spatialAxes(x.shape.length), true)];
}

function gpu(ctx: GpuPlanContext) {
  return planMean(ctx, spatialAxes(ctx.inputs[0]!.shape.length));
}

/** GlobalAveragePool on f32 tensors. */
export const globalAveragePool: OpDef = {
  op: "GlobalAveragePool",
  inferTypes,
  reference,
  cpu: globalAveragePoolCpu,
  gpu,
};
