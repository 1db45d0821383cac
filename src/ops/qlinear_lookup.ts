/**
 * QLinearLookup: an 8-bit to 8-bit map through a 256-entry table per channel, the form of a
 * float island between a DequantizeLinear and a QuantizeLinear whose every output byte is
 * known from its input byte (qdqToQOperator builds the table of a BatchNormalization with
 * onnxruntime's f32 arithmetic; onnxruntime's own QLinearSigmoid and QLinearLeakyRelu are
 * tables too). Inputs `X` (u8/i8) and `T` (u8 [C, 256]: row c maps channel c's bytes);
 * attributes `axis` (the channel axis, needed when C > 1) and `to` (output dtype u8/i8).
 * Output element: `T[c * 256 + byte(x)]`.
 *
 * GPU: one invocation per four outputs (one packed word). Compiled in: workgroup size only
 * (bytes move raw).
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { BYTE_OF_WGSL } from "../shaders/int8_pack.ts";
import { packed8Load } from "../shaders/packed8.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { intAttr, nodeLabel, normalizeAxis, requireOutputs, stringAttr } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

/** Channels, elements per channel step, and the output dtype of a QLinearLookup node. */
function geometry(node: Node, inputs: readonly (TensorType | undefined)[]) {
  requireOutputs(node, 1);
  const [x, t] = inputs;
  if (inputs.length !== 2 || !x || (x.dtype !== "u8" && x.dtype !== "i8")) {
    throw new Error(`${nodeLabel(node)}: needs a u8/i8 input X and a table T`);
  }
  if (!t || t.dtype !== "u8" || t.shape.length !== 2 || t.shape[1] !== 256) {
    throw new Error(
      `${nodeLabel(node)}: T must be u8 [C, 256], got ${t ? `${t.dtype} [${t.shape}]` : "nothing"}`,
    );
  }
  const channels = t.shape[0];
  let inner = 1;
  if (channels > 1) {
    const axis = normalizeAxis(node, "axis", intAttr(node, "axis"), x.shape.length);
    if (x.shape[axis] !== channels) {
      throw new Error(
        `${nodeLabel(node)}: T has ${channels} rows but axis ${axis} of X [${x.shape}] has ${
          x.shape[axis]
        }`,
      );
    }
    inner = sizeOf(x.shape.slice(axis + 1));
  }
  const dtype = stringAttr(node, "to", ["u8", "i8"] as const);
  return { x, channels, inner, dtype };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const g = geometry(node, inputs);
  return [{ dtype: g.dtype, shape: [...g.x.shape] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = geometry(node, inputs);
  const [x, t] = inputs as Tensor[];
  const y = makeTensor(g.dtype, x.shape);
  for (let i = 0; i < x.data.length; i++) {
    const c = Math.floor(i / g.inner) % g.channels;
    const byte = t.data[c * 256 + (x.data[i] & 0xff)];
    y.data[i] = g.dtype === "i8" && byte > 127 ? byte - 256 : byte;
  }
  return [y];
}

const PARAMS = uniformLayout("Params", { length: "u32", inner: "u32", channels: "u32" });

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> table: array<u32>;
${PARAMS.struct}
@group(0) @binding(3) var<uniform> params: Params;
${packed8Load("x", "u8")}
${BYTE_OF_WGSL}

fn value_at(i: u32) -> i32 {
  let c = (i / params.inner) % params.channels;
  let index = c * 256u + u32(load_x(i));
  return i32(byte_of(table[index >> 2u], index & 3u));
}
${elementwiseMain("packed8", 2)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = geometry(ctx.node, ctx.inputs);
  const length = sizeOf(g.x.shape);
  return {
    programs: [{
      key: `qlinear_lookup_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "input", index: 1 }, {
        kind: "output",
        index: 0,
      }],
      uniforms: PARAMS.pack({ length, inner: g.inner, channels: g.channels }),
      workgroups: elementwiseWorkgroups("packed8", length, ctx.limits),
    }],
  };
}

/** QLinearLookup: per-channel 256-entry tables from 8-bit to 8-bit values. */
export const qlinearLookup: OpDef = { op: "QLinearLookup", inferTypes, reference, gpu };
