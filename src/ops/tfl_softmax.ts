/**
 * TflSoftmax: TFLite's int8 SOFTMAX over the last axis, as TFLite's optimized kernel computes
 * it on every non-aarch64 target (LiteRT's wasm build included; docs/TFLITE.md): made by the
 * TFLite importer. Inputs: 0 `X` i8; 1 `T` f32 [256], the exponential table of tfl_math.ts
 * `softmaxTable` (precomputed at import from the input scale and beta). Attributes `y_scale`,
 * `y_zero_point`.
 *
 * Semantics per row (tfl_math.ts `softmaxRow`): with m the row maximum, `e_j = T[255 - m + x_j]`,
 * `sum` their f32 running sum in order, `inv = 1 / (sum * y_scale)` in f32, and
 * `y_j = round_half_away(e_j * inv) + y_zero_point`, clamped to int8.
 *
 * GPU: one invocation per output word; each output recomputes its row's maximum and sum in
 * the same order (rows are short: the classes of a classifier). f32 addition and
 * multiplication are correctly rounded in WGSL but division is not (2.5 ulp), so the
 * reciprocal is the exact integer division of src/shaders/f32_divide.ts. Compiled in:
 * workgroup size only.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import {
  ELEMENTWISE_WORKGROUP_SIZE,
  elementwiseMain,
  elementwiseWorkgroups,
} from "../shaders/elementwise.ts";
import { DIVIDE_WGSL } from "../shaders/f32_divide.ts";
import { packed8Load } from "../shaders/packed8.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { floatAttr, intAttr, nodeLabel, requireOutputs } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { INT8_MAX, INT8_MIN, softmaxRow } from "./tfl_math.ts";

function geometry(node: Node, inputs: readonly (TensorType | undefined)[]) {
  requireOutputs(node, 1);
  const [x, t] = inputs;
  if (inputs.length !== 2 || x?.dtype !== "i8" || x.shape.length === 0) {
    throw new Error(`${nodeLabel(node)}: needs an i8 input X of rank >= 1 and the table T`);
  }
  if (t?.dtype !== "f32" || t.shape.length !== 1 || t.shape[0] !== 256) {
    throw new Error(`${nodeLabel(node)}: T must be f32 [256]`);
  }
  const yScale = Math.fround(floatAttr(node, "y_scale", NaN));
  // The exact division needs normal f32 values: scales well inside the exponent range.
  if (!(yScale >= 2 ** -60 && yScale <= 2 ** 60)) {
    throw new Error(`${nodeLabel(node)}: y_scale ${yScale} must be within [2^-60, 2^60]`);
  }
  const yZero = intAttr(node, "y_zero_point");
  if (yZero < INT8_MIN || yZero > INT8_MAX) {
    throw new Error(`${nodeLabel(node)}: y_zero_point ${yZero} is not an int8`);
  }
  return { shape: x.shape, classes: x.shape[x.shape.length - 1], yScale, yZero };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  return [{ dtype: "i8", shape: [...geometry(node, inputs).shape] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const g = geometry(node, inputs);
  const x = inputs[0]!.data, table = inputs[1]!.data as Float32Array;
  const y = makeTensor("i8", g.shape);
  for (let first = 0; first < x.length; first += g.classes) {
    const row = x.subarray(first, first + g.classes);
    y.data.set(softmaxRow(row, table, g.yScale, g.yZero), first);
  }
  return [y];
}

const PARAMS = uniformLayout("Params", {
  length: "u32",
  classes: "u32",
  y_scale: "f32",
  y_zero: "i32",
});

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read> t: array<f32>;
${PARAMS.struct}
@group(0) @binding(3) var<uniform> params: Params;
${packed8Load("x", "i8")}
${DIVIDE_WGSL}

fn value_at(i: u32) -> i32 {
  let first = (i / params.classes) * params.classes;
  var top = -128;
  for (var j = 0u; j < params.classes; j++) { top = max(top, load_x(first + j)); }
  var sum = 0.0;
  for (var j = 0u; j < params.classes; j++) { sum += t[u32(255 - top + load_x(first + j))]; }
  let inv = divide(1.0, sum * params.y_scale);
  let p = t[u32(255 - top + load_x(i))] * inv;
  let whole = floor(p);
  let rounded = select(whole, whole + 1.0, p - whole >= 0.5);
  return clamp(i32(rounded) + params.y_zero, -128, 127);
}
${elementwiseMain("packed8", 2)}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const g = geometry(ctx.node, ctx.inputs);
  const length = sizeOf(ctx.outputs[0].shape);
  return {
    programs: [{
      key: `tfl_softmax_wg${ELEMENTWISE_WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "input", index: 1 }, {
        kind: "output",
        index: 0,
      }],
      uniforms: PARAMS.pack({ length, classes: g.classes, y_scale: g.yScale, y_zero: g.yZero }),
      workgroups: elementwiseWorkgroups("packed8", length, ctx.limits),
    }],
  };
}

/** TflSoftmax: TFLite int8 SOFTMAX over the last axis. */
export const tflSoftmax: OpDef = { op: "TflSoftmax", inferTypes, reference, gpu };
