/**
 * TflFullyConnected: TFLite's int8 FULLY_CONNECTED (int8 weights, int32 bias), made by the
 * TFLite importer (src/tflite/int8_rules.ts).
 *
 * Inputs: 0 `X` i8 [M, K]; 1 `W` i8 [N, K]; 2 `B` i32 [N], the bias with the input zero point
 * folded in (`bias - z_x * sum_k W[n, k]`, as TflConv); 3 `R`, the requantization of each
 * output (tfl_requant.ts; a per-tensor scale repeated N times). Attributes `y_zero_point`,
 * `act_min`, `act_max`.
 *
 * Semantics: `acc[m, n] = B[n] + sum_k X[m, k] * W[n, k]` (int32), `y = requant(acc)`.
 *
 * GPU: one invocation per output word (four consecutive outputs), a byte-wise dot product
 * over K (any K: rows need not start on a word). Compiled in: requantization mode and
 * workgroup size.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { packed8Load } from "../shaders/packed8.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { nodeLabel, requireOutputs } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { wrapInt32 } from "./quant_math.ts";
import {
  type Requant,
  REQUANT_UNIFORMS,
  requantOf,
  requantUniforms,
  requantValue,
  requantWgsl,
} from "./tfl_requant.ts";

function geometry(node: Node, inputs: readonly (TensorType | undefined)[]) {
  requireOutputs(node, 1);
  const [x, w, b, r] = inputs;
  if (inputs.length !== 4) {
    throw new Error(`${nodeLabel(node)}: needs 4 inputs, got ${inputs.length}`);
  }
  if (x?.dtype !== "i8" || x.shape.length !== 2 || w?.dtype !== "i8" || w.shape.length !== 2) {
    throw new Error(`${nodeLabel(node)}: X and W must be 2-D i8 tensors`);
  }
  const [m, k] = x.shape;
  const [n, kw] = w.shape;
  if (kw !== k) throw new Error(`${nodeLabel(node)}: W [${w.shape}] does not fit X [${x.shape}]`);
  if (b?.dtype !== "i32" || b.shape.length !== 1 || b.shape[0] !== n) {
    throw new Error(`${nodeLabel(node)}: B must be i32 [${n}]`);
  }
  const requant: Requant = requantOf(node, r, n);
  return { m, n, k, requant };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const { m, n } = geometry(node, inputs);
  return [{ dtype: "i8", shape: [m, n] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = geometry(node, inputs);
  const x = inputs[0]!.data, w = inputs[1]!.data, b = inputs[2]!.data, r = inputs[3]!.data;
  const y = makeTensor("i8", [g.m, g.n]);
  for (let row = 0; row < g.m; row++) {
    for (let col = 0; col < g.n; col++) {
      let acc = b[col];
      for (let i = 0; i < g.k; i++) acc = wrapInt32(acc + x[row * g.k + i] * w[col * g.k + i]);
      y.data[row * g.n + col] = requantValue(g.requant, r, col, acc);
    }
  }
  return [y];
}

const PARAMS = uniformLayout("Params", { length: "u32", n: "u32", k: "u32", ...REQUANT_UNIFORMS });

function wgsl(mode: Requant["mode"]): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> w: array<u32>;
@group(0) @binding(2) var<storage, read> b: array<i32>;
${PARAMS.struct}
@group(0) @binding(5) var<uniform> params: Params;
${requantWgsl(mode, 3)}
${packed8Load("x", "i8")}
${packed8Load("w", "i8")}

fn value_at(i: u32) -> i32 {
  let row = i / params.n;
  let col = i % params.n;
  var acc = b[col];
  for (var j = 0u; j < params.k; j++) {
    acc += load_x(row * params.k + j) * load_w(col * params.k + j);
  }
  return requant(acc, requant_channel(col));
}
${elementwiseMain("packed8", 4)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = geometry(ctx.node, ctx.inputs);
  const length = sizeOf(ctx.outputs[0].shape);
  return {
    programs: [{
      key: `tfl_fully_connected_${g.requant.mode}_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl: () => wgsl(g.requant.mode),
      bindings: [
        { kind: "input", index: 0 },
        { kind: "input", index: 1 },
        { kind: "input", index: 2 },
        { kind: "input", index: 3 },
        { kind: "output", index: 0 },
      ],
      uniforms: PARAMS.pack({ length, n: g.n, k: g.k, ...requantUniforms(g.requant) }),
      workgroups: elementwiseWorkgroups("packed8", length, ctx.limits),
    }],
  };
}

/** TflFullyConnected: TFLite int8 FULLY_CONNECTED. */
export const tflFullyConnected: OpDef = {
  op: "TflFullyConnected",
  inferTypes,
  reference,
  gpu,
};
