/**
 * UnpackNhwc: an NHWC4 tensor [N, H, W, Cp] (nhwc4.ts) back to 8-bit NCHW [N, C, H, W],
 * dropping the padding channels; attribute `channels` is C.
 *
 * GPU: one invocation per output word (four consecutive NCHW elements). Compiled in:
 * workgroup size only.
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { intAttr, nodeLabel, requireOutputs } from "./attributes.ts";
import { checkNhwc4, padChannels } from "./nhwc4.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";

const WORKGROUP_SIZE = 64;

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  requireOutputs(node, 1);
  if (inputs.length !== 1) {
    throw new Error(`${nodeLabel(node)}: needs 1 input, got ${inputs.length}`);
  }
  const { n, h, w, cp, dtype } = checkNhwc4(node, inputs[0], "input");
  const c = intAttr(node, "channels");
  if (c < 1 || padChannels(c) !== cp) {
    throw new Error(`${nodeLabel(node)}: channels ${c} does not fit ${cp} packed channels`);
  }
  return [{ dtype, shape: [n, c, h, w] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [type] = inferTypes(node, inputs);
  const x = inputs[0]!;
  const [n, c, h, w] = type.shape;
  const cp = x.shape[3];
  const y = makeTensor(type.dtype, type.shape);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) {
        y.data[(b * c + ch) * h * w + p] = x.data[(b * h * w + p) * cp + ch];
      }
    }
  }
  return [y];
}

const PARAMS = uniformLayout("Params", { length: "u32", c: "u32", hw: "u32", cp: "u32" });

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
${PARAMS.struct}
@group(0) @binding(2) var<uniform> params: Params;

fn byte_at(i: u32) -> u32 {
  return (x[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let word = ${FLAT_WORKGROUP_INDEX} * ${WORKGROUP_SIZE}u + lid;
  let first = word * 4u;
  if (first >= params.length) { return; }
  var out = 0u;
  for (var k = 0u; k < 4u && first + k < params.length; k++) {
    let i = first + k;
    let p = i % params.hw;
    let ch = (i / params.hw) % params.c;
    let b = i / (params.hw * params.c);
    out |= byte_at((b * params.hw + p) * params.cp + ch) << (8u * k);
  }
  y[word] = out;
}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const [, c, h, w] = ctx.outputs[0].shape;
  const length = sizeOf(ctx.outputs[0].shape);
  return {
    programs: [{
      key: `unpack_nhwc_wg${WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: PARAMS.pack({ length, c, hw: h * w, cp: ctx.inputs[0]!.shape[3] }),
      workgroups: workgroupGrid(
        Math.ceil(length / 4 / WORKGROUP_SIZE),
        ctx.limits.maxComputeWorkgroupsPerDimension,
      ),
    }],
  };
}

/** UnpackNhwc: NHWC4 back to 8-bit NCHW. */
export const unpackNhwc: OpDef = { op: "UnpackNhwc", inferTypes, reference, gpu };
