/**
 * The ops that move 8-bit tensors into and out of the NHWC4 layout (nhwc4.ts), built from one
 * packing and one unpacking kernel: PackNhwc / UnpackNhwc (unpacked side NCHW) and
 * PadChannels / UnpadChannels (unpacked side NHWC). The unpacked side is addressed through a
 * channel stride and a pixel stride, so both layouts share the WGSL and the reference.
 *
 * GPU: one invocation per output word. Compiled in: workgroup size only (both 8-bit dtypes
 * move raw bytes; the layout is a uniform).
 *
 * @module
 */

import { makeTensor, type Node, sizeOf, type Tensor, type TensorType } from "../graph/types.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import { uniformLayout } from "../shaders/uniform_layout.ts";
import { intAttr, nodeLabel, requireInputs, requireOutputs } from "./attributes.ts";
import { checkNhwc4, padChannels } from "./nhwc4.ts";
import type { GpuPlan, GpuPlanContext, OpDef } from "./op.ts";
import { quantRange } from "./quant_math.ts";

const WORKGROUP_SIZE = 64;

/** Where the channels of the unpacked (un-padded) 4-D tensor sit. */
export type UnpackedLayout = "nchw" | "nhwc";

/** [N, C, H, W] of an unpacked shape. */
function dims(layout: UnpackedLayout, shape: readonly number[]) {
  const [n, a, b, d] = shape;
  return layout === "nchw" ? { n, c: a, h: b, w: d } : { n, h: a, w: b, c: d };
}

/** The unpacked shape of [N, C, H, W]. */
function unpackedShape(layout: UnpackedLayout, n: number, c: number, h: number, w: number) {
  return layout === "nchw" ? [n, c, h, w] : [n, h, w, c];
}

/** Element strides of a channel and of a pixel within one image of the unpacked tensor. */
function strides(layout: UnpackedLayout, c: number, hw: number) {
  return layout === "nchw" ? { chStride: hw, pixStride: 1 } : { chStride: 1, pixStride: c };
}

function padValue(node: Node, dtype: "u8" | "i8"): number {
  const v = intAttr(node, "pad_value", 0);
  const [lo, hi] = quantRange(dtype);
  if (v < lo || v > hi) throw new Error(`${nodeLabel(node)}: pad_value ${v} is not a ${dtype}`);
  return v;
}

/** Workgroups for one invocation per output word. */
function grid(ctx: GpuPlanContext, words: number) {
  return workgroupGrid(
    Math.ceil(words / WORKGROUP_SIZE),
    ctx.limits.maxComputeWorkgroupsPerDimension,
  );
}

const BYTE_AT = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<u32>;

fn byte_at(i: u32) -> u32 {
  return (x[i >> 2u] >> ((i & 3u) * 8u)) & 0xffu;
}`;

const PACK_PARAMS = uniformLayout("Params", {
  words: "u32",
  c: "u32",
  hw: "u32",
  cw: "u32",
  pad_byte: "u32",
  ch_stride: "u32",
  pix_stride: "u32",
});

function packWgsl(): string {
  return /* wgsl */ `${BYTE_AT}
