/**
 * BatchNormalization (inference): y = (x - mean) / sqrt(var + epsilon) * scale + B per
 * channel (dim 1) of an [N, C, ...] f32 tensor; inputs X, scale, B, mean, var (each [C]),
 * attribute `epsilon` (default 1e-5). The reference computes in float64.
 *
 * GPU: one invocation per element; its channel is (i / inner) % C with inner the product of
 * the dims after C. Compiled in: workgroup size only.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { f32Bits } from "../shaders/uniforms.ts";
import { floatAttr, nodeLabel, requireInputs, requireOutputs } from "./attributes.ts";
import type { GpuBindingSource, GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

const PARAMS = ["scale", "B", "mean", "var"];

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x, ...params] = requireInputs(node, inputs, 5, ["f32"]);
  requireOutputs(node, 1);
  floatAttr(node, "epsilon", 1e-5);
  if (x.shape.length < 2) {
    throw new Error(`${nodeLabel(node)}: X must have rank >= 2 ([N, C, ...]), got [${x.shape}]`);
  }
  const channels = x.shape[1];
  params.forEach((t, i) => {
    if (t.shape.length !== 1 || t.shape[0] !== channels) {
      throw new Error(
        `${nodeLabel(node)}: ${PARAMS[i]} must have shape [${channels}], got [${t.shape}]`,
      );
    }
  });
  return [{ dtype: "f32", shape: [...x.shape] }];
}

/** Elements per channel block: the product of the dims after C. */
function innerSize(shape: readonly number[]): number {
  return sizeOf(shape.slice(2));
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [x, scale, bias, mean, variance] = inputs as Tensor[];
  const epsilon = floatAttr(node, "epsilon", 1e-5);
  const channels = x.shape[1];
  const inner = innerSize(x.shape);
  const y = makeTensor("f32", x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const c = Math.floor(i / inner) % channels;
    y.data[i] = (x.data[i] - mean.data[c]) / Math.sqrt(variance.data[c] + epsilon) *
        scale.data[c] + bias.data[c];
  }
  return [y];
}

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read> scale: array<f32>;
@group(0) @binding(2) var<storage, read> bias: array<f32>;
@group(0) @binding(3) var<storage, read> mean: array<f32>;
@group(0) @binding(4) var<storage, read> variance: array<f32>;
struct Params { length: u32, channels: u32, inner: u32, epsilon: f32 }
@group(0) @binding(6) var<uniform> params: Params;

fn value_at(i: u32) -> f32 {
  let c = (i / params.inner) % params.channels;
  return (x[i] - mean[c]) / sqrt(variance[c] + params.epsilon) * scale[c] + bias[c];
}
${elementwiseMain("f32", 5)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const length = sizeOf(x.shape);
  return {
    programs: [{
      key: `batchnorm_f32_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl,
      bindings: [
        ...[0, 1, 2, 3, 4].map((index): GpuBindingSource => ({ kind: "input", index })),
        { kind: "output", index: 0 },
      ],
      uniforms: new Uint32Array([
        length,
        x.shape[1],
        innerSize(x.shape),
        f32Bits(floatAttr(ctx.node, "epsilon", 1e-5)),
      ]),
      workgroups: elementwiseWorkgroups("f32", length, ctx.limits),
    }],
  };
}

/** BatchNormalization (inference form) on f32 tensors. */
export const batchNormalization: OpDef = {
  op: "BatchNormalization",
  inferTypes,
  reference,
  gpu,
};
