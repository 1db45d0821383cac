/**
 * The shared skeleton of "one invocation per output element" kernels. An op supplies its
 * bindings, a `Params` uniform struct whose first field is `length` (output elements), and
 * `fn value_at(i: u32) -> T` computing output element `i`; this module supplies the output
 * binding `y` and `main`, which writes `y[i] = value_at(i)`.
 *
 * 8-bit outputs are packed four per u32 word: one invocation computes the four elements of
 * one word (`value_at` returns i32 and its low byte is stored), so no two invocations write
 * the same word. Bytes past `length` in the last word are written as 0.
 *
 * @module
 */

import type { DType } from "../graph/types.ts";
import { FLAT_WORKGROUP_INDEX, workgroupGrid } from "./grid.ts";

/** Invocations per workgroup of every elementwise kernel (part of their pipeline keys). */
export const ELEMENTWISE_WORKGROUP_SIZE = 256;

/** How a kernel stores its output: a 32-bit WGSL type, or 8-bit values packed in u32. */
export type OutputStore = "f32" | "i32" | "u32" | "packed8";

/** The output store for a tensor of `dtype` (f32, i32, u8, i8). */
export function storeFor(dtype: DType): OutputStore {
  switch (dtype) {
    case "f32":
    case "i32":
      return dtype;
    case "u8":
    case "i8":
      return "packed8";
    case "f16":
      throw new Error("f16 outputs have no elementwise store");
  }
}

/** The WGSL type `value_at` returns for `store`. */
export function valueType(store: OutputStore): "f32" | "i32" | "u32" {
  return store === "packed8" ? "i32" : store;
}

/** Elements one invocation writes. */
function elementsPerInvocation(store: OutputStore): number {
  return store === "packed8" ? 4 : 1;
}

/**
 * WGSL declaring the output binding `y` at `binding` and the entry point `main` with
 * `ELEMENTWISE_WORKGROUP_SIZE` invocations per workgroup.
 */
export function elementwiseMain(store: OutputStore, binding: number): string {
  const array = store === "packed8" ? "u32" : store;
  const body = store === "packed8"
    ? `let first = w * 4u;
  if (first >= params.length) { return; }
  var word = 0u;
  for (var k = 0u; k < 4u && first + k < params.length; k++) {
    word |= (bitcast<u32>(value_at(first + k)) & 0xffu) << (8u * k);
  }
  y[w] = word;`
    : `if (w >= params.length) { return; }
  y[w] = value_at(w);`;
  return /* wgsl */ `
@group(0) @binding(${binding}) var<storage, read_write> y: array<${array}>;

@compute @workgroup_size(${ELEMENTWISE_WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) lid: u32) {
  let w = ${FLAT_WORKGROUP_INDEX} * ${ELEMENTWISE_WORKGROUP_SIZE}u + lid;
  ${body}
}`;
}

/** The dispatch grid for an elementwise kernel writing `length` elements. */
export function elementwiseWorkgroups(
  store: OutputStore,
  length: number,
  limits: GPUSupportedLimits,
): [number, number, number] {
  const invocations = Math.ceil(length / elementsPerInvocation(store));
  return workgroupGrid(
    Math.ceil(invocations / ELEMENTWISE_WORKGROUP_SIZE),
    limits.maxComputeWorkgroupsPerDimension,
  );
}
