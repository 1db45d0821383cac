/**
 * Softmax (opset 13) along one `axis` (default -1) of an f32 tensor:
 * y = exp(x - max) / sum(exp(x - max)) over the axis, the max subtracted for stability.
 * The reference sums in float64.
 *
 * GPU: one workgroup per row (a position of the other dims; the row's elements are `inner`
 * apart). Three strided passes over the row: max, sum of exponentials, output, each
 * followed by a workgroup tree reduction (src/shaders/reduce.ts). Compiled in: workgroup
 * size (64 for rows up to 1024 elements, else 256).
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import { reductionWorkgroupSize, workgroupReduceFns } from "../shaders/reduce.ts";
import { intAttr, requireInputs, requireOutputs } from "./attributes.ts";
import { type AxisView, axisView } from "./axis_view.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

function softmaxAxis(node: Node, shape: readonly number[]): AxisView & { length: number } {
  const view = axisView(node, shape, intAttr(node, "axis", -1));
  return { ...view, length: shape[view.axis] };
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, ["f32"]);
  requireOutputs(node, 1);
  softmaxAxis(node, x.shape);
  return [{ dtype: "f32", shape: [...x.shape] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const { outer, inner, length } = softmaxAxis(node, x.shape);
  const y = makeTensor("f32", x.shape);
  for (let o = 0; o < outer; o++) {
    for (let j = 0; j < inner; j++) {
      const at = (k: number) => (o * length + k) * inner + j;
      let max = -Infinity;
      for (let k = 0; k < length; k++) max = Math.max(max, x.data[at(k)]);
      let sum = 0;
      for (let k = 0; k < length; k++) sum += Math.exp(x.data[at(k)] - max);
      for (let k = 0; k < length; k++) y.data[at(k)] = Math.exp(x.data[at(k)] - max) / sum;
    }
  }
  return [y];
}

function wgsl(workgroupSize: number): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct Params { rows: u32, length: u32, inner: u32 }
@group(0) @binding(2) var<uniform> params: Params;
${
    workgroupReduceFns(workgroupSize, [
      { name: "reduce_max", combine: "max(a, b)" },
      { name: "reduce_sum", combine: "a + b" },
    ])
  }

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let row = ${FLAT_WORKGROUP_INDEX};
  if (row >= params.rows) { return; }
  let base = (row / params.inner) * params.length * params.inner + row % params.inner;
  let step = params.inner;
  // Every invocation starts from the row's first element, so idle ones add no false max.
  var partial_max = x[base];
  for (var k = lid; k < params.length; k += ${workgroupSize}u) {
    partial_max = max(partial_max, x[base + k * step]);
  }
  let row_max = reduce_max(partial_max, lid);
  var partial_sum = 0.0;
  for (var k = lid; k < params.length; k += ${workgroupSize}u) {
    partial_sum += exp(x[base + k * step] - row_max);
  }
  let row_sum = reduce_sum(partial_sum, lid);
  for (var k = lid; k < params.length; k += ${workgroupSize}u) {
    y[base + k * step] = exp(x[base + k * step] - row_max) / row_sum;
  }
}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const { outer, inner, length } = softmaxAxis(ctx.node, ctx.inputs[0]!.shape);
  const rows = length === 0 ? 0 : outer * inner;
  const workgroupSize = reductionWorkgroupSize(length);
  return {
    programs: [{
      key: `softmax_f32_wg${workgroupSize}`,
      wgsl: () => wgsl(workgroupSize),
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: new Uint32Array([rows, length, inner]),
      workgroups: workgroupGrid(rows, ctx.limits.maxComputeWorkgroupsPerDimension),
    }],
  };
}

/** Softmax along one axis of an f32 tensor. */
export const softmax: OpDef = { op: "Softmax", inferTypes, reference, gpu };
