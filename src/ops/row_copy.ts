/**
 * Copies of row blocks between 32-bit tensors, the GPU work of Concat and Split: a tensor
 * viewed as [outer, axis, inner] around one axis is a set of `outer` rows, and a slice along
 * the axis is a block of each row at a fixed offset.
 *
 * GPU: one invocation per copied word; dst[row * dstStride + dstOffset + col] =
 * src[row * srcStride + srcOffset + col]. Words, not typed values, so one pipeline serves
 * f32 and i32. Compiled in: workgroup size only.
 *
 * @module
 */

import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import type { GpuBindingSource, GpuProgram } from "./op.ts";

const WORKGROUP_SIZE = 256;

/** One block copy: `rows` rows of `rowLength` words. */
export interface RowCopy {
  /** Binding read from. */
  src: GpuBindingSource;
  /** Binding written to. */
  dst: GpuBindingSource;
  /** Rows and words per row copied. */
  rows: number;
  rowLength: number;
  /** Words between consecutive rows, and the offset of the block, in each buffer. */
  srcStride: number;
  srcOffset: number;
  dstStride: number;
  dstOffset: number;
}

function wgsl(): string {
  return /* wgsl */ `
@group(0) @binding(0) var<storage, read> src: array<u32>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
struct Params {
  length: u32, row_length: u32, src_stride: u32, src_offset: u32,
  dst_stride: u32, dst_offset: u32,
}
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${FLAT_WORKGROUP_INDEX} * ${WORKGROUP_SIZE}u + lid;
  if (i >= params.length) { return; }
  let row = i / params.row_length;
  let col = i % params.row_length;
  dst[row * params.dst_stride + params.dst_offset + col] =
    src[row * params.src_stride + params.src_offset + col];
}`;
}

/** The programs for `copies`, skipping empty ones. */
export function rowCopyPrograms(
  copies: readonly RowCopy[],
  limits: GPUSupportedLimits,
): GpuProgram[] {
  return copies.filter((c) => c.rows * c.rowLength > 0).map((c) => {
    const length = c.rows * c.rowLength;
    return {
      key: `rowcopy_b32_wg${WORKGROUP_SIZE}`,
      wgsl,
      bindings: [c.src, c.dst],
      uniforms: new Uint32Array([
        length,
        c.rowLength,
        c.srcStride,
        c.srcOffset,
        c.dstStride,
        c.dstOffset,
      ]),
      workgroups: workgroupGrid(
        Math.ceil(length / WORKGROUP_SIZE),
        limits.maxComputeWorkgroupsPerDimension,
      ),
    };
  });
}
