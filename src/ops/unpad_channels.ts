/**
 * UnpadChannels: an 8-bit NHWC4 tensor [N, H, W, Cp] (nhwc4.ts) back to NHWC [N, H, W, C],
 * dropping the padding channels; attribute `channels` is C. The TFLite importer inserts it
 * where an int8 tensor whose channels are not a multiple of 4 leaves the int8 ops (a graph
 * output, a RESHAPE, a DEQUANTIZE). The inverse of PadChannels (pad_channels.ts).
 *
 * GPU: one invocation per output word (four consecutive NHWC bytes). Compiled in: workgroup
 * size only.
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
  return [{ dtype, shape: [n, h, w, c] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [type] = inferTypes(node, inputs);
  const x = inputs[0]!;
  const c = type.shape[3], cp = x.shape[3];
  const y = makeTensor(type.dtype, type.shape);
  for (let p = 0; p < sizeOf(type.shape) / c; p++) {
    for (let ch = 0; ch < c; ch++) y.data[p * c + ch] = x.data[p * cp + ch];
  }
  return [y];
}

const PARAMS = uniformLayout("Params", { length: "u32", c: "u32", cp: "u32" });

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;
${PARAMS.struct}
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let word = ${FLAT_WORKGROUP_INDEX} * ${WORKGROUP_SIZE}u + lid;
  if (word * 4u >= params.length) { return; }
  var out = 0u;
  for (var k = 0u; k < 4u && word * 4u + k < params.length; k++) {
    let o = word * 4u + k;
    let i = (o / params.c) * params.cp + o % params.c;
    out |= ((x[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu) << (8u * k);
  }
  y[word] = out;
}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const length = sizeOf(ctx.outputs[0].shape);
  const words = Math.ceil(length / 4);
  return {
    programs: [{
      key: `unpad_channels_wg${WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: PARAMS.pack({
        length,
        c: ctx.outputs[0].shape[3],
        cp: ctx.inputs[0]!.shape[3],
      }),
      workgroups: workgroupGrid(
        Math.ceil(words / WORKGROUP_SIZE),
        ctx.limits.maxComputeWorkgroupsPerDimension,
      ),
    }],
  };
}

/** UnpadChannels: 8-bit NHWC4 to NHWC. */
export const unpadChannelsOp: OpDef = { op: "UnpadChannels", inferTypes, reference, gpu };
