/**
 * PackNhwc: an 8-bit NCHW tensor [N, C, H, W] to the NHWC4 layout [N, H, W, Cp] (nhwc4.ts);
 * padding channels are filled with attribute `pad_value` (the tensor's zero point).
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
import { nhwc4Shape } from "./nhwc4.ts";
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
  return [{ dtype: x.dtype, shape: nhwc4Shape(x.shape) }];
}

function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
  const [type] = inferTypes(node, inputs);
  const x = inputs[0]!;
  const [n, c, h, w] = x.shape;
  const cp = type.shape[3];
  const y = makeTensor(type.dtype, type.shape);
  y.data.fill(padValue(node, x.dtype as "u8" | "i8"));
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let p = 0; p < h * w; p++) {
        y.data[(b * h * w + p) * cp + ch] = x.data[(b * c + ch) * h * w + p];
      }
    }
  }
  return [y];
}

const PARAMS = uniformLayout("Params", {
  words: "u32",
  c: "u32",
  hw: "u32",
  cw: "u32",
  pad_byte: "u32",
});

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
  if (word >= params.words) { return; }
  let c4 = word % params.cw;
  let pixel = word / params.cw;
  let b = pixel / params.hw;
  let p = pixel % params.hw;
  var out = 0u;
  for (var k = 0u; k < 4u; k++) {
    let ch = c4 * 4u + k;
    var v = params.pad_byte;
    if (ch < params.c) { v = byte_at((b * params.c + ch) * params.hw + p); }
    out |= v << (8u * k);
  }
  y[word] = out;
}`;
}

function gpu(ctx: GpuPlanContext): GpuPlan {
  const x = ctx.inputs[0]!;
  const [n, c, h, w] = x.shape;
  const cw = ctx.outputs[0].shape[3] / 4;
  const words = n * h * w * cw;
  return {
    programs: [{
      key: `pack_nhwc_wg${WORKGROUP_SIZE}`,
      wgsl,
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: PARAMS.pack({
        words,
        c,
        hw: h * w,
        cw,
        pad_byte: padValue(ctx.node, x.dtype as "u8" | "i8") & 0xff,
      }),
      workgroups: workgroupGrid(
        Math.ceil(words / WORKGROUP_SIZE),
        ctx.limits.maxComputeWorkgroupsPerDimension,
      ),
    }],
  };
}

/** PackNhwc: 8-bit NCHW to NHWC4. */
export const packNhwc: OpDef = { op: "PackNhwc", inferTypes, reference, gpu };
