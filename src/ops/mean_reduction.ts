/**
 * Means over a set of axes, shared by ReduceMean and GlobalAveragePool: the float64
 * reference and the GPU workgroup reduction.
 *
 * GPU: one workgroup per output element. Its invocations stride over the reduced elements
 * (consecutive invocations read consecutive addresses when the reduced axes are innermost,
 * as for pooling planes), sum in f32, then combine the partial sums with a workgroup tree
 * reduction (src/shaders/reduce.ts) and invocation 0 writes sum / count. On CPU-like
 * adapters, for at most 1024 reduced elements, one invocation per output sums them in order
 * instead: llvmpipe runs a barrier as a coroutine switch, and ResNet-50's global average pool
 * (2048 outputs of 49) took 2.7 ms as a tree reduction. Kept and reduced dims each go through
 * the strided index maths, collapsed first, so any axis set works. Compiled in: the kernel,
 * workgroup size (tree: 64 for up to 1024 reduced elements, else 256).
 *
 * @module
 */

import { makeTensor, sizeOf, type Tensor } from "../graph/types.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import { reductionWorkgroupSize, workgroupReduceFns } from "../shaders/reduce.ts";
import {
  collapseDims,
  contiguousStrides,
  STRIDED_FIELD,
  stridedOffset,
  stridedOffsetsFn,
  stridedWords,
} from "../shaders/strided.ts";
import { nodeLabel } from "./attributes.ts";
import type { GpuPlan, GpuPlanContext } from "./op.ts";

/** The shape of a mean over `axes` (normalised): reduced dims become 1 or disappear. */
export function reducedShape(
  shape: readonly number[],
  axes: readonly number[],
  keepdims: boolean,
): number[] {
  return shape.flatMap((d, i) => (axes.includes(i) ? (keepdims ? [1] : []) : [d]));
}

/** Mean of `x` over `axes` (normalised), summed in float64. */
export function meanReference(x: Tensor, axes: readonly number[], keepdims: boolean): Tensor {
  const kept = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  // Each input element adds into the output element at its coordinates with the reduced
  // ones zeroed: output strides over the input dims, 0 along reduced axes.
  const toOutput = contiguousStrides(kept).map((s, i) => (axes.includes(i) ? 0 : s));
  const sums = new Float64Array(sizeOf(kept));
  for (let i = 0; i < x.data.length; i++) {
    sums[stridedOffset(i, x.shape, toOutput)] += x.data[i];
  }
  const count = sizeOf(axes.map((a) => x.shape[a]));
  return makeTensor("f32", reducedShape(x.shape, axes, keepdims), sums.map((s) => s / count));
}

/** Reduced elements up to which CPU-like adapters sum each output in one invocation. */
const SERIAL_MAX_COUNT = 1024;

/**
 * The kernel: one workgroup of `workgroupSize` per output with a tree reduction, or with
 * `serial` one invocation per output summing its elements in order.
 */
function wgsl(workgroupSize: number, serial: boolean): string {
  const head = /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<f32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
struct Params {
  length: u32, kept_rank: u32, reduced_rank: u32, count: u32,
  kept_dims: ${STRIDED_FIELD}, kept_strides: ${STRIDED_FIELD},
  reduced_dims: ${STRIDED_FIELD}, reduced_strides: ${STRIDED_FIELD},
}
@group(0) @binding(2) var<uniform> params: Params;
${stridedOffsetsFn("kept_offset", "params.kept_rank", "params.kept_dims", ["params.kept_strides"])}
${
    stridedOffsetsFn("reduced_offset", "params.reduced_rank", "params.reduced_dims", [
      "params.reduced_strides",
    ])
  }`;
  if (serial) {
    return /* wgsl */ `${head}

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let o = ${FLAT_WORKGROUP_INDEX} * ${workgroupSize}u + lid;
  if (o >= params.length) { return; }
  let base = kept_offset(o)[0];
  var sum = 0.0;
  for (var r = 0u; r < params.count; r++) {
    sum += x[base + reduced_offset(r)[0]];
  }
  y[o] = sum / f32(params.count);
}`;
  }
  return /* wgsl */ `${head}
${workgroupReduceFns(workgroupSize, [{ name: "reduce_sum", combine: "a + b" }])}

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let o = ${FLAT_WORKGROUP_INDEX};
  if (o >= params.length) { return; }
  let base = kept_offset(o)[0];
  var sum = 0.0;
  for (var r = lid; r < params.count; r += ${workgroupSize}u) {
    sum += x[base + reduced_offset(r)[0]];
  }
  let total = reduce_sum(sum, lid);
  if (lid == 0u) {
    y[o] = total / f32(params.count);
  }
}`;
}

/** The GPU plan of a mean over `axes` (normalised) of input 0 into output 0. */
export function planMean(ctx: GpuPlanContext, axes: readonly number[]): GpuPlan {
  const shape = ctx.inputs[0]!.shape;
  const strides = contiguousStrides(shape);
  const split = (reduced: boolean) => {
    const dims = shape.map((_, i) => i).filter((i) => axes.includes(i) === reduced);
    return collapseDims(dims.map((i) => shape[i]), [dims.map((i) => strides[i])]);
  };
  const kept = split(false);
  const reduced = split(true);
  const length = sizeOf(ctx.outputs[0].shape);
  const count = sizeOf(reduced.dims);
  const serial = ctx.isFallbackAdapter && count <= SERIAL_MAX_COUNT;
  const workgroupSize = serial ? 64 : reductionWorkgroupSize(count);
  const owner = nodeLabel(ctx.node);
  return {
    programs: [{
      key: `mean_f32_${serial ? "serial" : "tree"}_wg${workgroupSize}`,
      wgsl: () => wgsl(workgroupSize, serial),
      bindings: [{ kind: "input", index: 0 }, { kind: "output", index: 0 }],
      uniforms: new Uint32Array([
        length,
        kept.dims.length,
        reduced.dims.length,
        count,
        ...stridedWords(kept.dims, owner),
        ...stridedWords(kept.strides[0], owner),
        ...stridedWords(reduced.dims, owner),
        ...stridedWords(reduced.strides[0], owner),
      ]),
      workgroups: workgroupGrid(
        serial ? Math.ceil(length / workgroupSize) : length,
        ctx.limits.maxComputeWorkgroupsPerDimension,
      ),
    }],
  };
}
