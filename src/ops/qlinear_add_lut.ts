/**
 * QLinearAddLut: QLinearAdd as a table lookup, made by lowerInt8: the output byte for every
 * pair of input bytes is computed once on the host with onnxruntime's exact arithmetic
 * (`qlinearAddTable`), so the GPU needs no fused multiply-add, whose rounding WGSL does not
 * pin down (it may be computed unfused), and no float arithmetic at all.
 *
 * Inputs `A, B` (u8/i8, numpy broadcasting) and `T` (u8 [65536]); output element
 * `T[(a << 8) | b]` for the raw bytes a, b. The table depends on which operand onnxruntime
 * treats as the span (qlinear_add.ts), so it is built for the node's shapes.
 *
 * GPU: one invocation per four outputs (one packed word), strided broadcast reads of raw
 * bytes. Compiled in: workgroup size only.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { BYTE_OF_WGSL, LUT_BYTE_WGSL } from "../shaders/int8_pack.ts";
import { packed8Load } from "../shaders/packed8.ts";
import {
  BINARY_STRIDED_PARAMS,
  binaryStridedUniforms,
  collapseDims,
  stridedOffset,
  stridedOffsetsFn,
} from "../shaders/strided.ts";
import { nodeLabel, requireOutputs } from "./attributes.ts";
import { broadcastShape, broadcastStrides } from "./broadcast.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { qlinearAddFormula } from "./qlinear_add.ts";

/** The table of a QLinearAdd with operands `inputs` (QLinearAdd order) for A, B shapes. */
export function qlinearAddTable(
  inputs: readonly (Tensor | undefined)[],
  shapes: { a: readonly number[]; b: readonly number[] },
): Tensor {
  const formula = qlinearAddFormula(inputs, shapes);
  const signed = inputs[0]!.dtype === "i8";
  const value = (byte: number) => (signed && byte > 127 ? byte - 256 : byte);
  const table = makeTensor("u8", [65536]);
  for (let i = 0; i < 65536; i++) {
    table.data[i] = formula.value(value(i >> 8), value(i & 255)) & 0xff;
  }
  return table;
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  requireOutputs(node, 1);
  const [a, b, t] = inputs;
  if (
    inputs.length !== 3 || !a || !b || a.dtype !== b.dtype || (a.dtype !== "u8" && a.dtype !== "i8")
  ) {
    throw new Error(`${nodeLabel(node)}: needs A and B of one 8-bit dtype and a table T`);
  }
  if (!t || t.dtype !== "u8" || t.shape.length !== 1 || t.shape[0] !== 65536) {
    throw new Error(
      `${nodeLabel(node)}: T must be u8 [65536], got ${t ? `${t.dtype} [${t.shape}]` : "nothing"}`,
    );
  }
  return [{ dtype: a.dtype, shape: broadcastShape(node, a.shape, b.shape) }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [type] = inferTypes(node, inputs);
  const [a, b, t] = inputs as Tensor[];
  const sa = broadcastStrides(a.shape, type.shape);
  const sb = broadcastStrides(b.shape, type.shape);
  const y = makeTensor(type.dtype, type.shape);
  for (let i = 0; i < y.data.length; i++) {
    const av = a.data[stridedOffset(i, type.shape, sa)] & 0xff;
    const bv = b.data[stridedOffset(i, type.shape, sb)] & 0xff;
    y.data[i] = t.data[(av << 8) | bv];
  }
  return [y];
}

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> b: array<u32>;
@group(0) @binding(2) var<storage, read> lut: array<u32>;
${BINARY_STRIDED_PARAMS}
@group(0) @binding(4) var<uniform> params: Params;
${packed8Load("a", "u8")}
${packed8Load("b", "u8")}
${BYTE_OF_WGSL}
${LUT_BYTE_WGSL}
${
    stridedOffsetsFn("offsets", "params.rank", "params.dims", [
      "params.a_strides",
      "params.b_strides",
    ])
  }

fn value_at(i: u32) -> i32 {
  let o = offsets(i);
  return i32(lut_byte((u32(load_a(o[0])) << 8u) | u32(load_b(o[1]))));
}
${elementwiseMain("packed8", 3)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const [a, b] = ctx.inputs as TensorType[];
  const out = ctx.outputs[0];
  const length = sizeOf(out.shape);
  const { dims, strides } = collapseDims(out.shape, [
    broadcastStrides(a.shape, out.shape),
    broadcastStrides(b.shape, out.shape),
  ]);
  const owner = nodeLabel(ctx.node);
  return {
    programs: [{
      key: `qlinear_add_lut_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl,
      bindings: [
        { kind: "input", index: 0 },
        { kind: "input", index: 1 },
        { kind: "input", index: 2 },
        { kind: "output", index: 0 },
      ],
      uniforms: binaryStridedUniforms(length, dims, [strides[0], strides[1]], owner),
      workgroups: elementwiseWorkgroups("packed8", length, ctx.limits),
    }],
  };
}

/** QLinearAddLut: QLinearAdd through a 65536-entry table of output bytes. */
export const qlinearAddLut: OpDef = { op: "QLinearAddLut", inferTypes, reference, gpu };
