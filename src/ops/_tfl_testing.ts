/**
 * Test helpers for the TFLite int8 ops: seeded int8 data, NHWC <-> NHWC4 with random bytes in
 * the padding channels (which no op may let through), TFLite's SAME/VALID window arithmetic,
 * and the two requantizations written out independently of tfl_requant.ts.
 *
 * @module
 */

import {
  createPoisonedBuffer,
  createUniformBuffer,
  readTensor,
  uploadTensor,
} from "../executor/gpu_buffers.ts";
import { makeTensor, type Tensor } from "../graph/types.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "../shaders/grid.ts";
import type { TestGpu } from "../testing/gpu.ts";
import { seededRandom } from "../testing/random.ts";
import { padChannels } from "./nhwc4.ts";
import { roundHalfEven } from "./quant_math.ts";
import { multiplyByQuantizedMultiplier, type QuantizedMultiplier } from "./tfl_math.ts";

/** Seeded integers in [lo, hi]. */
export function randomInts(seed: number, count: number, lo = -128, hi = 127): number[] {
  const rand = seededRandom(seed);
  return Array.from({ length: count }, () => lo + Math.floor(rand() * (hi - lo + 1)));
}

/** NHWC `[n, h, w, c]` int8 -> NHWC4, the padding channels filled with random bytes. */
export function toNhwc4(x: Tensor, seed: number): Tensor {
  const [n, h, w, c] = x.shape;
  const cp = padChannels(c);
  const garbage = randomInts(seed, n * h * w * cp);
  const out = makeTensor("i8", [n, h, w, cp], garbage);
  for (let p = 0; p < n * h * w; p++) {
    for (let ch = 0; ch < c; ch++) out.data[p * cp + ch] = x.data[p * c + ch];
  }
  return out;
}

/** NHWC4 -> NHWC with `c` channels (dropping the padding). */
export function fromNhwc4(y: Tensor, c: number): number[] {
  const cp = y.shape[3];
  const out: number[] = [];
  for (let p = 0; p < y.data.length / cp; p++) {
    for (let ch = 0; ch < c; ch++) out.push(y.data[p * cp + ch]);
  }
  return out;
}

/** One spatial axis of a TFLite window: output size and leading pad. */
export function tfliteAxis(
  size: number,
  kernel: number,
  stride: number,
  dilation: number,
  padding: "SAME" | "VALID",
): { out: number; before: number; after: number } {
  const extent = (kernel - 1) * dilation + 1;
  if (padding === "VALID") {
    return { out: Math.floor((size - extent) / stride) + 1, before: 0, after: 0 };
  }
  const out = Math.ceil(size / stride);
  const total = Math.max(0, (out - 1) * stride + extent - size);
  return { out, before: Math.floor(total / 2), after: total - Math.floor(total / 2) };
}

/** XNNPACK's requantization: f32 scale, clamp, round half to even, + zero point. */
export function xnnpackRequant(
  acc: number,
  scale: number,
  yZero: number,
  lo: number,
  hi: number,
): number {
  const f32 = Math.fround;
  const v = f32(f32(acc) * scale);
  return roundHalfEven(Math.min(Math.max(v, lo - yZero), hi - yZero)) + yZero;
}

/** TFLite's reference requantization: fixed-point multiply, + zero point, clamp. */
export function fixedRequant(
  acc: number,
  q: QuantizedMultiplier,
  yZero: number,
  lo: number,
  hi: number,
): number {
  return Math.min(
    hi,
    Math.max(lo, multiplyByQuantizedMultiplier(acc, q.multiplier, q.shift) + yZero),
  );
}

/**
 * Runs `fn f(i: u32) -> i32` of `wgsl` on the GPU for i < `count`, with `input` bound as
 * `x: array<i32>`, and returns the results.
 */
export async function runWgsl(
  { gpu, cache }: TestGpu,
  key: string,
  wgsl: string,
  input: Int32Array,
  count: number,
): Promise<Int32Array> {
  const { device } = gpu;
  const x = uploadTensor(device, makeTensor("i32", [input.length], input), key);
  const type = { dtype: "i32" as const, shape: [count] };
  const y = createPoisonedBuffer(device, type, key);
  const uniforms = createUniformBuffer(device, new Uint32Array([count]), key);
  const pipeline = await cache.get({
    key,
    wgsl: () => /* wgsl */ `
@group(0) @binding(0) var<storage, read> x: array<i32>;
@group(0) @binding(1) var<storage, read_write> y: array<i32>;
struct Params { count: u32 }
@group(0) @binding(2) var<uniform> params: Params;
${wgsl}
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let i = ${FLAT_WORKGROUP_INDEX} * 64u + lid;
  if (i < params.count) { y[i] = f(i); }
}`,
    bindings: [],
    uniforms: new Uint32Array(),
    workgroups: [1, 1, 1],
  });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [x, y, uniforms].map((buffer, binding) => ({ binding, resource: { buffer } })),
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  const [gx, gy, gz] = workgroupGrid(
    Math.ceil(count / 64),
    device.limits.maxComputeWorkgroupsPerDimension,
  );
  pass.dispatchWorkgroups(gx, gy, gz);
  pass.end();
  device.queue.submit([encoder.finish()]);
  const out = await readTensor(device, y, type);
  for (const b of [x, y, uniforms]) b.destroy();
  return out.data as Int32Array;
}
