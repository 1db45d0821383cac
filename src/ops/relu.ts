/**
 * Relu: y = max(x, 0), elementwise on f32.
 *
 * GPU: one invocation per element, 256 invocations per workgroup, flat workgroup index so
 * that any length fits the dispatch limits.
 *
 * @module
 */

import { makeTensor, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import type { GpuPlanContext, OpDef } from "./op.ts";

const WORKGROUP_SIZE = 256;

function inferTypes(node: { name: string }, inputs: (TensorType | undefined)[]): TensorType[] {
  const x = inputs[0];
  if (!x || x.dtype !== "f32") throw new Error(`Relu "${node.name}" needs one f32 input`);
  return [{ dtype: "f32", shape: [...x.shape] }];
}

function reference(_node: unknown, inputs: (Tensor | undefined)[]): Tensor[] {
  const x = inputs[0]!;
  const y = makeTensor("f32", x.shape);
  for (let i = 0; i < x.data.length; i++) y.data[i] = Math.max(x.data[i], 0);
  return [y];
}

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct Params { length: u32 }
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${FLAT_WORKGROUP_INDEX} * ${WORKGROUP_SIZE}u + lid;
  if (i < params.length) {
    y[i] = max(x[i], 0.0);
  }
}`;
}

function gpu(ctx: GpuPlanContext) {
  const length = sizeOf(ctx.outputs[0].shape);
  return {
    programs: [{
      key: `relu_f32_wg${WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 } as const, { kind: "output", index: 0 } as const],
      uniforms: new Uint32Array([length]),
      workgroups: workgroupGrid(
        Math.ceil(length / WORKGROUP_SIZE),
        ctx.limits.maxComputeWorkgroupsPerDimension,
      ),
    }],
  };
}

/** Relu on f32 tensors. */
export const relu: OpDef = { op: "Relu", inferTypes, reference, gpu };
