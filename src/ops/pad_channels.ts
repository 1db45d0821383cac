/**
 * PadChannels: an 8-bit NHWC tensor [N, H, W, C] to the NHWC4 layout [N, H, W, Cp] (nhwc4.ts),
 * the padding channels filled with attribute `pad_value` (the tensor's zero point). The TFLite
 * importer inserts it where an int8 NHWC tensor whose channels are not a multiple of 4 (an RGB
 * image) enters the int8 ops.
 *
 * GPU: one invocation per output word (four channels of one pixel). Compiled in: workgroup
 * size only (both 8-bit dtypes move raw bytes).
 *
 * @module
 */

import { makeTensor, type Node, type Tensor, type TensorType } from "../graph/types.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { intAttr, nodeLabel, requireInputs, requireOutputs } from "./attributes.ts";
import { padChannels } from "./nhwc4.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { quantRange } from "./quant_math.ts";

const WORKGROUP_SIZE = 64;

function padValue(node: Node, dtype: "u8" | "i8"): number {
  const v = intAttr(node, "pad_value", 0);
  const [lo, hi] = quantRange(dtype);
  if (v < lo || v > hi) throw new Error(`${nodeLabel(node)}: pad_value ${v} is not a ${dtype}`);
  return v;
}

function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
  const [x] = requireInputs(node, inputs, 1, ["u8", "i8"]);
  requireOutputs(node, 1);
  if (x.shape.length !== 4) {
    throw new Error(`${nodeLabel(node)}: input must be 4-D, got [${x.shape}]`);
  }
  padValue(node, x.dtype as "u8" | "i8");
  const [n, h, w, c] = x.shape;
  return [{ dtype: x.dtype, shape: [n, h, w, padChannels(c)] }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [type] = inferTypes(node, inputs);
  const x = inputs[0]!;
  const c = x.shape[3], cp = type.shape[3];
  const y = makeTensor(type.dtype, type.shape);
  y.data.fill(padValue(node, x.dtype as "u8" | "i8"));
  for (let p = 0; p < x.data.length / c; p++) {
    for (let ch = 0; ch < c; ch++) y.data[p * cp + ch] = x.data[p * c + ch];
  }
  return [y];
}

const PARAMS = uniformLayout("Params", { words: "u32", c: "u32", cw: "u32", pad_byte: "u32" });

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
  if (word >= params.words) { return; }
  let pixel = word / params.cw;
  var out = 0u;
  for (var k = 0u; k < 4u; k++) {
    let ch = (word % params.cw) * 4u + k;
    var v = params.pad_byte;
    if (ch < params.c) {
      let i = pixel * params.c + ch;
      v = (x[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
    }
    out |= v << (8u * k);
  }
  y[word] = out;
}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const [n, h, w, c] = ctx.inputs[0]!.shape;
  const cw = ctx.outputs[0].shape[3] / 4;
  const words = n * h * w * cw;
  return {
    programs: [{
      key: `pad_channels_wg${WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: PARAMS.pack({
        words,
        c,
        cw,
        pad_byte: padValue(ctx.node, ctx.inputs[0]!.dtype as "u8" | "i8") & 0xff,
      }),
      workgroups: workgroupGrid(
        Math.ceil(words / WORKGROUP_SIZE),
        ctx.limits.maxComputeWorkgroupsPerDimension,
      ),
    }],
  };
}

/** PadChannels: 8-bit NHWC to NHWC4. */
export const padChannelsOp: OpDef = { op: "PadChannels", inferTypes, reference, gpu };