${PACK_PARAMS.struct}
@group(0) @binding(2) var<uniform> params: Params;

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
    if (ch < params.c) {
      v = byte_at(b * params.c * params.hw + ch * params.ch_stride + p * params.pix_stride);
    }
    out |= v << (8u * k);
  }
  y[word] = out;
}`;
}

/** The op taking an 8-bit `layout` tensor to NHWC4, padding channels set to `pad_value`. */
export function packOp(op: string, layout: UnpackedLayout): OpDef {
  function inferTypes(node: Node, inputs: (TensorType | undefined)[]): TensorType[] {
    const [x] = requireInputs(node, inputs, 1, ["u8", "i8"]);
    requireOutputs(node, 1);
    if (x.shape.length !== 4) {
      throw new Error(`${nodeLabel(node)}: input must be 4-D, got [${x.shape}]`);
    }
    padValue(node, x.dtype as "u8" | "i8");
    const { n, c, h, w } = dims(layout, x.shape);
    return [{ dtype: x.dtype, shape: [n, h, w, padChannels(c)] }];
  }

  function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
    const [type] = inferTypes(node, inputs);
    const x = inputs[0]!;
    const { n, c, h, w } = dims(layout, x.shape);
    const hw = h * w, cp = type.shape[3];
    const { chStride, pixStride } = strides(layout, c, hw);
    const y = makeTensor(type.dtype, type.shape);
    y.data.fill(padValue(node, x.dtype as "u8" | "i8"));
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        for (let p = 0; p < hw; p++) {
          y.data[(b * hw + p) * cp + ch] = x.data[b * c * hw + ch * chStride + p * pixStride];
        }
      }
    }
    return [y];
  }

  function gpu(ctx: GpuPlanContext): GpuPlan {
    const x = ctx.inputs[0]!;
    const { n, c, h, w } = dims(layout, x.shape);
    const hw = h * w, cw = ctx.outputs[0].shape[3] / 4;
    const words = n * hw * cw;
    const { chStride, pixStride } = strides(layout, c, hw);
    return {
      programs: [{
        key: `pack_nhwc4_wg${WORKGROUP_SIZE}`,
        wgsl: packWgsl,
        bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
        uniforms: PACK_PARAMS.pack({
          words,
          c,
          hw,
          cw,
          pad_byte: padValue(ctx.node, x.dtype as "u8" | "i8") & 0xff,
          ch_stride: chStride,
          pix_stride: pixStride,
        }),
        workgroups: grid(ctx, words),
      }],
    };
  }

  return { op, inferTypes, reference, gpu };
}

const UNPACK_PARAMS = uniformLayout("Params", {
  length: "u32",
  c: "u32",
  hw: "u32",
  cp: "u32",
  ch_stride: "u32",
  pix_stride: "u32",
});

function unpackWgsl(): string {
  return /* wgsl */ `${BYTE_AT}
${UNPACK_PARAMS.struct}
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let word = ${FLAT_WORKGROUP_INDEX} * ${WORKGROUP_SIZE}u + lid;
  let first = word * 4u;
  if (first >= params.length) { return; }
  var out = 0u;
  for (var k = 0u; k < 4u && first + k < params.length; k++) {
    let i = first + k;
    let p = (i / params.pix_stride) % params.hw;
    let ch = (i / params.ch_stride) % params.c;
    let b = i / (params.hw * params.c);
    out |= byte_at((b * params.hw + p) * params.cp + ch) << (8u * k);
  }
  y[word] = out;
}`;
}

/** The op taking an 8-bit NHWC4 tensor to `layout`, dropping padding; attribute `channels` is C. */
export function unpackOp(op: string, layout: UnpackedLayout): OpDef {
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
    return [{ dtype, shape: unpackedShape(layout, n, c, h, w) }];
  }

  function reference(node: Node, inputs: (Tensor | undefined)[]): Tensor[] {
    const [type] = inferTypes(node, inputs);
    const x = inputs[0]!;
    const { n, c, h, w } = dims(layout, type.shape);
    const hw = h * w, cp = x.shape[3];
    const { chStride, pixStride } = strides(layout, c, hw);
    const y = makeTensor(type.dtype, type.shape);
    for (let b = 0; b < n; b++) {
      for (let ch = 0; ch < c; ch++) {
        for (let p = 0; p < hw; p++) {
          y.data[b * c * hw + ch * chStride + p * pixStride] = x.data[(b * hw + p) * cp + ch];
        }
      }
    }
    return [y];
  }

  function gpu(ctx: GpuPlanContext): GpuPlan {
    const { c, h, w } = dims(layout, ctx.outputs[0].shape);
    const hw = h * w, length = sizeOf(ctx.outputs[0].shape);
    const { chStride, pixStride } = strides(layout, c, hw);
    return {
      programs: [{
        key: `unpack_nhwc4_wg${WORKGROUP_SIZE}`,
        wgsl: unpackWgsl,
        bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
        uniforms: UNPACK_PARAMS.pack({
          length,
          c,
          hw,
          cp: ctx.inputs[0]!.shape[3],
          ch_stride: chStride,
          pix_stride: pixStride,
        }),
        workgroups: grid(ctx, Math.ceil(length / 4)),
      }],
    };
  }

  return { op, inferTypes, reference, gpu };
}
